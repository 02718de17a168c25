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
    public static IReadOnlyList<ElfDynamicRelocation> Relative(IReadOnlyList<LoadTimeFixup> fixups, ElfMachine machine) =>
        fixups.Select(f => new ElfDynamicRelocation(f.Address, machine.RelativeRelocation, 0, f.Value)).OrderBy(r => r.Offset).ToList();

    /// <summary>
    /// The loader's instructions for the GOT: slot i receives the address of the symbol at
    /// .dynsym index <paramref name="firstImportSymbol"/> + i (RELA: addend 0, the slot's bytes
    /// are ignored). In slot order, so the output depends only on the order of the imports.
    /// </summary>
    public static IReadOnlyList<ElfDynamicRelocation> BindGot(ElfSection got, int importCount, uint firstImportSymbol, ElfMachine machine) =>
        Enumerable.Range(0, importCount)
            .Select(i => new ElfDynamicRelocation(got.Address + (ulong)(i * ObjectModule.GotSlotSize), machine.GlobDatRelocation, firstImportSymbol + (uint)i, 0))
            .ToList();
}
