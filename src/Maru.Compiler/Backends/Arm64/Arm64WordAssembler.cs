using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>AArch64 condition codes (the 4-bit field of B.cond and CSEL/CSINC).</summary>
internal enum Arm64Condition : uint { Eq = 0, Ne = 1, Hs = 2, Lo = 3, Mi = 4, Pl = 5, Vs = 6, Vc = 7, Hi = 8, Ls = 9, Ge = 10, Lt = 11, Gt = 12, Le = 13 }

/// <summary>
/// The minimal AArch64 instruction words the code generator emits, 64-bit forms only, each
/// checked against its field's range (an operand that does not fit throws, never truncated),
/// plus module-wide labels: branches to labels are resolved once every label is placed, and
/// references to data or to a function's address become format-neutral relocations.
/// Registers are numbers 0-30; 31 is sp or xzr depending on the instruction (as in the ISA).
/// </summary>
internal sealed class Arm64WordAssembler
{
    public const int Sp = 31, Zr = 31;

    private enum FixupKind { Branch26, Call26, Conditional19, PageOfLabel, AddLo12OfLabel }

    private readonly record struct Fixup(int Word, FixupKind Kind, int Label);

    private readonly List<uint> _words = new();
    private readonly List<int> _labels = new();
    private readonly List<Fixup> _fixups = new();
    private readonly List<(int Word, RelocationKind Kind, SectionKind Section, long Offset)> _data = new();

    /// <summary>Conditional branches are emitted as an inverted branch over an unconditional one (±128 MiB instead of ±1 MiB).</summary>
    public bool LongConditionalBranches { get; init; }

    public int Count => _words.Count;

    public IReadOnlyList<uint> Words => _words;

    public int NewLabel()
    {
        _labels.Add(-1);
        return _labels.Count - 1;
    }

    public void Place(int label) => _labels[label] = _words.Count;

    /// <summary>The word index a placed label stands at.</summary>
    public int PositionOf(int label) => _labels[label];

    public void Emit(uint word) => _words.Add(word);

    // ---- checks ---------------------------------------------------------------------------------

    private static uint R(int register)
    {
        if (register is < 0 or > 31) throw new ArgumentOutOfRangeException(nameof(register), register, "not an AArch64 register number");
        if (register == 18) throw new InvalidOperationException("x18 is the platform register and is never used");
        return (uint)register;
    }

    private static uint Unsigned(long value, int bits, string what) =>
        value >= 0 && value < 1L << bits ? (uint)value : throw new ArgumentOutOfRangeException(what, value, $"does not fit {bits} unsigned bits");

    private static uint Signed(long value, int bits, string what) =>
        value >= -(1L << (bits - 1)) && value < 1L << (bits - 1) ? (uint)value & (uint)((1L << bits) - 1) : throw new ArgumentOutOfRangeException(what, value, $"does not fit {bits} signed bits");

    // ---- data processing ------------------------------------------------------------------------

    /// <summary>movz/movk/movn xd, #imm16, lsl #(16*halfword).</summary>
    public void MovWide(uint opcode, int d, long imm16, int halfword) =>
        Emit(opcode | Unsigned(halfword, 2, nameof(halfword)) << 21 | Unsigned(imm16, 16, nameof(imm16)) << 5 | R(d));

    public const uint Movz = 0xD2800000, Movk = 0xF2800000, Movn = 0x92800000;

    /// <summary>add/sub (immediate) xd|sp, xn|sp, #imm12 {, lsl #12}; adds/subs set the flags (d = xzr for cmp/cmn).</summary>
    public void AddSubImmediate(bool subtract, bool setFlags, int d, int n, long imm12, bool shift12 = false) =>
        Emit((subtract ? 0xD1000000u : 0x91000000u) | (setFlags ? 1u << 29 : 0) | (shift12 ? 1u << 22 : 0)
             | Unsigned(imm12, 12, nameof(imm12)) << 10 | R(n) << 5 | R(d));

    public enum ShiftedOp : uint { Add = 0x8B000000, Sub = 0xCB000000, Adds = 0xAB000000, Subs = 0xEB000000, And = 0x8A000000, Orr = 0xAA000000, Eor = 0xCA000000 }

