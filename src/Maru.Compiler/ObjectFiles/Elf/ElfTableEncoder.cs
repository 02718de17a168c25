namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>Encodes the fixed-size record tables of a shared object: .dynsym, .rela.dyn, .dynamic.</summary>
internal static class ElfTableEncoder
{
    /// <summary>
    /// .dynsym: the null entry, then each import as an undefined (SHN_UNDEF) STB_GLOBAL function
    /// with value and size 0 and no version, so it binds to the oldest version the C library
    /// offers; then each export as STB_GLOBAL / STV_DEFAULT in the section that holds it. A real
    /// section index (never SHN_ABS) makes the loader add the load base to st_value. Undefined
    /// before defined is the order GNU tools produce.
    /// </summary>
    public static byte[] DynamicSymbols(IReadOnlyList<string> imports, IReadOnlyList<ObjectSymbol> exports, ElfStringTable dynamicStrings, Func<SectionKind, ElfSection> sectionFor)
    {
        var bytes = new byte[(imports.Count + exports.Count + 1) * ElfConstants.SymbolSize];
        var writer = new ElfBufferWriter(bytes) { Position = ElfConstants.SymbolSize };
        foreach (var name in imports)
        {
            writer.U32(dynamicStrings.OffsetOf(name));
            writer.U8((ElfConstants.StbGlobal << 4) | ElfConstants.SttFunc);
            writer.U8(ElfConstants.StvDefault);
            writer.U16(ElfConstants.ShnUndef);
            writer.U64(0);
            writer.U64(0);
        }
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
