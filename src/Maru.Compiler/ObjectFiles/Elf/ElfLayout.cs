namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Assigns every file offset, virtual address and section index of a shared object, and derives
/// the program headers from them. Nothing is written here; the writer copies bytes where the
/// layout says.
/// <para>
/// Choices, and why:
/// <list type="bullet">
/// <item>The first PT_LOAD starts at offset 0, address 0 and holds the ELF header and program
/// headers, as the loader expects them mapped, then the loader's tables, read-only data, .dynamic
/// and the GOT. It is writable while the loader relocates it and read-only after: PT_GNU_RELRO
/// covers all of it, its range rounded up to whole pages (glibc rounds the protected range down to
/// the page size it runs with, so only a range ending on a page boundary of every possible page
/// size is protected whole). Safe because every GOT slot is bound at load time (BIND_NOW). One
/// segment, not a read-only one plus a RELRO one, because a library loaded at run time pays for
/// every mapping and every page (Maru.Runtime: mmap, page faults, tmpfs pages; the two-page library
/// loaded ~13% faster than the three-page one, docs/performance.md).</item>
/// <item>The other PT_LOADs follow, one per permission (R+X code, then RW data), so no page is
/// both writable and executable. Each segment's address starts a fresh page (of the largest page
/// size the target's kernels use: 4 KiB on x86-64, 64 KiB on AArch64) plus its file offset's
/// remainder modulo the page size, which keeps (p_vaddr - p_offset) % p_align == 0 as mmap
/// requires. A boundary page of the file mapped twice, into two segments, is harmless for readable
/// or writable copies, but not for executable ones: W^X at page level. So the executable segment
/// starts at a page-aligned file offset and the segment after it too (zero padding in the file):
/// its pages hold code and zeros only (the kernel fills the last page past the end of the file
/// with zeros).</item>
/// <item>Non-allocated sections (.shstrtab) and the section header table follow the first
/// segment's bytes, in its last page, before the code: the loader never reads them, and a library
/// whose code ends the file needs no page for them.</item>
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

    /// <summary>Every section in the file, in section header order (index = position + 1).</summary>
    public IReadOnlyList<ElfSection> Sections { get; }

    /// <summary>PT_LOADs in address order, then PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK.</summary>
    public IReadOnlyList<ElfProgramHeader> ProgramHeaders { get; }

    /// <summary>The program headers follow the ELF header directly.</summary>
    public static ulong ProgramHeaderOffset => ElfConstants.FileHeaderSize;

    public ulong SectionHeaderOffset { get; }

    /// <summary>Section headers, the null one included.</summary>
    public int SectionHeaderCount => Sections.Count + 1;

    public ulong FileSize { get; }

    /// <param name="loadSegments">
    /// The PT_LOADs in order, empty ones left out. The first holds the headers and is read-only after
    /// relocation (PT_GNU_RELRO); it must hold <paramref name="dynamic"/>.
    /// </param>
    /// <param name="unallocated">Sections the loader never maps (.shstrtab).</param>
    public static ElfLayout Compute(ElfMachine machine, IReadOnlyList<ElfSegmentPlan> loadSegments, ElfSection dynamic, IReadOnlyList<ElfSection> unallocated)
    {
        var page = machine.PageSize;
        var segmentCount = 1;
        for (var s = 1; s < loadSegments.Count; s++)
            if (loadSegments[s].Sections.Count > 0) segmentCount++;

        // Program headers: the PT_LOADs, then PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK.
        var programHeaderCount = segmentCount + 3;
        ulong offset = ElfConstants.FileHeaderSize + (ulong)(programHeaderCount * ElfConstants.ProgramHeaderSize);
        ulong address = offset;

        var sections = new List<ElfSection>();
        var programHeaders = new List<ElfProgramHeader>(programHeaderCount);
        ulong relroSize = 0;
        ulong unallocatedEnd = 0;
        var previousExecutable = false;
        for (var s = 0; s < loadSegments.Count; s++)
        {
            var segment = loadSegments[s];
            if (s > 0 && segment.Sections.Count == 0) continue;
            var executable = (segment.Flags & ElfConstants.PfX) != 0;
            ulong segmentOffset, segmentAddress;
            if (s == 0)
            {
                segmentOffset = 0;
                segmentAddress = 0;
            }
            else
            {
                // A fresh page for new permissions, congruent to the (packed) file offset; code
                // (and whatever follows it) starts on a page of the file too.
                offset = AlignUp(offset, executable || previousExecutable ? page : segment.Sections[0].Alignment);
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
            // The RELRO segment's memory fills its last page (the loader zeroes what follows its
            // bytes there), so that nothing else shares a page the loader makes read-only.
            var memorySize = s == 0 ? AlignUp(size, page) : size;
            address = segmentAddress + memorySize;
            programHeaders.Add(new ElfProgramHeader(ElfConstants.PtLoad, segment.Flags, segmentOffset, segmentAddress, size, memorySize, page));
            if (s == 0)
            {
                relroSize = size;
                // The rest of the headers' last page: what the loader never maps (if it spills
                // onto further pages, the next segment starts after them).
                foreach (var section in unallocated)
                {
                    offset = AlignUp(offset, section.Alignment);
                    section.Offset = offset;
                    section.Address = 0;
                    offset += (ulong)section.Size;
                }
                unallocatedEnd = offset = AlignUp(offset, 8);
                offset += (ulong)((sections.Count + unallocated.Count + 1) * ElfConstants.SectionHeaderSize);
            }
            previousExecutable = executable;
        }

        if (!sections.Contains(dynamic) || dynamic.Address >= relroSize)
            throw new InvalidOperationException("the .dynamic section is not in the first load segment");
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtDynamic, ElfConstants.PfR | ElfConstants.PfW,
            dynamic.Offset, dynamic.Address, (ulong)dynamic.Size, (ulong)dynamic.Size, 8));
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtGnuRelro, ElfConstants.PfR, 0, 0, relroSize, AlignUp(relroSize, page), 1));
        // Non-executable stack: glibc refuses (2.41+) or makes the stack executable for objects
        // without this header.
        programHeaders.Add(new ElfProgramHeader(ElfConstants.PtGnuStack, ElfConstants.PfR | ElfConstants.PfW, 0, 0, 0, 0, 16));

        sections.AddRange(unallocated);
        for (var i = 0; i < sections.Count; i++)
            sections[i].Index = i + 1;

        return new ElfLayout(sections, programHeaders, unallocatedEnd, Math.Max(offset, unallocatedEnd + (ulong)((sections.Count + 1) * ElfConstants.SectionHeaderSize)));
    }

    private static ulong AlignUp(ulong value, ulong alignment) =>
        alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}
