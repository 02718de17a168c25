namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>One output section: a module section (or the GOT) placed in a segment.</summary>
internal sealed class MachOSection(string segmentName, string name, uint flags, int alignmentLog2, byte[] contents)
{
    public string SegmentName { get; } = segmentName;
    public string Name { get; } = name;
    public uint Flags { get; } = flags;
    public int AlignmentLog2 { get; } = alignmentLog2;
    public byte[] Contents { get; } = contents;
    /// <summary>Index into the indirect symbol table of the first slot (pointer sections only).</summary>
    public uint Reserved1 { get; init; }
    public ulong Address { get; set; }
    public ulong FileOffset { get; set; }
    /// <summary>1-based over all sections in load command order: an nlist's n_sect.</summary>
    public int Ordinal { get; set; }
}

/// <summary>One LC_SEGMENT_64. A segment maps file range [FileOffset, FileOffset+FileSize) at Address.</summary>
internal sealed class MachOSegment(string name, int protection, uint flags, IReadOnlyList<MachOSection> sections)
{
    public string Name { get; } = name;
    public int Protection { get; } = protection;
    public uint Flags { get; } = flags;
    public IReadOnlyList<MachOSection> Sections { get; } = sections;
    public ulong FileOffset { get; set; }
    public ulong FileSize { get; set; }
    public ulong Address { get; set; }
    public ulong VmSize { get; set; }
    /// <summary>Position in load command order: the segment number fixup opcodes name.</summary>
    public int Index { get; set; }
}

/// <summary>
/// Places the segments, as ld64 and lld do for a dylib: the image starts at vmaddr 0 and file
/// offset 0; __TEXT holds the header and load commands and then its sections; every segment starts
/// on a page boundary in the file and in memory at the same value (vmaddr == fileoff), and all but
/// __LINKEDIT are padded to whole pages, so dyld maps each one with a single mmap of its own
/// permissions and no two permissions share a page. __LINKEDIT (placed by the caller, last) is
/// page-aligned too; its file size is exact and its VM size rounded up to a page.
/// </summary>
internal static class MachOLayout
{
    /// <summary>Lays out the segments before __LINKEDIT; returns the file offset where __LINKEDIT starts.</summary>
    public static ulong PlaceSegments(IReadOnlyList<MachOSegment> segments, ulong headerAndCommandsSize, ulong pageSize)
    {
        ulong offset = 0;
        for (var s = 0; s < segments.Count; s++)
        {
            var segment = segments[s];
            segment.Index = s;
            segment.FileOffset = offset;
            segment.Address = offset;
            var cursor = s == 0 ? headerAndCommandsSize : offset;
            foreach (var section in segment.Sections)
            {
                var alignment = 1UL << section.AlignmentLog2;
                if (alignment > pageSize)
                    throw new InvalidOperationException($"section {section.SegmentName},{section.Name} wants alignment {alignment}, above the page size");
                cursor = AlignUp(cursor, alignment);
                section.FileOffset = cursor;
                section.Address = cursor;
                cursor = checked(cursor + (ulong)section.Contents.Length);
            }
            var end = AlignUp(cursor, pageSize);
            segment.FileSize = end - offset;
            segment.VmSize = end - offset;
            offset = end;
        }
        // Every 32-bit offset field (section offsets, linkedit offsets) must be able to name the file.
        if (offset > uint.MaxValue / 2)
            throw new InvalidOperationException("the library is too large for a Mach-O file");
        return offset;
    }

    public static ulong AlignUp(ulong value, ulong alignment) =>
        alignment <= 1 ? value : checked((value + alignment - 1) / alignment * alignment);
}
