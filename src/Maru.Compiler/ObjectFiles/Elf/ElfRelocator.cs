using System.Buffers.Binary;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Resolves the module's relocations once every section has its address: PC-relative ones are
/// final at link time and are patched into the bytes (so .text never needs the loader's help);
/// absolute pointers become RELATIVE dynamic relocations, because the load base is not known
/// until dlopen.
/// </summary>
internal static class ElfRelocator
{
    /// <param name="sectionFor">The output section (with contents already copied) of a module section.</param>
    /// <returns>The dynamic relocations, ordered by the address they patch.</returns>
    public static IReadOnlyList<ElfDynamicRelocation> Apply(ObjectModule module, ElfMachine machine, Func<SectionKind, ElfSection> sectionFor)
    {
        var dynamic = new List<ElfDynamicRelocation>();
        foreach (var relocation in module.Relocations)
        {
            var place = sectionFor(relocation.Section);
            var target = sectionFor(relocation.TargetSection);
            var p = place.Address + (ulong)relocation.Offset;
            var s = target.Address + (ulong)relocation.TargetOffset;
            var field = place.Contents.AsSpan(relocation.Offset);
            switch (relocation.Kind)
            {
                case RelocationKind.PcRelative32:
                {
                    var value = (long)s + relocation.Addend - (long)p;
                    if (value is < int.MinValue or > int.MaxValue)
                        throw new InvalidOperationException($"PC-relative relocation at {relocation.Section}+{relocation.Offset} is out of 32-bit range ({value})");
                    BinaryPrimitives.WriteInt32LittleEndian(field, (int)value);
                    break;
                }
                case RelocationKind.Absolute64:
                {
                    // RELA: the loader ignores the bytes and stores base + addend. The bytes get
                    // the unrelocated value too, so tools reading the file see the right target.
                    var value = (long)s + relocation.Addend;
                    BinaryPrimitives.WriteInt64LittleEndian(field, value);
                    dynamic.Add(new ElfDynamicRelocation(p, machine.RelativeRelocation, 0, value));
                    break;
                }
                default:
                    throw new InvalidOperationException($"relocation kind {relocation.Kind} is not supported by the ELF writer");
            }
        }
        return dynamic.OrderBy(r => r.Offset).ToList();
    }
}