    /// <summary>op xd, xn, xm {, lsl #amount} (register 31 is xzr here).</summary>
    public void Shifted(ShiftedOp op, int d, int n, int m, int lslAmount = 0) =>
        Emit((uint)op | R(m) << 16 | Unsigned(lslAmount, 6, nameof(lslAmount)) << 10 | R(n) << 5 | R(d));

    /// <summary>sub sp, sp, xm (extended register, uxtx): the only way to subtract a register from sp.</summary>
    public void SubtractFromSp(int m) => Emit(0xCB206000u | R(m) << 16 | Sp << 5 | Sp);

    /// <summary>madd/msub xd, xn, xm, xa: xa ± xn*xm.</summary>
    public void MultiplyAdd(bool subtract, int d, int n, int m, int a) =>
        Emit(0x9B000000u | (subtract ? 1u << 15 : 0) | R(m) << 16 | R(a) << 10 | R(n) << 5 | R(d));

    public enum TwoSourceOp : uint { Sdiv = 0x9AC00C00, Lslv = 0x9AC02000, Asrv = 0x9AC02800 }

    public void TwoSource(TwoSourceOp op, int d, int n, int m) => Emit((uint)op | R(m) << 16 | R(n) << 5 | R(d));

    /// <summary>lsl xd, xn, #shift (ubfm).</summary>
    public void ShiftLeftImmediate(int d, int n, int shift)
    {
        var s = Unsigned(shift, 6, nameof(shift));
        Emit(0xD3400000u | ((64 - s) & 63) << 16 | (63 - s) << 10 | R(n) << 5 | R(d));
    }

    /// <summary>asr xd, xn, #shift (sbfm).</summary>
    public void ShiftRightImmediate(int d, int n, int shift) =>
        Emit(0x9340FC00u | Unsigned(shift, 6, nameof(shift)) << 16 | R(n) << 5 | R(d));

    /// <summary>csinc xd, xn, xm, cond (cset xd, c is csinc xd, xzr, xzr, !c); csel when <paramref name="increment"/> is false.</summary>
    public void ConditionalSelect(bool increment, int d, int n, int m, Arm64Condition condition) =>
        Emit(0x9A800000u | (increment ? 1u << 10 : 0) | R(m) << 16 | (uint)condition << 12 | R(n) << 5 | R(d));

    // ---- memory ---------------------------------------------------------------------------------

    /// <summary>ldr/str xt, [xn|sp, #offset] (unsigned, scaled by the size); ldrb/strb for bytes.</summary>
    public void LoadStoreUnsigned(bool load, bool word, int t, int n, long offset)
    {
        var scale = word ? 8 : 1;
        if (offset % scale != 0) throw new ArgumentOutOfRangeException(nameof(offset), offset, "not a multiple of the access size");
        Emit((word ? 0xF9000000u : 0x39000000u) | (load ? 1u << 22 : 0) | Unsigned(offset / scale, 12, nameof(offset)) << 10 | R(n) << 5 | R(t));
    }

    /// <summary>ldr/str xt, [xn, xm, lsl #3] for words; ldrb/strb wt, [xn, xm] for bytes.</summary>
    public void LoadStoreRegister(bool load, bool word, int t, int n, int m) =>
        Emit((word ? 0xF8207800u : 0x38206800u) | (load ? 1u << 22 : 0) | R(m) << 16 | R(n) << 5 | R(t));

    /// <summary>stp/ldp xt1, xt2, [sp, #offset]! (pre-index store) or [sp], #offset (post-index load).</summary>
    public void PairPreIndexStore(int t1, int t2, int n, long offset) =>
        Emit(0xA9800000u | Signed(offset / 8, 7, nameof(offset)) << 15 | R(t2) << 10 | R(n) << 5 | R(t1));

    public void PairPostIndexLoad(int t1, int t2, int n, long offset) =>
        Emit(0xA8C00000u | Signed(offset / 8, 7, nameof(offset)) << 15 | R(t2) << 10 | R(n) << 5 | R(t1));

    // ---- control --------------------------------------------------------------------------------

