namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// The ELF side of relocation: the loader's records. The place-relative fields are patched by the
/// shared <see cref="RelocationPatcher"/>; here the absolute pointers it reports become RELATIVE
/// dynamic relocations (the load base is not known until dlopen), and each GOT slot gets one
/// GLOB_DAT.
/// </summary>
internal static class ElfRelocator
{
    /// <returns>One RELATIVE relocation per fixup, ordered by the address it patches.</returns>
    public static List<ElfDynamicRelocation> Relative(IReadOnlyList<LoadTimeFixup> fixups, ElfMachine machine)
    {
        var relocations = new List<ElfDynamicRelocation>(fixups.Count);
        foreach (var fixup in fixups)
            relocations.Add(new ElfDynamicRelocation(fixup.Address, machine.RelativeRelocation, 0, fixup.Value));
        // A stable sort: the output must not depend on the sort's algorithm.
        return relocations.Count > 1 ? [.. relocations.OrderBy(r => r.Offset)] : relocations;
    }

    /// <summary>
    /// The loader's instructions for the GOT, appended to <paramref name="relocations"/>: slot i
    /// receives the address of the symbol at .dynsym index <paramref name="firstImportSymbol"/> + i
    /// (RELA: addend 0, the slot's bytes are ignored). In slot order, so the output depends only on
    /// the order of the imports.
    /// </summary>
    public static void BindGot(List<ElfDynamicRelocation> relocations, ElfSection got, int importCount, uint firstImportSymbol, ElfMachine machine)
    {
        for (var i = 0; i < importCount; i++)
            relocations.Add(new ElfDynamicRelocation(got.Address + (ulong)(i * ObjectModule.GotSlotSize), machine.GlobDatRelocation, firstImportSymbol + (uint)i, 0));
    }
}
