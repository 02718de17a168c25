namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>Encodes the fixed-size record tables of a shared object: .dynsym, .rela.dyn, .dynamic.</summary>
internal static class ElfTableEncoder
{
    /// <summary>
    /// .dynsym: the null entry, then each export as STB_GLOBAL / STV_DEFAULT in the section that
    /// holds it. A real section index (never SHN_ABS) makes the loader add the load base to st_value.
    /// </summary>
    public static byte[] DynamicSymbols(IReadOnlyList<ObjectSymbol> exports, ElfStringTable dynamicStrings, Func<SectionKind, ElfSection> sectionFor)
    {
        var bytes = new byte[(exports.Count + 1) * ElfConstants.SymbolSize];
        var writer = new ElfBufferWriter(bytes) { Position = ElfConstants.SymbolSize };
        foreach (var symbol in exports)
        {
            var section = sectionFor(symbol.Section);
            var type = symbol.Kind == SymbolKind.Function ? ElfConstants.SttFunc : ElfConstants.SttObject;
            writer.U32(dynamicStrings.OffsetOf(symbol.Name));
            writer.U8((byte)((ElfConstants.StbGlobal << 4) | type));
            writer.U8(ElfConstants.StvDefault);
            writer.U16(checked((ushort)section.Index));
            writer.U64(section.Address + (ulong)symbol.Offset);
            writer.U64((ulong)symbol.Size);
        }
        return bytes;
    }

    public static byte[] Relocations(IReadOnlyList<ElfDynamicRelocation> relocations)
    {
        var bytes = new byte[relocations.Count * ElfConstants.RelaSize];
        var writer = new ElfBufferWriter(bytes);
        foreach (var relocation in relocations)
        {
            writer.U64(relocation.Offset);
            writer.U64(relocation.Info);
            writer.I64(relocation.Addend);
        }
        return bytes;
    }

    public static byte[] Dynamic(IReadOnlyList<ElfDynamicEntry> entries)
    {
        var bytes = new byte[entries.Count * ElfConstants.DynamicEntrySize];
        var writer = new ElfBufferWriter(bytes);
        foreach (var entry in entries)
        {
            writer.I64(entry.Tag);
            writer.U64(entry.Value);
        }
        return bytes;
    }
}
