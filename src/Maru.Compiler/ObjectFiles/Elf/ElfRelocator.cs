using System.Buffers.Binary;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Resolves the module's relocations once every section has its address: PC-relative ones are
/// final at link time and are patched into the bytes (so .text never needs the loader's help),
/// references to an import's GOT slot included, since the slot's place is known even though its
/// contents are not; absolute pointers become RELATIVE dynamic relocations, because the load
/// base is not known until dlopen. The GOT slots themselves get one GLOB_DAT each.
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
                case RelocationKind.Arm64Page21:
                {
                    var pages = (long)(((s + (ulong)relocation.Addend) & ~0xfffUL) - (p & ~0xfffUL)) >> 12;
                    if (pages is < -(1L << 20) or >= 1L << 20)
                        throw new InvalidOperationException($"ADRP relocation at {relocation.Section}+{relocation.Offset} is out of range ({pages} pages)");
                    var word = BinaryPrimitives.ReadUInt32LittleEndian(field);
                    word |= ((uint)pages & 3) << 29 | (((uint)pages >> 2) & 0x7ffff) << 5;
                    BinaryPrimitives.WriteUInt32LittleEndian(field, word);
                    break;
                }
                case RelocationKind.Arm64AddLo12 or RelocationKind.Arm64LoadStore64Lo12:
                {
                    var low = (uint)((s + (ulong)relocation.Addend) & 0xfff);
                    if (relocation.Kind == RelocationKind.Arm64LoadStore64Lo12)
                    {
                        if (low % 8 != 0)
                            throw new InvalidOperationException($"8-byte access relocation at {relocation.Section}+{relocation.Offset} to a misaligned address");
                        low /= 8;
                    }
                    var word = BinaryPrimitives.ReadUInt32LittleEndian(field);
                    BinaryPrimitives.WriteUInt32LittleEndian(field, word | low << 10);
                    break;
                }
                default:
                    throw new InvalidOperationException($"relocation kind {relocation.Kind} is not supported by the ELF writer");
            }
        }
        return dynamic.OrderBy(r => r.Offset).ToList();
    }

    /// <summary>
    /// The loader's instructions for the GOT: slot i receives the address of the symbol at
    /// .dynsym index <paramref name="firstImportSymbol"/> + i (RELA: addend 0, the slot's bytes
    /// are ignored). In slot order, so the output depends only on the order of the imports.
    /// </summary>
    public static IReadOnlyList<ElfDynamicRelocation> BindGot(ElfSection got, int importCount, uint firstImportSymbol, ElfMachine machine) =>
        Enumerable.Range(0, importCount)
            .Select(i => new ElfDynamicRelocation(got.Address + (ulong)(i * ElfConstants.GotEntrySize), machine.GlobDatRelocation, firstImportSymbol + (uint)i, 0))
            .ToList();
}
