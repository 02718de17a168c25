using System.Buffers.Binary;
using System.Text;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>A growable little-endian byte sink for Mach-O records, with the ULEB128 and C-string encodings the linkedit tables use.</summary>
internal sealed class MachOByteWriter
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public void U8(byte value) => _bytes.Add(value);

    public void U16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        _bytes.AddRange(b);
    }

    public void U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _bytes.AddRange(b);
    }

    public void U64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _bytes.AddRange(b);
    }

    public void Uleb(ulong value)
    {
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            _bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
    }

    public static int UlebSize(ulong value)
    {
        var size = 1;
        while ((value >>= 7) != 0) size++;
        return size;
    }

    /// <summary>UTF-8 bytes and a terminating NUL.</summary>
    public void CString(string value)
    {
        _bytes.AddRange(Encoding.UTF8.GetBytes(value));
        _bytes.Add(0);
    }

    /// <summary>A fixed 16-byte name field (segment and section names), NUL-padded.</summary>
    public void Name16(string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        if (bytes.Length > 16)
            throw new InvalidOperationException($"Mach-O name '{value}' is longer than 16 bytes");
        _bytes.AddRange(bytes);
        for (var i = bytes.Length; i < 16; i++) _bytes.Add(0);
    }

    public void Bytes(ReadOnlySpan<byte> value) => _bytes.AddRange(value);

    public void PadTo(int alignment)
    {
        while (_bytes.Count % alignment != 0) _bytes.Add(0);
    }

    public byte[] ToArray() => _bytes.ToArray();
}