    public void Return() => Emit(0xD65F03C0);

    public void CallRegister(int n) => Emit(0xD63F0000u | R(n) << 5);

    public void Branch(int label)
    {
        _fixups.Add(new Fixup(_words.Count, FixupKind.Branch26, label));
        Emit(0x14000000);
    }

    public void Call(int label)
    {
        _fixups.Add(new Fixup(_words.Count, FixupKind.Call26, label));
        Emit(0x94000000);
    }

    public void BranchIf(Arm64Condition condition, int label)
    {
        if (LongConditionalBranches)
        {
            Emit(0x54000000u | 2u << 5 | ((uint)condition ^ 1)); // b.!cond over the next instruction
            Branch(label);
            return;
        }
        _fixups.Add(new Fixup(_words.Count, FixupKind.Conditional19, label));
        Emit(0x54000000u | (uint)condition);
    }

    /// <summary>adrp xd, page of data; the page is a relocation the object writer resolves.</summary>
    public void AddressPage(int d, SectionKind section, long offset)
    {
        _data.Add((_words.Count, RelocationKind.Arm64Page21, section, offset));
        Emit(0x90000000u | R(d));
    }

    /// <summary>add xd, xn, #lo12 of data.</summary>
    public void AddLow12(int d, int n, SectionKind section, long offset)
    {
        _data.Add((_words.Count, RelocationKind.Arm64AddLo12, section, offset));
        AddSubImmediate(false, false, d, n, 0);
    }

    /// <summary>ldr/str xt, [xn, #lo12 of data].</summary>
    public void LoadStoreLow12(bool load, int t, int n, SectionKind section, long offset)
    {
        _data.Add((_words.Count, RelocationKind.Arm64LoadStore64Lo12, section, offset));
        LoadStoreUnsigned(load, true, t, n, 0);
    }

    /// <summary>adrp+add of a function's entry (a label in this module's text).</summary>
    public void AddressOfLabel(int d, int label)
    {
        _fixups.Add(new Fixup(_words.Count, FixupKind.PageOfLabel, label));
        Emit(0x90000000u | R(d));
        _fixups.Add(new Fixup(_words.Count, FixupKind.AddLo12OfLabel, label));
        AddSubImmediate(false, false, d, d, 0);
    }

    /// <summary>
    /// Resolves branches (false when a conditional branch is out of ±1 MiB: emit again with
    /// <see cref="LongConditionalBranches"/>) and turns data and function-address references into
    /// relocations of <paramref name="output"/>'s text, which must start empty.
    /// </summary>
    public bool Finish(ObjectModule output)
    {
        foreach (var fixup in _fixups)
        {
            var target = _labels[fixup.Label];
            if (target < 0) throw new InvalidOperationException("a branch to a label never placed");
            var distance = (long)target - fixup.Word;
            switch (fixup.Kind)
            {
                case FixupKind.Branch26 or FixupKind.Call26:
                    _words[fixup.Word] |= Signed(distance, 26, "branch distance");
                    break;
                case FixupKind.Conditional19:
                    if (distance < -(1L << 18) || distance >= 1L << 18) return false;
                    _words[fixup.Word] |= Signed(distance, 19, "branch distance") << 5;
                    break;
                case FixupKind.PageOfLabel:
                    output.Relocations.Add(new Relocation(SectionKind.Text, 4 * fixup.Word, RelocationKind.Arm64Page21, SectionKind.Text, 4L * target, 0));
                    break;
                default:
                    output.Relocations.Add(new Relocation(SectionKind.Text, 4 * fixup.Word, RelocationKind.Arm64AddLo12, SectionKind.Text, 4L * target, 0));
                    break;
            }
        }
        foreach (var (word, kind, section, offset) in _data)
            output.Relocations.Add(new Relocation(SectionKind.Text, 4 * word, kind, section, offset, 0));
        foreach (var word in _words)
        {
            output.Text.Add((byte)word);
            output.Text.Add((byte)(word >> 8));
            output.Text.Add((byte)(word >> 16));
            output.Text.Add((byte)(word >> 24));
        }
        return true;
    }
}
