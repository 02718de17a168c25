namespace Maru.Compiler.ObjectFiles;

/// <summary>
/// The sections a backend fills, plus <see cref="Got"/>: one 8-byte slot per entry of
/// <see cref="ObjectModule.Imports"/> (slot i at offset 8*i), which the writer creates and asks
/// the loader to fill with the imported function's address. Writers map these to ELF sections or
/// Mach-O segments.
/// </summary>
public enum SectionKind { Text, ReadOnlyData, Data, Got }

public enum SymbolKind { Function, Object }

/// <summary>A named place in a section. Exported symbols appear in the library's dynamic symbol table.</summary>
public sealed record ObjectSymbol(string Name, SymbolKind Kind, SectionKind Section, int Offset, int Size, bool IsExported);

/// <summary>
/// How a relocation's value is computed and stored; writers translate these to their own formats.
/// S is the target's address, A the addend, P the address of the place; Page(x) = x &amp; ~0xfff.
/// Every kind is range- and alignment-checked by <see cref="RelocationPatcher"/>: a value that does
/// not fit its field is an error, never truncated. The AArch64 kinds patch one little-endian
/// 32-bit instruction word, replacing only the immediate field (the other bits are the backend's).
/// </summary>
public enum RelocationKind
{
    /// <summary>32-bit signed S + A - P (x86-64 RIP-relative operands).</summary>
    PcRelative32,
    /// <summary>
    /// 64-bit absolute S + A (a pointer stored in data; R_X86_64_64 / R_AARCH64_ABS64 in spirit):
    /// the only kind that needs the loader, since the load address is not known before.
    /// </summary>
    Absolute64,
    /// <summary>ADRP: (Page(S + A) - Page(P)) / 4096, signed 21 bits (within +-4 GiB); R_AARCH64_ADR_PREL_PG_HI21.</summary>
    Arm64Page21,
    /// <summary>ADR: S + A - P, signed 21 bits (within +-1 MiB); R_AARCH64_ADR_PREL_LO21.</summary>
    Arm64Adr21,
    /// <summary>ADD (immediate): (S + A) &amp; 0xfff in imm12, the low half of an ADRP pair; R_AARCH64_ADD_ABS_LO12_NC.</summary>
    Arm64AddLo12,
    /// <summary>LDR/STR of 1 byte (unsigned offset): (S + A) &amp; 0xfff in imm12; R_AARCH64_LDST8_ABS_LO12_NC.</summary>
    Arm64LoadStore8Lo12,
    /// <summary>LDR/STR of 2 bytes: ((S + A) &amp; 0xfff) / 2, which must be exact; R_AARCH64_LDST16_ABS_LO12_NC.</summary>
    Arm64LoadStore16Lo12,
    /// <summary>LDR/STR of 4 bytes: ((S + A) &amp; 0xfff) / 4, which must be exact; R_AARCH64_LDST32_ABS_LO12_NC.</summary>
    Arm64LoadStore32Lo12,
    /// <summary>LDR/STR of 8 bytes (a GOT slot, a global): ((S + A) &amp; 0xfff) / 8, exact; R_AARCH64_LDST64_ABS_LO12_NC.</summary>
    Arm64LoadStore64Lo12,
    /// <summary>LDR/STR of 16 bytes (q registers): ((S + A) &amp; 0xfff) / 16, exact; R_AARCH64_LDST128_ABS_LO12_NC.</summary>
    Arm64LoadStore128Lo12,
    /// <summary>BL: (S + A - P) / 4, signed 26 bits (within +-128 MiB), 4-byte aligned; R_AARCH64_CALL26.</summary>
    Arm64Call26,
    /// <summary>B: as <see cref="Arm64Call26"/>; R_AARCH64_JUMP26.</summary>
    Arm64Jump26,
    /// <summary>B.cond, CBZ/CBNZ, LDR (literal): (S + A - P) / 4, signed 19 bits (within +-1 MiB); R_AARCH64_CONDBR19.</summary>
    Arm64CondBranch19,
    /// <summary>TBZ/TBNZ: (S + A - P) / 4, signed 14 bits (within +-32 KiB); R_AARCH64_TSTBR14.</summary>
    Arm64TestBranch14,
}

/// <summary>
/// A place in <paramref name="Section"/> at <paramref name="Offset"/> that refers to byte
/// <paramref name="TargetOffset"/> of <paramref name="TargetSection"/>, plus <paramref name="Addend"/>.
/// Backends know only sections and offsets; the writer, which chooses addresses, resolves them.
/// </summary>
public sealed record Relocation(
    SectionKind Section,
    int Offset,
    RelocationKind Kind,
    SectionKind TargetSection,
    long TargetOffset,
    long Addend);

/// <summary>
/// What a backend produces for a whole compilation: format-neutral machine code and data,
/// their symbols, and the relocations between them. Deterministic by construction: lists keep
/// the order in which the backend emitted things.
/// </summary>
public sealed class ObjectModule
{
    public List<byte> Text { get; } = new();
    public List<byte> ReadOnlyData { get; } = new();
    public List<byte> Data { get; } = new();
    public List<ObjectSymbol> Symbols { get; } = new();
    public List<Relocation> Relocations { get; } = new();

    /// <summary>
    /// The alignment (a power of two, in bytes) each section's start needs in the output; writers
    /// place the section at a multiple of it. 16 by default: function entries and constants.
    /// </summary>
    public Dictionary<SectionKind, int> Alignment { get; } = new()
    {
        [SectionKind.Text] = 16,
        [SectionKind.ReadOnlyData] = 16,
        [SectionKind.Data] = 16,
    };

    /// <summary>The alignment of <paramref name="kind"/> (the GOT's is its slot size, 8).</summary>
    public int AlignmentOf(SectionKind kind) =>
        kind == SectionKind.Got ? GotSlotSize : Alignment.TryGetValue(kind, out var alignment) ? alignment : 1;

    /// <summary>Size of one GOT slot: a 64-bit address (slot i of <see cref="Imports"/> is at 8*i).</summary>
    public const int GotSlotSize = 8;

    /// <summary>
    /// Functions imported from the platform's C library, by their C name (<c>printf</c>); the
    /// writer adds the right dependency (libc.so.6, libSystem) and one GOT slot per import.
    /// Code reaches an import through its slot: a relocation whose target is (Got, 8*index).
    /// </summary>
    public List<string> Imports { get; } = new();

    /// <summary>The bytes of a section the backend fills (the GOT has none: the writer makes it).</summary>
    public List<byte> SectionBytes(SectionKind kind) => kind switch
    {
        SectionKind.Text => Text,
        SectionKind.ReadOnlyData => ReadOnlyData,
        SectionKind.Data => Data,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "the GOT is created by the object writer"),
    };
}
