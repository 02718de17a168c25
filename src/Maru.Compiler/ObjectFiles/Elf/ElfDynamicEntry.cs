namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// One .dynamic entry. Its value is either a constant or the address of a section, read when the
/// table is written, so the table can be sized before layout and filled after it.
/// </summary>
internal sealed record ElfDynamicEntry(long Tag, ulong Constant, ElfSection? AddressOf = null)
{
    public static ElfDynamicEntry Address(long tag, ElfSection section) => new(tag, 0, section);

    public ulong Value => AddressOf?.Address ?? Constant;
}
