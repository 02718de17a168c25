namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The assembler's aliases as factories over the instruction model (mov, cmp, tst, neg, lsl,
/// cset, mul...), spelt as in the ARM ARM, plus <see cref="MoveImmediate"/>, the shortest
/// sequence that puts any 64-bit constant in a register. Shift amounts and bit positions are
/// checked by the encoder, like every other operand.
/// </summary>
public static class A64
{
    private static int Width(Register r) => r.Is64 ? 64 : 32;

    private static Register Zero(bool is64) => is64 ? Register.Xzr : Register.Wzr;

    /// <summary>mov between general registers (orr from the zero register).</summary>
    public static Arm64Instruction Mov(Register rd, Register rm) => new LogicalShiftedInstruction(LogicalOperation.Orr, rd, Zero(rd.Is64), rm);

    /// <summary>mov to or from sp (add #0).</summary>
    public static Arm64Instruction Mov(RegisterOrSp rd, RegisterOrSp rn) => new AddSubImmediateInstruction(false, rd, rn, AddSubImmediate.Create(0, false));

    public static Arm64Instruction Mvn(Register rd, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new LogicalShiftedInstruction(LogicalOperation.Orn, rd, Zero(rd.Is64), rm, shift, amount);

    public static Arm64Instruction Neg(Register rd, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new AddSubShiftedInstruction(true, false, rd, Zero(rd.Is64), rm, shift, amount);

    public static Arm64Instruction Negs(Register rd, Register rm) => new AddSubShiftedInstruction(true, true, rd, Zero(rd.Is64), rm);

    public static Arm64Instruction Add(RegisterOrSp rd, RegisterOrSp rn, long immediate) => new AddSubImmediateInstruction(false, rd, rn, AddSubImmediate.Create(immediate));

    public static Arm64Instruction Sub(RegisterOrSp rd, RegisterOrSp rn, long immediate) => new AddSubImmediateInstruction(true, rd, rn, AddSubImmediate.Create(immediate));

    public static Arm64Instruction Add(Register rd, Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new AddSubShiftedInstruction(false, false, rd, rn, rm, shift, amount);

    public static Arm64Instruction Sub(Register rd, Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new AddSubShiftedInstruction(true, false, rd, rn, rm, shift, amount);

    public static Arm64Instruction Cmp(RegisterOrSp rn, long immediate) =>
        new AddSubImmediateSetFlagsInstruction(true, Zero(rn.Is64), rn, AddSubImmediate.Create(immediate));

    public static Arm64Instruction Cmn(RegisterOrSp rn, long immediate) =>
        new AddSubImmediateSetFlagsInstruction(false, Zero(rn.Is64), rn, AddSubImmediate.Create(immediate));

    public static Arm64Instruction Cmp(Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new AddSubShiftedInstruction(true, true, Zero(rn.Is64), rn, rm, shift, amount);

    public static Arm64Instruction Cmn(Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new AddSubShiftedInstruction(false, true, Zero(rn.Is64), rn, rm, shift, amount);

    public static Arm64Instruction Tst(Register rn, ulong mask) => new AndsImmediateInstruction(Zero(rn.Is64), rn, BitmaskImmediate.Create(mask, rn.Is64));

    public static Arm64Instruction Tst(Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new LogicalShiftedInstruction(LogicalOperation.Ands, Zero(rn.Is64), rn, rm, shift, amount);

    public static Arm64Instruction And(RegisterOrSp rd, Register rn, ulong mask) => new LogicalImmediateInstruction(LogicalImmediateOperation.And, rd, rn, BitmaskImmediate.Create(mask, rn.Is64));

    public static Arm64Instruction Orr(RegisterOrSp rd, Register rn, ulong mask) => new LogicalImmediateInstruction(LogicalImmediateOperation.Orr, rd, rn, BitmaskImmediate.Create(mask, rn.Is64));

    public static Arm64Instruction Eor(RegisterOrSp rd, Register rn, ulong mask) => new LogicalImmediateInstruction(LogicalImmediateOperation.Eor, rd, rn, BitmaskImmediate.Create(mask, rn.Is64));

    public static Arm64Instruction Logical(LogicalOperation operation, Register rd, Register rn, Register rm, Shift shift = Shift.Lsl, int amount = 0) =>
        new LogicalShiftedInstruction(operation, rd, rn, rm, shift, amount);

    /// <summary>lsl (immediate): ubfm rd, rn, #(-shift mod width), #(width - 1 - shift).</summary>
    public static Arm64Instruction Lsl(Register rd, Register rn, int shift)
    {
        var width = Width(rd);
        if (shift < 0 || shift >= width)
            throw new Arm64EncodingException($"lsl {rd}: shift {shift} is outside 0-{width - 1}");
        return new BitfieldInstruction(BitfieldOperation.Ubfm, rd, rn, (width - shift) % width, width - 1 - shift);
    }

    /// <summary>lsr (immediate): ubfm rd, rn, #shift, #(width - 1).</summary>
    public static Arm64Instruction Lsr(Register rd, Register rn, int shift) => new BitfieldInstruction(BitfieldOperation.Ubfm, rd, rn, shift, Width(rd) - 1);

    /// <summary>asr (immediate): sbfm rd, rn, #shift, #(width - 1).</summary>
    public static Arm64Instruction Asr(Register rd, Register rn, int shift) => new BitfieldInstruction(BitfieldOperation.Sbfm, rd, rn, shift, Width(rd) - 1);

    /// <summary>ror (immediate): extr rd, rn, rn, #shift.</summary>
    public static Arm64Instruction Ror(Register rd, Register rn, int shift) => new ExtractInstruction(rd, rn, rn, shift);

    public static Arm64Instruction Lslv(Register rd, Register rn, Register rm) => new TwoSourceInstruction(TwoSourceOperation.Lslv, rd, rn, rm);
    public static Arm64Instruction Lsrv(Register rd, Register rn, Register rm) => new TwoSourceInstruction(TwoSourceOperation.Lsrv, rd, rn, rm);
    public static Arm64Instruction Asrv(Register rd, Register rn, Register rm) => new TwoSourceInstruction(TwoSourceOperation.Asrv, rd, rn, rm);
    public static Arm64Instruction Sdiv(Register rd, Register rn, Register rm) => new TwoSourceInstruction(TwoSourceOperation.Sdiv, rd, rn, rm);
    public static Arm64Instruction Udiv(Register rd, Register rn, Register rm) => new TwoSourceInstruction(TwoSourceOperation.Udiv, rd, rn, rm);

    /// <summary>Sign-extends the low <paramref name="bits"/> (8, 16 or 32) of rn: sxtb/sxth/sxtw (sbfm rd, rn, #0, #bits-1).</summary>
    public static Arm64Instruction SignExtend(Register rd, Register rn, int bits) => new BitfieldInstruction(BitfieldOperation.Sbfm, rd, rd.Is64 ? rn.As64 : rn, 0, bits - 1);

    /// <summary>Zero-extends the low <paramref name="bits"/> of rn: ubfm rd, rn, #0, #bits-1 (uxtb/uxth for w registers).</summary>
    public static Arm64Instruction ZeroExtend(Register rd, Register rn, int bits) => new BitfieldInstruction(BitfieldOperation.Ubfm, rd, rn, 0, bits - 1);

    public static Arm64Instruction Mul(Register rd, Register rn, Register rm) => new ThreeSourceInstruction(ThreeSourceOperation.Madd, rd, rn, rm, Zero(rd.Is64));
    public static Arm64Instruction Madd(Register rd, Register rn, Register rm, Register ra) => new ThreeSourceInstruction(ThreeSourceOperation.Madd, rd, rn, rm, ra);
    public static Arm64Instruction Msub(Register rd, Register rn, Register rm, Register ra) => new ThreeSourceInstruction(ThreeSourceOperation.Msub, rd, rn, rm, ra);
    public static Arm64Instruction Smulh(Register rd, Register rn, Register rm) => new ThreeSourceInstruction(ThreeSourceOperation.Smulh, rd, rn, rm, Register.Xzr);
    public static Arm64Instruction Umulh(Register rd, Register rn, Register rm) => new ThreeSourceInstruction(ThreeSourceOperation.Umulh, rd, rn, rm, Register.Xzr);

    public static Arm64Instruction Csel(Register rd, Register rn, Register rm, Condition condition) => new ConditionalSelectInstruction(ConditionalSelectOperation.Csel, rd, rn, rm, condition);
    public static Arm64Instruction Csinc(Register rd, Register rn, Register rm, Condition condition) => new ConditionalSelectInstruction(ConditionalSelectOperation.Csinc, rd, rn, rm, condition);
    public static Arm64Instruction Csinv(Register rd, Register rn, Register rm, Condition condition) => new ConditionalSelectInstruction(ConditionalSelectOperation.Csinv, rd, rn, rm, condition);
    public static Arm64Instruction Csneg(Register rd, Register rn, Register rm, Condition condition) => new ConditionalSelectInstruction(ConditionalSelectOperation.Csneg, rd, rn, rm, condition);

    /// <summary>cset: rd = condition ? 1 : 0 (csinc rd, zr, zr, !condition).</summary>
    public static Arm64Instruction Cset(Register rd, Condition condition) => Csinc(rd, Zero(rd.Is64), Zero(rd.Is64), condition.Invert());

    /// <summary>csetm: rd = condition ? -1 : 0 (csinv rd, zr, zr, !condition).</summary>
    public static Arm64Instruction Csetm(Register rd, Condition condition) => Csinv(rd, Zero(rd.Is64), Zero(rd.Is64), condition.Invert());

    /// <summary>cneg: rd = condition ? -rn : rn (csneg rd, rn, rn, !condition).</summary>
    public static Arm64Instruction Cneg(Register rd, Register rn, Condition condition) => Csneg(rd, rn, rn, condition.Invert());

    public static Arm64Instruction Ret() => new BranchRegisterInstruction(BranchRegisterOperation.Ret, Register.X(30));
    public static Arm64Instruction Br(Register rn) => new BranchRegisterInstruction(BranchRegisterOperation.Br, rn);
    public static Arm64Instruction Blr(Register rn) => new BranchRegisterInstruction(BranchRegisterOperation.Blr, rn);
    public static Arm64Instruction Nop() => new NopInstruction();
    public static Arm64Instruction Brk(ushort immediate) => new BreakpointInstruction(immediate);

    public static Arm64Instruction Ldr(Register rt, RegisterOrSp rn, long offset = 0, AddressMode mode = AddressMode.ScaledOffset) =>
        new LoadStoreInstruction(MemoryOperation.Load, rt.Is64 ? 8 : 4, rt, rn, offset, mode);

    public static Arm64Instruction Str(Register rt, RegisterOrSp rn, long offset = 0, AddressMode mode = AddressMode.ScaledOffset) =>
        new LoadStoreInstruction(MemoryOperation.Store, rt.Is64 ? 8 : 4, rt, rn, offset, mode);

    /// <summary>
    /// A load or store at [rn + offset] in the one form that reaches it: scaled unsigned offset
    /// when aligned and in range, else ldur/stur (-256 to 255); null when neither does (the caller
    /// computes the address into a register first).
    /// </summary>
    public static LoadStoreInstruction? TryLoadStore(MemoryOperation operation, int size, Register rt, RegisterOrSp rn, long offset)
    {
        if (offset >= 0 && offset % size == 0 && offset / size <= 4095)
            return new LoadStoreInstruction(operation, size, rt, rn, offset, AddressMode.ScaledOffset);
        if (offset is >= -256 and <= 255)
            return new LoadStoreInstruction(operation, size, rt, rn, offset, AddressMode.UnscaledOffset);
        return null;
    }

    public static Arm64Instruction Stp(Register rt, Register rt2, RegisterOrSp rn, long offset, PairAddressMode mode = PairAddressMode.Offset) =>
        new LoadStorePairInstruction(MemoryOperation.Store, rt, rt2, rn, offset, mode);

    public static Arm64Instruction Ldp(Register rt, Register rt2, RegisterOrSp rn, long offset, PairAddressMode mode = PairAddressMode.Offset) =>
        new LoadStorePairInstruction(MemoryOperation.Load, rt, rt2, rn, offset, mode);

    /// <summary>
    /// The shortest sequence that sets <paramref name="rd"/> to <paramref name="value"/> (the low
    /// 32 bits for a w register): one orr with a logical immediate when that is shorter, else
    /// movz (or movn, when most halfwords are 0xffff) followed by one movk per remaining halfword.
    /// </summary>
    public static IReadOnlyList<Arm64Instruction> MoveImmediate(Register rd, ulong value)
    {
        var halfwords = rd.Is64 ? 4 : 2;
        if (!rd.Is64) value &= uint.MaxValue;
        var parts = Enumerable.Range(0, halfwords).Select(i => (ushort)(value >> (16 * i))).ToArray();
        var zeros = parts.Count(p => p == 0);
        var ones = parts.Count(p => p == 0xffff);
        var inverted = ones > zeros;
        var skip = inverted ? (ushort)0xffff : (ushort)0;
        var needed = Math.Max(1, parts.Count(p => p != skip));
        if (needed > 1 && BitmaskImmediate.TryCreate(value, rd.Is64) is { } mask)
            return [new LogicalImmediateInstruction(LogicalImmediateOperation.Orr, rd.OrSp, Zero(rd.Is64), mask)];

        var sequence = new List<Arm64Instruction>();
        for (var i = 0; i < halfwords; i++)
        {
            if (parts[i] == skip) continue;
            sequence.Add(sequence.Count == 0
                ? new MoveWideInstruction(inverted ? MoveWideOperation.Movn : MoveWideOperation.Movz, rd, inverted ? (ushort)~parts[i] : parts[i], 16 * i)
                : new MoveWideInstruction(MoveWideOperation.Movk, rd, parts[i], 16 * i));
        }
        if (sequence.Count == 0)
            sequence.Add(new MoveWideInstruction(inverted ? MoveWideOperation.Movn : MoveWideOperation.Movz, rd, 0));
        return sequence;
    }
}
