namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// One section of the output: its header fields, its size (known before layout), and its
/// contents (filled after layout, when addresses are known). <see cref="ElfLayout"/> assigns
/// <see cref="Index"/>, <see cref="Offset"/> and <see cref="Address"/>.
/// </summary>
internal sealed class ElfSection(string name, uint type, ulong flags, ulong alignment, ulong entrySize, int size)
{
    public string Name { get; } = name;
    public uint Type { get; } = type;
    public ulong Flags { get; } = flags;
    public ulong Alignment { get; } = alignment;
    public ulong EntrySize { get; } = entrySize;
    public int Size { get; } = size;

    /// <summary>sh_link: the section this one refers to (string table of a symbol table, ...).</summary>
    public ElfSection? Link { get; set; }
    public uint Info { get; set; }

    public int Index { get; set; }
    public ulong Offset { get; set; }
    public ulong Address { get; set; }
    public uint NameOffset { get; set; }

    private byte[]? _contents;

    public byte[] Contents
    {
        get => _contents ?? throw new InvalidOperationException($"ELF section {Name} has no contents yet");
        set
        {
            if (value.Length != Size)
                throw new InvalidOperationException($"ELF section {Name}: contents are {value.Length} bytes, layout reserved {Size}");
            _contents = value;
        }
    }

    public bool IsAllocated => (Flags & ElfConstants.ShfAlloc) != 0;

    public override string ToString() => $"{Name} @0x{Address:x} (+0x{Offset:x}, {Size} bytes)";
}
