using System.Runtime.InteropServices;
using System.Text;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Builds an ELF string table (.dynstr, .shstrtab): offset 0 is the empty string, every other
/// string is UTF-8 followed by NUL. Equal strings share one copy; offsets follow insertion order,
/// so the same sequence of <see cref="Add"/> calls always gives the same bytes.
/// </summary>
internal sealed class ElfStringTable
{
    private readonly List<byte> _bytes = [0];
    private readonly Dictionary<string, uint> _offsets = new(StringComparer.Ordinal) { [""] = 0 };

    public int Size => _bytes.Count;

    /// <summary>Adds <paramref name="value"/> (once) and returns its offset in the table.</summary>
    public uint Add(string value)
    {
        if (_offsets.TryGetValue(value, out var existing))
            return existing;
        if (value.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"ELF strings cannot contain NUL: '{value}'", nameof(value));
        var offset = (uint)_bytes.Count;
        // Encoded straight into the table (no array per string) with its NUL after it.
        var length = Encoding.UTF8.GetByteCount(value);
        CollectionsMarshal.SetCount(_bytes, (int)offset + length + 1);
        var room = CollectionsMarshal.AsSpan(_bytes)[(int)offset..];
        Encoding.UTF8.GetBytes(value, room);
        room[length] = 0;
        _offsets.Add(value, offset);
        return offset;
    }

    /// <summary>The offset of a string added earlier.</summary>
    public uint OffsetOf(string value) => _offsets[value];

    public byte[] ToArray() => _bytes.ToArray();
}
