using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Writes an <see cref="ObjectModule"/> as an ELF64 shared object (ET_DYN) that glibc's dlopen
/// loads directly: no assembler, no linker. The steps are model -> layout -> bytes:
/// validate the module, plan the sections (sizes only), lay them out (<see cref="ElfLayout"/>),
/// then fill every section from the final addresses and serialise (<see cref="ElfFileWriter"/>).
/// The output depends only on the module, the target and the soname: no clock, no randomness.
/// </summary>
public static class ElfSharedLibraryWriter
{
    /// <param name="module">Code, data, symbols and relocations from a backend.</param>
    /// <param name="target">An ELF target; its architecture picks machine number, page size and relocation types.</param>
    /// <param name="soname">DT_SONAME, the name the library is known by (for example "libfoo.so").</param>
    /// <exception cref="InvalidOperationException">The module is malformed: a compiler bug.</exception>
    public static byte[] Write(ObjectModule module, TargetPlatform target, string soname)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(soname);
        if (target.ObjectFormat != ObjectFormat.Elf)
            throw new ArgumentException($"target '{target}' does not use ELF", nameof(target));

        var machine = ElfMachine.For(target.Architecture);
        ObjectModuleValidator.Validate(module);

        // Libraries this one depends on (DT_NEEDED): the C library, and only when something is
        // imported from it, so a self-contained library loads without touching anything else.
        var imports = module.Imports;
        IReadOnlyList<string> neededLibraries = imports.Count == 0 ? [] : [PlatformLibraries.CLibrary(target)];
        // Plain loops, not LINQ, in this writer: a run-time compilation writes a library per call
        // (Maru.Runtime), where its fixed cost is part of source-to-call latency.
        var exports = new List<ObjectSymbol>();
        foreach (var symbol in module.Symbols)
            if (symbol.IsExported) exports.Add(symbol);

        var dynamicStrings = new ElfStringTable();
        foreach (var library in neededLibraries)
            dynamicStrings.Add(library);
        dynamicStrings.Add(soname);
        foreach (var name in imports)
            dynamicStrings.Add(name);
        foreach (var symbol in exports)
            dynamicStrings.Add(symbol.Name);

        // .dynsym: null, imports (indices 1..imports.Count), exports.
        const uint firstImportSymbol = 1;
        var dynamicSymbolCount = 1 + imports.Count + exports.Count;
        var relativeRelocationCount = 0;
        foreach (var relocation in module.Relocations)
            if (relocation.Kind == RelocationKind.Absolute64) relativeRelocationCount++;
        var dynamicRelocationCount = relativeRelocationCount + imports.Count;

        // Plan: every section with its final size. Empty optional sections are left out.
        var hash = new ElfSection(".hash", ElfConstants.ShtHash, ElfConstants.ShfAlloc, 8, ElfConstants.HashWordSize, ElfSysVHash.Size(dynamicSymbolCount));
        var dynsym = new ElfSection(".dynsym", ElfConstants.ShtDynsym, ElfConstants.ShfAlloc, 8, ElfConstants.SymbolSize, dynamicSymbolCount * ElfConstants.SymbolSize)
        {
            Info = 1, // index of the first non-local symbol: all exports are global
        };
        var dynstr = new ElfSection(".dynstr", ElfConstants.ShtStrtab, ElfConstants.ShfAlloc, 1, 0, dynamicStrings.Size);
        var rela = dynamicRelocationCount == 0
            ? null
            : new ElfSection(".rela.dyn", ElfConstants.ShtRela, ElfConstants.ShfAlloc, 8, ElfConstants.RelaSize, dynamicRelocationCount * ElfConstants.RelaSize);
        var rodata = ModuleSection(module, SectionKind.ReadOnlyData, ".rodata", ElfConstants.ShfAlloc);
        var text = ModuleSection(module, SectionKind.Text, ".text", ElfConstants.ShfAlloc | ElfConstants.ShfExecInstr);
        var data = ModuleSection(module, SectionKind.Data, ".data", ElfConstants.ShfAlloc | ElfConstants.ShfWrite);
        // The GOT: one slot per import, zero in the file; the loader's GLOB_DAT fills each slot.
        var got = imports.Count == 0
            ? null
            : new ElfSection(".got", ElfConstants.ShtProgbits, ElfConstants.ShfAlloc | ElfConstants.ShfWrite, ObjectModule.GotSlotSize, ObjectModule.GotSlotSize, imports.Count * ObjectModule.GotSlotSize)
            {
                Contents = new byte[imports.Count * ObjectModule.GotSlotSize],
            };

        var dynamicEntries = DynamicEntries(neededLibraries, soname, dynamicStrings, hash, dynstr, dynsym, rela, relativeRelocationCount);
        var dynamic = new ElfSection(".dynamic", ElfConstants.ShtDynamic, ElfConstants.ShfAlloc | ElfConstants.ShfWrite, 8, ElfConstants.DynamicEntrySize, dynamicEntries.Count * ElfConstants.DynamicEntrySize);

        hash.Link = dynsym;
        dynsym.Link = dynstr;
        dynamic.Link = dynstr;
        if (rela is not null)
            rela.Link = dynsym;

        var sectionNames = new ElfStringTable();
        ElfSection[] allocated = [hash, dynsym, dynstr, .. Present(rela, rodata), dynamic, .. Present(got, text, data)];
        foreach (var section in allocated)
            section.NameOffset = sectionNames.Add(section.Name);
        var shstrtabNameOffset = sectionNames.Add(".shstrtab");
        var shstrtab = new ElfSection(".shstrtab", ElfConstants.ShtStrtab, 0, 1, 0, sectionNames.Size) { NameOffset = shstrtabNameOffset };

