using Maru.Compiler.ObjectFiles.Elf;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// LC_SYMTAB's nlist_64 entries and strings, and LC_DYSYMTAB's partition of them and indirect
/// symbol table. Order, as LC_DYSYMTAB requires: locals (the module's unexported symbols, in
/// emission order), defined externals (exports, sorted by name), undefined externals (imports,
/// sorted by name, bound two-level to libSystem: library ordinal 1 in n_desc's high byte). Every
/// name gets the C leading underscore. The indirect table has one entry per GOT slot, in slot
/// order: the symbol index of the import the slot holds.
/// </summary>
internal sealed class MachOSymbolTable
{
    public required byte[] Entries { get; init; }
    public required byte[] Strings { get; init; }
    public required byte[] IndirectSymbols { get; init; }
    public required int LocalCount { get; init; }
    public required int ExternalCount { get; init; }
    public required int UndefinedCount { get; init; }
    public int Count => LocalCount + ExternalCount + UndefinedCount;

    public static MachOSymbolTable Build(ObjectModule module, Func<SectionKind, MachOSection> sectionFor)
    {
        var locals = module.Symbols.Where(s => !s.IsExported).ToList();
        var externals = module.Symbols.Where(s => s.IsExported).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        var undefined = module.Imports.Order(StringComparer.Ordinal).ToList();

        var strings = new ElfStringTable(); // the same format: offset 0 is the empty string, NUL-terminated UTF-8
        var entries = new MachOByteWriter();
        void Defined(ObjectSymbol symbol, byte type)
        {
            var section = sectionFor(symbol.Section);
            entries.U32(strings.Add("_" + symbol.Name));
            entries.U8(type);
            entries.U8(checked((byte)section.Ordinal));
            entries.U16(0);
            entries.U64(section.Address + (ulong)symbol.Offset);
        }
        foreach (var symbol in locals)
            Defined(symbol, MachOConstants.NTypeSection);
        foreach (var symbol in externals)
            Defined(symbol, MachOConstants.NTypeSection | MachOConstants.NExternal);
        foreach (var name in undefined)
        {
            entries.U32(strings.Add("_" + name));
            entries.U8(MachOConstants.NTypeUndefined | MachOConstants.NExternal);
            entries.U8(0);
            entries.U16(1 << 8); // library ordinal 1: libSystem
            entries.U64(0);
        }

        var firstUndefined = locals.Count + externals.Count;
        var indirect = new MachOByteWriter();
        foreach (var name in module.Imports)
            indirect.U32((uint)(firstUndefined + undefined.BinarySearch(name, StringComparer.Ordinal)));

        var stringBytes = new MachOByteWriter();
        stringBytes.Bytes(strings.ToArray());
        stringBytes.PadTo(8);
        return new MachOSymbolTable
        {
            Entries = entries.ToArray(),
            Strings = stringBytes.ToArray(),
            IndirectSymbols = indirect.ToArray(),
            LocalCount = locals.Count,
            ExternalCount = externals.Count,
            UndefinedCount = undefined.Count,
        };
    }
}
