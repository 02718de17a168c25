namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// The last step: serialises a finished <see cref="ElfLayout"/> (every section filled) into the
/// file's bytes: ELF header, program headers, section contents, section headers. Gaps between
/// sections stay zero, so the output depends only on the layout.
/// </summary>
internal static class ElfFileWriter
{
    public static byte[] Write(ElfLayout layout, ElfMachine machine, ElfSection sectionNames)
    {
        var file = new byte[checked((int)layout.FileSize)];
        WriteFileHeader(file, layout, machine, sectionNames);

        var writer = new ElfBufferWriter(file) { Position = (int)ElfLayout.ProgramHeaderOffset };
        foreach (var header in layout.ProgramHeaders)
        {
            writer.U32(header.Type);
            writer.U32(header.Flags);
            writer.U64(header.Offset);
            writer.U64(header.VirtualAddress);
            writer.U64(header.VirtualAddress); // p_paddr: unused, conventionally = p_vaddr
            writer.U64(header.FileSize);
            writer.U64(header.MemorySize);
            writer.U64(header.Alignment);
        }

        foreach (var section in layout.Sections)
            section.Contents.CopyTo(file.AsSpan((int)section.Offset));

        // Section header 0 is the all-zero null section.
        writer.Position = (int)layout.SectionHeaderOffset + ElfConstants.SectionHeaderSize;
        foreach (var section in layout.Sections)
        {
            writer.U32(section.NameOffset);
            writer.U32(section.Type);
            writer.U64(section.Flags);
            writer.U64(section.Address);
            writer.U64(section.Offset);
            writer.U64((ulong)section.Size);
            writer.U32((uint)(section.Link?.Index ?? 0));
            writer.U32(section.Info);
            writer.U64(section.Alignment);
            writer.U64(section.EntrySize);
        }
        return file;
    }

    private static void WriteFileHeader(byte[] file, ElfLayout layout, ElfMachine machine, ElfSection sectionNames)
    {
        var writer = new ElfBufferWriter(file);
        writer.Bytes([0x7f, (byte)'E', (byte)'L', (byte)'F', ElfConstants.ElfClass64, ElfConstants.ElfData2Lsb, ElfConstants.EvCurrent, ElfConstants.ElfOsAbiNone]);
        writer.Position = ElfConstants.IdentSize; // ABI version and padding stay zero
        writer.U16(ElfConstants.EtDyn);
        writer.U16(machine.Machine);
        writer.U32(ElfConstants.EvCurrent);
        writer.U64(0); // e_entry: a library has none
        writer.U64(ElfLayout.ProgramHeaderOffset);
        writer.U64(layout.SectionHeaderOffset);
        writer.U32(0); // e_flags
        writer.U16(ElfConstants.FileHeaderSize);
        writer.U16(ElfConstants.ProgramHeaderSize);
        writer.U16(checked((ushort)layout.ProgramHeaders.Count));
        writer.U16(ElfConstants.SectionHeaderSize);
        writer.U16(checked((ushort)layout.SectionHeaderCount));
        writer.U16(checked((ushort)sectionNames.Index));
    }
}
