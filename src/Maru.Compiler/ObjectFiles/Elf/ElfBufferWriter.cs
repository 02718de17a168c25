using System.Buffers.Binary;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>A little-endian cursor over a span: writes ELF records field by field.</summary>
internal ref struct ElfBufferWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;

    public int Position { get; set; }

    public void U8(byte value) => _buffer[Position++] = value;

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[Position..], value);
        Position += 2;
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[Position..], value);
        Position += 4;
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[Position..], value);
        Position += 8;
    }

    public void I64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer[Position..], value);
        Position += 8;
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer[Position..]);
        Position += value.Length;
    }
}
