using System.Numerics;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// An operand the encoder cannot represent: a register in the wrong context, an immediate or
/// offset beyond its field, a misaligned offset, a width mismatch. Never truncated: the backend
/// catches this to choose another sequence (a wider constant, a long branch) or report the error.
/// </summary>
public sealed class Arm64EncodingException(string message) : Exception(message);

/// <summary>The 12-bit unsigned immediate of add/sub, optionally shifted left by 12: 0-4095, or a multiple of 4096 up to 4095*4096.</summary>
public readonly record struct AddSubImmediate
{
    private AddSubImmediate(int imm12, bool shifted)
    {
        Imm12 = imm12;
        Shifted = shifted;
    }

    public int Imm12 { get; }

    /// <summary>True for "lsl #12".</summary>
    public bool Shifted { get; }

    public long Value => Shifted ? (long)Imm12 << 12 : Imm12;

    /// <summary>The field as given: <paramref name="imm12"/> in 0-4095, shifted by 12 when asked.</summary>
    public static AddSubImmediate Create(int imm12, bool shifted) => imm12 is >= 0 and <= 4095
        ? new AddSubImmediate(imm12, shifted)
        : throw new Arm64EncodingException($"add/sub immediate {imm12} is outside 0-4095");

    /// <summary>The unshifted form when the value fits 12 bits, else the shifted one; null when neither fits.</summary>
    public static AddSubImmediate? TryCreate(long value) =>
        value is >= 0 and <= 4095 ? new AddSubImmediate((int)value, false)
        : value > 0 && (value & 0xfff) == 0 && value >> 12 <= 4095 ? new AddSubImmediate((int)(value >> 12), true)
        : null;

    public static AddSubImmediate Create(long value) =>
        TryCreate(value) ?? throw new Arm64EncodingException($"{value} is not an add/sub immediate (0-4095, optionally shifted left by 12)");

    public override string ToString() => Shifted ? $"#{Imm12}, lsl #12" : $"#{Imm12}";
}

/// <summary>
/// A logical (bitmask) immediate of and/orr/eor/ands: a rotated run of ones, replicated across
/// the register in elements of 2, 4, 8, 16, 32 or 64 bits; held as its N:immr:imms fields.
/// 0 and all ones are not encodable (use the zero register or orn/mvn instead).
/// </summary>
public readonly record struct BitmaskImmediate
{
    private BitmaskImmediate(int n, int immr, int imms, bool is64, ulong value)
    {
        N = n;
        Immr = immr;
        Imms = imms;
        Is64 = is64;
        Value = value;
    }

    public int N { get; }
    public int Immr { get; }
    public int Imms { get; }

    /// <summary>True for the 64-bit (x) form.</summary>
    public bool Is64 { get; }

    /// <summary>The value it stands for (only the low 32 bits for the w form).</summary>
    public ulong Value { get; }

    /// <summary>The encoding of <paramref name="value"/> for a register of the given width, or null when it has none.</summary>
    public static BitmaskImmediate? TryCreate(ulong value, bool is64)
    {
        if (!is64)
        {
            if (value > uint.MaxValue) return null;
            value |= value << 32; // a w form is the 32-bit pattern replicated: test it as 64 bits
        }
        if (value == 0 || value == ulong.MaxValue) return null;

        // The smallest element that the value repeats.
        var size = 64;
        while (size > 2)
        {
            var half = size / 2;
            var mask = (1UL << half) - 1;
            if ((value & mask) != ((value >> half) & mask)) break;
            size = half;
        }
        var elementMask = size == 64 ? ulong.MaxValue : (1UL << size) - 1;
        var element = value & elementMask;

        // Rotate the element right until its run of ones starts at bit 0 and is contiguous.
        var ones = BitOperations.PopCount(element);
        var run = (1UL << ones) - 1; // ones < size, so no overflow
        for (var rotation = 0; rotation < size; rotation++)
        {
            if (RotateRight(run, rotation, size) != element) continue;
            var imms = (int)(((ulong)(-size * 2) | (ulong)(ones - 1)) & 0x3f);
            return new BitmaskImmediate(size == 64 ? 1 : 0, rotation, imms, is64, is64 ? value : value & uint.MaxValue);
        }
        return null;
    }

    public static BitmaskImmediate Create(ulong value, bool is64) =>
        TryCreate(value, is64) ?? throw new Arm64EncodingException($"0x{value:x} is not a logical immediate for a {(is64 ? 64 : 32)}-bit register");

    /// <summary>From the raw fields, when they are a valid encoding (the ARM ARM's DecodeBitMasks).</summary>
    public static BitmaskImmediate? TryFromFields(int n, int immr, int imms, bool is64)
    {
        if (n is < 0 or > 1 || immr is < 0 or > 63 || imms is < 0 or > 63 || (!is64 && n == 1)) return null;
        var combined = (n << 6) | (~imms & 0x3f);
        if (combined == 0) return null;
        var length = 31 - BitOperations.LeadingZeroCount((uint)combined);
        if (length < 1) return null;
        var size = 1 << length;
        var levels = size - 1;
        var s = imms & levels;
        var r = immr & levels;
        if (s == levels) return null; // all ones: reserved
        if (!is64 && size == 64) return null;
        if (immr >= size) return null; // a different immr spelling of the same value: not canonical
        var element = RotateRight((1UL << (s + 1)) - 1, r, size);
        var value = element;
        for (var width = size; width < 64; width *= 2) value |= value << width;
        return new BitmaskImmediate(n, immr, imms, is64, is64 ? value : value & uint.MaxValue);
    }

    private static ulong RotateRight(ulong element, int rotation, int size)
    {
        if (rotation == 0) return element;
        var mask = size == 64 ? ulong.MaxValue : (1UL << size) - 1;
        return ((element >> rotation) | (element << (size - rotation))) & mask;
    }

    public override string ToString() => $"#0x{Value:x}";
}
