using System.Buffers.Binary;

namespace Maru.Compiler.ObjectFiles;

/// <summary>
/// A pointer in data that the loader must finish: at <paramref name="Section"/>+<paramref name="Offset"/>
/// (address <paramref name="Address"/> in the image) the value <paramref name="Value"/>, an address
/// in the image, plus the load base. ELF writes it as a RELATIVE relocation, Mach-O as a rebase.
/// The patcher has already stored <paramref name="Value"/> in the bytes (the unslid pointer).
/// </summary>
public sealed record LoadTimeFixup(SectionKind Section, int Offset, ulong Address, long Value);

/// <summary>
/// A relocation whose value does not fit its field, or is not a multiple of what the field
/// scales by. Either the program is too large for the instruction the backend chose (a branch
/// beyond its range) or the backend is wrong; never silently truncated.
/// </summary>
public sealed class RelocationOutOfRangeException(Relocation relocation, long value, string problem)
    : InvalidOperationException($"{relocation.Kind} relocation at {relocation.Section}+0x{relocation.Offset:x} to {relocation.TargetSection}+0x{relocation.TargetOffset:x}: {problem} (value {value})")
{
    public Relocation Relocation { get; } = relocation;
    public long Value { get; } = value;
}

/// <summary>
/// Resolves an <see cref="ObjectModule"/>'s relocations once the object writer has chosen every
/// section's address, for any object format: place-relative fields (x86-64 rel32, AArch64 ADRP,
/// ADD/LDR lo12, branches) are final at link time and are patched into the bytes, so code never
/// needs the loader; references to a GOT slot included, since the slot's place is known even
/// though its contents are not. Absolute pointers are patched with their unslid value and
/// returned as <see cref="LoadTimeFixup"/>s: the writer turns them into its format's load-time
/// records (ELF RELATIVE, Mach-O rebase), together with the GOT's binds, which it makes itself.
/// </summary>
public static class RelocationPatcher
{
    /// <param name="addressOf">The final address of a section (relative to the image's base).</param>
    /// <param name="contentsOf">The writable output copy of a section's bytes, patched in place.</param>
    /// <returns>The absolute pointers, in the module's relocation order.</returns>
    /// <exception cref="RelocationOutOfRangeException">A value does not fit or is misaligned.</exception>
    public static IReadOnlyList<LoadTimeFixup> Apply(ObjectModule module, Func<SectionKind, ulong> addressOf, Func<SectionKind, byte[]> contentsOf)
    {
        ArgumentNullException.ThrowIfNull(module);
        var fixups = new List<LoadTimeFixup>();
        // Each section's address and contents asked once, when a relocation first needs them (in the
        // same order as asking per relocation: the first question about a section that cannot be
        // answered still comes from the same relocation).
        Span<ulong> addresses = stackalloc ulong[SectionKinds];
        Span<bool> addressKnown = stackalloc bool[SectionKinds];
        var contents = new byte[]?[SectionKinds];
        foreach (var relocation in module.Relocations)
        {
            var p = Address(relocation.Section, addresses, addressKnown) + (ulong)relocation.Offset;
            var s = Address(relocation.TargetSection, addresses, addressKnown) + (ulong)relocation.TargetOffset;
            var section = (uint)relocation.Section < SectionKinds ? contents[(int)relocation.Section] ??= contentsOf(relocation.Section) : contentsOf(relocation.Section);
            var field = section.AsSpan(relocation.Offset, Width(relocation.Kind));
            Patch(field, relocation, (long)p, (long)s);
            if (relocation.Kind == RelocationKind.Absolute64)
                fixups.Add(new LoadTimeFixup(relocation.Section, relocation.Offset, p, (long)s + relocation.Addend));
        }
        return fixups;

        ulong Address(SectionKind kind, Span<ulong> addresses, Span<bool> known)
        {
            if ((uint)kind >= SectionKinds) return addressOf(kind);
            if (!known[(int)kind])
            {
                addresses[(int)kind] = addressOf(kind);
                known[(int)kind] = true;
            }
            return addresses[(int)kind];
        }
    }

    private const int SectionKinds = (int)SectionKind.Got + 1;

    /// <summary>The number of bytes a relocation of this kind rewrites at its place.</summary>
    public static int Width(RelocationKind kind) => kind switch
    {
        RelocationKind.Absolute64 => 8,
        RelocationKind.PcRelative32 => 4,
        _ when IsArm64Instruction(kind) => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown relocation kind"),
    };

    /// <summary>A kind <see cref="RelocationKind"/> names (its members are numbered from 0 without gaps; Enum.IsDefined per relocation cost more than the rest of the check).</summary>
    public static bool IsKnown(RelocationKind kind) => (uint)kind <= (uint)RelocationKind.Arm64TestBranch14;

    /// <summary>True for the kinds that patch an AArch64 instruction word (4-byte aligned, in code).</summary>
    public static bool IsArm64Instruction(RelocationKind kind) => kind is >= RelocationKind.Arm64Page21 and <= RelocationKind.Arm64TestBranch14;

