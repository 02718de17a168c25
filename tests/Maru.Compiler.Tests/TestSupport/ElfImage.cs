using System.Buffers.Binary;
using System.Text;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// A minimal, independent ELF64 reader for tests: section headers by name and dynamic symbols,
/// enough to find the bytes of .text and of one exported function in a library we wrote.
/// </summary>
internal sealed class ElfImage(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;

    public readonly record struct Section(string Name, ulong Address, int Offset, int Size);

    public IReadOnlyList<Section> Sections()
    {
        var headerOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(0x28));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(0x3A));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(0x3C));
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(0x3E));
        var namesOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(headerOffset + namesIndex * entrySize + 0x18));
        var sections = new List<Section>();
        for (var i = 0; i < count; i++)
        {
            var header = Bytes.AsSpan(headerOffset + i * entrySize);
            var name = CString(namesOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(header));
            sections.Add(new Section(name,
                BinaryPrimitives.ReadUInt64LittleEndian(header[0x10..]),
                (int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]),
                (int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..])));
        }
        return sections;
    }

    public Section SectionNamed(string name) => Sections().Single(s => s.Name == name);

    public byte[] SectionBytes(string name)
    {
        var section = SectionNamed(name);
        return Bytes.AsSpan(section.Offset, section.Size).ToArray();
    }

    /// <summary>The address and size of a symbol of .dynsym.</summary>
    public (ulong Address, int Size) Symbol(string name)
    {
        var symbols = SectionNamed(".dynsym");
        var strings = SectionNamed(".dynstr");
        for (var at = symbols.Offset; at < symbols.Offset + symbols.Size; at += 24)
        {
            var entry = Bytes.AsSpan(at, 24);
            if (CString(strings.Offset + (int)BinaryPrimitives.ReadUInt32LittleEndian(entry)) == name)
                return (BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]), (int)BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]));
        }
        throw new KeyNotFoundException(name);
    }

    /// <summary>The machine code of an exported function, and the address it is loaded at (relative to the library).</summary>
    public (byte[] Code, ulong Address) FunctionBytes(string symbol)
    {
        var (address, size) = Symbol(symbol);
        var text = SectionNamed(".text");
        var offset = text.Offset + (int)(address - text.Address);
        return (Bytes.AsSpan(offset, size).ToArray(), address);
    }

    private string CString(int offset)
    {
        var end = Array.IndexOf(Bytes, (byte)0, offset);
        return Encoding.UTF8.GetString(Bytes, offset, end - offset);
    }
}