        var layout = ElfLayout.Compute(
            machine,
            [
                // Headers, the loader's tables, constants, .dynamic and the GOT: read-only once relocated (PT_GNU_RELRO).
                new ElfSegmentPlan(ElfConstants.PfR | ElfConstants.PfW, [hash, dynsym, dynstr, .. Present(rela, rodata), dynamic, .. Present(got)]),
                new ElfSegmentPlan(ElfConstants.PfR | ElfConstants.PfX, Present(text)),
                // The writable data, on pages of its own.
                new ElfSegmentPlan(ElfConstants.PfR | ElfConstants.PfW, Present(data)),
            ],
            dynamic,
            [shstrtab]);

        // Fill: every address is final now.
        ElfSection SectionFor(SectionKind kind) => kind switch
        {
            SectionKind.Text => text,
            SectionKind.ReadOnlyData => rodata,
            SectionKind.Got => got,
            _ => data,
        } ?? throw new InvalidOperationException($"the {kind} section is empty but referenced");

        // RELATIVE first, then GLOB_DAT: DT_RELACOUNT tells the loader how many lead the table.
        var fixups = RelocationPatcher.Apply(module, kind => SectionFor(kind).Address, kind => SectionFor(kind).Contents);
        if (rela is not null)
        {
            var dynamicRelocations = ElfRelocator.Relative(fixups, machine);
            if (got is not null) ElfRelocator.BindGot(dynamicRelocations, got, imports.Count, firstImportSymbol, machine);
            rela.Contents = ElfTableEncoder.Relocations(dynamicRelocations);
        }
        var symbolNames = new string[dynamicSymbolCount];
        symbolNames[0] = "";
        for (var i = 0; i < imports.Count; i++) symbolNames[1 + i] = imports[i];
        for (var i = 0; i < exports.Count; i++) symbolNames[1 + imports.Count + i] = exports[i].Name;
        hash.Contents = ElfSysVHash.Build(symbolNames);
        dynsym.Contents = ElfTableEncoder.DynamicSymbols(imports, exports, dynamicStrings, SectionFor);
        dynstr.Contents = dynamicStrings.ToArray();
        dynamic.Contents = ElfTableEncoder.Dynamic(dynamicEntries);
        shstrtab.Contents = sectionNames.ToArray();

        return ElfFileWriter.Write(layout, machine, shstrtab);
    }

    /// <summary>A section holding a copy of the module's bytes (relocations patch the copy), or null when empty.</summary>
    private static ElfSection? ModuleSection(ObjectModule module, SectionKind kind, string name, ulong flags)
    {
        var bytes = module.SectionBytes(kind);
        if (bytes.Count == 0)
            return null;
        return new ElfSection(name, ElfConstants.ShtProgbits, flags, (ulong)module.AlignmentOf(kind), 0, bytes.Count) { Contents = bytes.ToArray() };
    }

    private static ElfSection[] Present(ElfSection? first, ElfSection? second = null, ElfSection? third = null)
    {
        var count = (first is null ? 0 : 1) + (second is null ? 0 : 1) + (third is null ? 0 : 1);
        if (count == 0) return [];
        var present = new ElfSection[count];
        var i = 0;
        if (first is not null) present[i++] = first;
        if (second is not null) present[i++] = second;
        if (third is not null) present[i] = third;
        return present;
    }

    private static List<ElfDynamicEntry> DynamicEntries(
        IReadOnlyList<string> neededLibraries, string soname, ElfStringTable dynamicStrings,
        ElfSection hash, ElfSection dynstr, ElfSection dynsym, ElfSection? rela, int relativeRelocationCount)
    {
        var entries = new List<ElfDynamicEntry>();
        foreach (var library in neededLibraries)
            entries.Add(new ElfDynamicEntry(ElfConstants.DtNeeded, dynamicStrings.OffsetOf(library)));
        entries.Add(new ElfDynamicEntry(ElfConstants.DtSoname, dynamicStrings.OffsetOf(soname)));
        entries.Add(ElfDynamicEntry.Address(ElfConstants.DtHash, hash));
        entries.Add(ElfDynamicEntry.Address(ElfConstants.DtStrtab, dynstr));
        entries.Add(ElfDynamicEntry.Address(ElfConstants.DtSymtab, dynsym));
        entries.Add(new ElfDynamicEntry(ElfConstants.DtStrsz, (ulong)dynamicStrings.Size));
        entries.Add(new ElfDynamicEntry(ElfConstants.DtSyment, ElfConstants.SymbolSize));
        if (rela is not null)
        {
            entries.Add(ElfDynamicEntry.Address(ElfConstants.DtRela, rela));
            entries.Add(new ElfDynamicEntry(ElfConstants.DtRelasz, (ulong)rela.Size));
            entries.Add(new ElfDynamicEntry(ElfConstants.DtRelaent, ElfConstants.RelaSize));
            // Lets the loader apply the leading RELATIVE entries without symbol lookups.
            if (relativeRelocationCount > 0)
                entries.Add(new ElfDynamicEntry(ElfConstants.DtRelacount, (ulong)relativeRelocationCount));
        }
        // Bind everything at load time: no lazy binding, so no PLT machinery is needed.
        entries.Add(new ElfDynamicEntry(ElfConstants.DtFlags, ElfConstants.DfBindNow));
        entries.Add(new ElfDynamicEntry(ElfConstants.DtFlags1, ElfConstants.Df1Now));
        entries.Add(new ElfDynamicEntry(ElfConstants.DtNull, 0));
        return entries;
    }
}
