namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Assigns every file offset, virtual address and section index of a shared object, and derives
/// the program headers from them. Nothing is written here; the writer copies bytes where the
/// layout says.
/// <para>
/// Choices, and why:
/// <list type="bullet">
/// <item>The first PT_LOAD (read-only) starts at offset 0, address 0 and holds the ELF header
/// and program headers too, as the loader expects them mapped; the other PT_LOADs follow, one
/// per permission (R, R+X, RW), so no page is both writable and executable.</item>
/// <item>File offsets are packed (each section only aligned to its own alignment); instead of
/// padding the file to page boundaries, each segment's address is moved to a fresh page plus the
/// offset's remainder modulo the page size. That keeps (p_vaddr - p_offset) % p_align == 0, which
/// glibc requires for mmap, while the file stays small: a boundary page is simply mapped twice.</item>
/// <item>.dynamic and the GOT open the RW segment and PT_GNU_RELRO covers exactly them: the
/// loader makes them read-only after relocation, which is safe because every GOT slot is bound
/// at load time (BIND_NOW). glibc rounds the end down to a page, so today's small tables only
/// gain protection once they span a page boundary, but the data after them is never affected.</item>
/// <item>Non-allocated sections (.shstrtab) and the section header table come last: the loader
/// never maps them.</item>
/// </list>
/// </para>
/// </summary>
internal sealed class ElfLayout
{
    private ElfLayout(IReadOnlyList<ElfSection> sections, IReadOnlyList<ElfProgramHeader> programHeaders, ulong sectionHeaderOffset, ulong fileSize)
    {
        Sections = sections;
        ProgramHeaders = programHeaders;
        SectionHeaderOffset = sectionHeaderOffset;
        FileSize = fileSize;
    }

    /// <summary>Sections in section-header order, without the null section (index 0).</summary>
    public IReadOnlyList<ElfSection> Sections { get; }

    public IReadOnlyList<ElfProgramHeader> ProgramHeaders { get; }

    public static ulong ProgramHeaderOffset => ElfConstants.FileHeaderSize;

    public ulong SectionHeaderOffset { get; }

    /// <summary>Section header count, the null section included.</summary>
    public int SectionHeaderCount => Sections.Count + 1;

    public ulong FileSize { get; }

    /// <param name="machine">Supplies the page size.</param>
    /// <param name="loadSegments">
    /// The PT_LOADs in address order; the first holds the headers and must be read-only. A later
    /// segment without sections is left out.
    /// </param>
    /// <param name="dynamic">The .dynamic section (one of the loaded sections).</param>
    /// <param name="relro">
    /// Loaded sections, adjacent and in address order, that become read-only once relocated:
    /// PT_GNU_RELRO spans from the first one's start to the last one's end.
    /// </param>
    /// <param name="unallocated">Sections not loaded (.shstrtab), placed after all segments.</param>
    public static ElfLayout Compute(ElfMachine machine, IReadOnlyList<ElfSegmentPlan> loadSegments, ElfSection dynamic, IReadOnlyList<ElfSection> relro, IReadOnlyList<ElfSection> unallocated)
    {
        var page = machine.PageSize;
        var segments = loadSegments.Where((segment, index) => index == 0 || segment.Sections.Count > 0).ToList();

        // Program headers: the PT_LOADs, then PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK.
        var programHeaderCount = segments.Count + 3;
        ulong offset = ElfConstants.FileHeaderSize + (ulong)(programHeaderCount * ElfConstants.ProgramHeaderSize);
        ulong address = offset;

        var sections = new List<ElfSection>();
        var programHeaders = new List<ElfProgramHeader>();
        for (var s = 0; s < segments.Count; s++)
        {
            var segment = segments[s];
            ulong segmentOffset, segmentAddress;
            if (s == 0)
            {
                segmentOffset = 0;
                segmentAddress = 0;
            }
            else
            {
                // A fresh page for new permissions, congruent to the (packed) file offset.
                offset = AlignUp(offset, segment.Sections[0].Alignment);
                segmentOffset = offset;
                segmentAddress = AlignUp(address, page) + offset % page;
            }

            foreach (var section in segment.Sections)
            {
                if (section.Alignment > page)
                    throw new InvalidOperationException($"ELF section {section.Name} wants alignment {section.Alignment}, above the page size");
                offset = AlignUp(offset, section.Alignment);
                section.Offset = offset;
                section.Address = segmentAddress + (offset - segmentOffset);
                offset += (ulong)section.Size;
                sections.Add(section);
            }

            var size = offset - segmentOffset;
            address = segmentAddress + size;
            programHeaders.Add(new ElfProgramHeader(ElfConstants.PtLoad, segment.Flags, segmentOffset, segmentAddress, size, size, page));
        }

        if (!sections.Contains(dynamic))
            throw new InvalidOperationException("the .dynamic section is not in any load segment");
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtDynamic, ElfConstants.PfR | ElfConstants.PfW,
            dynamic.Offset, dynamic.Address, (ulong)dynamic.Size, (ulong)dynamic.Size, 8));
        var relroStart = sections.IndexOf(relro[0]);
        if (relroStart < 0 || !relro.SequenceEqual(sections.Skip(relroStart).Take(relro.Count)))
            throw new InvalidOperationException("the RELRO sections are not adjacent loaded sections");
        if (relro.Any(section => section.Address - section.Offset != relro[0].Address - relro[0].Offset))
            throw new InvalidOperationException("the RELRO sections are not in one load segment");
        var relroSize = relro[^1].Address + (ulong)relro[^1].Size - relro[0].Address;
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtGnuRelro, ElfConstants.PfR,
            relro[0].Offset, relro[0].Address, relroSize, relroSize, 1));
        // Non-executable stack: glibc refuses (2.41+) or makes the stack executable for objects
        // without this header.
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtGnuStack, ElfConstants.PfR | ElfConstants.PfW, 0, 0, 0, 0, 16));

        foreach (var section in unallocated)
        {
            offset = AlignUp(offset, section.Alignment);
            section.Offset = offset;
            section.Address = 0;
            offset += (ulong)section.Size;
            sections.Add(section);
        }

        var sectionHeaderOffset = AlignUp(offset, 8);
        var fileSize = sectionHeaderOffset + (ulong)((sections.Count + 1) * ElfConstants.SectionHeaderSize);

        for (var i = 0; i < sections.Count; i++)
            sections[i].Index = i + 1;

        return new ElfLayout(sections, programHeaders, sectionHeaderOffset, fileSize);
    }

    private static ulong AlignUp(ulong value, ulong alignment) =>
        alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}
