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
/// per permission (R, R+X, RW after relocation, RW), so no page is both writable and executable.</item>
/// <item>Each segment's address starts a fresh page (of the largest page size the target's
/// kernels use: 4 KiB on x86-64, 64 KiB on AArch64) plus its file offset's remainder modulo the
/// page size, which keeps (p_vaddr - p_offset) % p_align == 0 as mmap requires. File offsets are
/// packed, so a boundary page of the file is mapped twice, into two segments; that is harmless
/// for readable or writable copies, but not for executable ones: W^X at page level. So an
/// executable segment starts at a page-aligned file offset and the segment after it too (zero
/// padding in the file): its pages hold code and zeros only, never read-only data or anything else.</item>
/// <item>The RELRO segment (.dynamic and the GOT) starts on a page and its memory is rounded up to
/// whole pages, and PT_GNU_RELRO covers all of it: glibc rounds the protected range down to the
/// page size it runs with, so only a range ending on a page boundary of every possible page size
/// is protected whole (gcc's output has the same shape). The loader makes it read-only after
/// relocation, safe because every GOT slot is bound at load time (BIND_NOW). Writable data
/// follows in a segment of its own, on the next page.</item>
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
        var relroFirst = relro.Count == 0 ? null : relro[0];

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
                // A fresh page for new permissions, congruent to the (packed) file offset; code
                // (and whatever follows it) and the RELRO tables start on a page of the file too.
                var ownFilePage = IsExecutable(segment) || IsExecutable(segments[s - 1]) || segment.Sections[0] == relroFirst;
                offset = AlignUp(offset, ownFilePage ? page : segment.Sections[0].Alignment);
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
            // The RELRO segment's memory fills its last page (zeros beyond the file's bytes), so
            // that nothing else shares a page the loader makes read-only; the executable
            // segment's last file page is padded with zeros below.
            var memorySize = segment.Sections.Count > 0 && segment.Sections[0] == relroFirst ? AlignUp(size, page) : size;
            address = segmentAddress + memorySize;
            programHeaders.Add(new ElfProgramHeader(ElfConstants.PtLoad, segment.Flags, segmentOffset, segmentAddress, size, memorySize, page));
        }

        if (IsExecutable(segments[^1])) offset = AlignUp(offset, page); // nothing after the code in its last page

        if (!sections.Contains(dynamic))
            throw new InvalidOperationException("the .dynamic section is not in any load segment");
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtDynamic, ElfConstants.PfR | ElfConstants.PfW,
            dynamic.Offset, dynamic.Address, (ulong)dynamic.Size, (ulong)dynamic.Size, 8));
        var relroStart = sections.IndexOf(relro[0]);
        if (relroStart < 0 || !relro.SequenceEqual(sections.Skip(relroStart).Take(relro.Count)))
            throw new InvalidOperationException("the RELRO sections are not adjacent loaded sections");
        if (relro.Any(section => section.Address - section.Offset != relro[0].Address - relro[0].Offset))
            throw new InvalidOperationException("the RELRO sections are not in one load segment");
        if (segments.All(segment => segment.Sections.Count == 0 || segment.Sections[0] != relro[0]))
            throw new InvalidOperationException("the RELRO sections do not open their load segment");
        var relroFileSize = relro[^1].Address + (ulong)relro[^1].Size - relro[0].Address;
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtGnuRelro, ElfConstants.PfR,
            relro[0].Offset, relro[0].Address, relroFileSize, AlignUp(relroFileSize, page), 1));
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

    private static bool IsExecutable(ElfSegmentPlan segment) => (segment.Flags & ElfConstants.PfX) != 0;

    private static ulong AlignUp(ulong value, ulong alignment) =>
        alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}