    /// <summary>
    /// Patches one field: <paramref name="place"/> is P, <paramref name="target"/> is S (the
    /// relocation's addend is added here). Public so backends and tests can resolve a single
    /// reference the same way the writers do.
    /// </summary>
    public static void Patch(Span<byte> field, Relocation relocation, long place, long target)
    {
        ArgumentNullException.ThrowIfNull(relocation);
        var sa = target + relocation.Addend;
        switch (relocation.Kind)
        {
            case RelocationKind.PcRelative32:
            {
                var value = sa - place;
                if (value is < int.MinValue or > int.MaxValue)
                    throw new RelocationOutOfRangeException(relocation, value, "out of signed 32-bit range");
                BinaryPrimitives.WriteInt32LittleEndian(field, (int)value);
                return;
            }
            case RelocationKind.Absolute64:
                // Loaders using RELA ignore these bytes; tools reading the file (and Mach-O
                // rebasing) see the right, unslid target.
                BinaryPrimitives.WriteInt64LittleEndian(field, sa);
                return;
            case RelocationKind.Arm64Page21:
                Insert(field, AdrImmediate(relocation, (sa & ~0xfffL) - (place & ~0xfffL), scale: 12));
                return;
            case RelocationKind.Arm64Adr21:
                Insert(field, AdrImmediate(relocation, sa - place, scale: 0));
                return;
            case RelocationKind.Arm64AddLo12:
                Insert(field, 0xfffu << 10, (uint)(sa & 0xfff) << 10);
                return;
            case RelocationKind.Arm64LoadStore8Lo12:
                Insert(field, 0xfffu << 10, ScaledLow12(relocation, sa, 0) << 10);
                return;
            case RelocationKind.Arm64LoadStore16Lo12:
                Insert(field, 0xfffu << 10, ScaledLow12(relocation, sa, 1) << 10);
                return;
            case RelocationKind.Arm64LoadStore32Lo12:
                Insert(field, 0xfffu << 10, ScaledLow12(relocation, sa, 2) << 10);
                return;
            case RelocationKind.Arm64LoadStore64Lo12:
                Insert(field, 0xfffu << 10, ScaledLow12(relocation, sa, 3) << 10);
                return;
            case RelocationKind.Arm64LoadStore128Lo12:
                Insert(field, 0xfffu << 10, ScaledLow12(relocation, sa, 4) << 10);
                return;
            case RelocationKind.Arm64Call26 or RelocationKind.Arm64Jump26:
                Insert(field, 0x03ff_ffffu, BranchOffset(relocation, sa - place, bits: 26));
                return;
            case RelocationKind.Arm64CondBranch19:
                Insert(field, 0x7ffffu << 5, BranchOffset(relocation, sa - place, bits: 19) << 5);
                return;
            case RelocationKind.Arm64TestBranch14:
                Insert(field, 0x3fffu << 5, BranchOffset(relocation, sa - place, bits: 14) << 5);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(relocation), relocation.Kind, "unknown relocation kind");
        }
    }

    private static void Insert(Span<byte> field, (uint Mask, uint Bits) value) => Insert(field, value.Mask, value.Bits);

    private static void Insert(Span<byte> field, uint mask, uint bits)
    {
        var word = BinaryPrimitives.ReadUInt32LittleEndian(field);
        BinaryPrimitives.WriteUInt32LittleEndian(field, (word & ~mask) | (bits & mask));
    }

    /// <summary>ADR/ADRP's 21-bit signed immediate, split into immlo (bits 29-30) and immhi (bits 5-23).</summary>
    private static (uint Mask, uint Bits) AdrImmediate(Relocation relocation, long value, int scale)
    {
        var immediate = value >> scale;
        if (immediate is < -(1L << 20) or >= 1L << 20)
            throw new RelocationOutOfRangeException(relocation, value, "out of the signed 21-bit range of ADR/ADRP");
        var bits = (uint)immediate & 0x1fffff;
        return ((3u << 29) | (0x7ffffu << 5), ((bits & 3) << 29) | ((bits >> 2) << 5));
    }

    private static uint ScaledLow12(Relocation relocation, long value, int log2Size)
    {
        var low = value & 0xfff;
        if ((low & ((1L << log2Size) - 1)) != 0)
            throw new RelocationOutOfRangeException(relocation, value, $"the address is not a multiple of the {1 << log2Size}-byte access size");
        return (uint)(low >> log2Size);
    }

    private static uint BranchOffset(Relocation relocation, long displacement, int bits)
    {
        if ((displacement & 3) != 0)
            throw new RelocationOutOfRangeException(relocation, displacement, "the branch target is not 4-byte aligned");
        var words = displacement >> 2;
        if (words < -(1L << (bits - 1)) || words >= 1L << (bits - 1))
            throw new RelocationOutOfRangeException(relocation, displacement, $"out of the signed {bits}-bit word range of the branch");
        return (uint)words & (uint)((1L << bits) - 1);
    }
}
