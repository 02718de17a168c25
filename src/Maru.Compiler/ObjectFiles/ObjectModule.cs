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

/// <summary>How a relocation's value is computed and stored; writers translate these to their own formats.</summary>
public enum RelocationKind
{
    /// <summary>32-bit signed S + A - P (x86-64 RIP-relative operands).</summary>
    PcRelative32,
    /// <summary>64-bit absolute S + A (a pointer stored in data; needs a load-time relocation).</summary>
    Absolute64,
    /// <summary>ADRP: (Page(S + A) - Page(P)) / 4096 in the signed 21-bit immhi:immlo field; R_AARCH64_ADR_PREL_PG_HI21.</summary>
    Arm64Page21,
    /// <summary>ADD (immediate): (S + A) &amp; 0xfff in imm12, the low half of an ADRP pair; R_AARCH64_ADD_ABS_LO12_NC.</summary>
    Arm64AddLo12,
    /// <summary>LDR/STR of 8 bytes: ((S + A) &amp; 0xfff) / 8 in imm12, which must be exact; R_AARCH64_LDST64_ABS_LO12_NC.</summary>
    Arm64LoadStore64Lo12,
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
