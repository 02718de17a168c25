using Maru.Compiler.Backends.CodeGeneration;
using IrCondition = Maru.Compiler.Backends.CodeGeneration.Condition;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using static Maru.Compiler.Backends.Arm64.Arm64Target;
using A = Maru.Compiler.Backends.Arm64.Arm64WordAssembler;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The AArch64 half of code generation (AAPCS64). Every operation is three-address: operands
/// not in registers are brought into the scratch registers x16 (first operand, and the result
/// when it lives in memory) and x17 (second operand), the result goes straight to its register.
/// <list type="bullet">
/// <item>Frame (sp never moves in the body, so every frame word is sp-relative): the frame record
/// x29/x30 at the top (every function with a frame has one; leaves without spills have no frame
/// at all), then the saved callee-saved registers, the spill slots, the Alloca blocks and, at
/// sp, the outgoing stack arguments; the size a multiple of 16.</item>
/// <item>Semantics of the IR: sdiv already gives x / 0 = 0 and MIN / -1 = MIN; the remainder is
/// x - (x / y) * y with a csel for y = 0; lslv/asrv take the count modulo 64.</item>
/// <item>Data through adrp + add/ldr/str (relocations), imports through their GOT slot
/// (adrp + ldr + blr), calls between our functions with bl.</item>
/// </list>
/// </summary>
internal sealed class Arm64MachineEmitter : MachineEmitter
{
    private readonly A _asm;
    private readonly Dictionary<VReg, long> _blockOffsets = new();
    private int[] _saved = [];
    private long _savedBase;
    private long _slotBase;
    private long _frameSize;
    private bool _hasFrame;

    /// <param name="convention">AAPCS64 or Apple arm64: the same registers, only variadic arguments differ (the shared emitter places them).</param>
    public Arm64MachineEmitter(A assembler, CallingConvention convention)
    {
        _asm = assembler;
        Convention = convention;
    }

    public override IRegisterConstraints Target => Instance;

    public override CallingConvention Convention { get; }

    public override int CycleScratch => Scratch2;

    public override int IndirectCallee => Scratch;

    public override int Position => _asm.Count;

    // ---- labels and control -------------------------------------------------------------------

    public override int NewLabel() => _asm.NewLabel();

    public override void PlaceLabel(int label) => _asm.Place(label);

    public override void Jump(int label) => _asm.Branch(label);

    public override void JumpIf(IrCondition condition, int label) => _asm.BranchIf(Code(condition), label);

    private static Arm64Condition Code(IrCondition condition) => condition switch
    {
        IrCondition.Equal => Arm64Condition.Eq,
        IrCondition.NotEqual => Arm64Condition.Ne,
        IrCondition.Less => Arm64Condition.Lt,
        IrCondition.LessOrEqual => Arm64Condition.Le,
        IrCondition.Greater => Arm64Condition.Gt,
        _ => Arm64Condition.Ge,
    };

    // ---- frame --------------------------------------------------------------------------------

    public override bool HasFrame => _hasFrame;

    public override void LayOutFrame(FrameFacts facts)
    {
        _blockOffsets.Clear();
        _saved = facts.SavedRegisters;
        var offset = 8L * facts.MaxStackArguments;
        foreach (var (block, bytes) in facts.Blocks)
        {
            _blockOffsets[block] = offset;
            offset += (bytes + 15) & ~15L;
        }
        _slotBase = offset;
        offset += 8L * facts.SlotCount;
        _savedBase = offset;
        offset += 8L * _saved.Length;
        offset = (offset + 15) & ~15L;
        _frameSize = offset + 16; // the frame record on top
        _hasFrame = facts.HasCalls || facts.ReadsStackParameters || facts.SlotCount > 0 || _saved.Length > 0 || facts.Blocks.Count > 0;
        if (!_hasFrame) _frameSize = 0;
    }

    public override Loc Slot(int slot) => Loc.Mem(checked((int)(_slotBase + 8L * slot)));

    public override Loc IncomingStackArgument(int index) => Loc.Mem(checked((int)(_frameSize + 8L * index)));

    public override void Prologue()
    {
        if (!_hasFrame) return;
        _asm.PairPreIndexStore(FramePointer, LinkRegister, A.Sp, -16);
        _asm.AddSubImmediate(false, false, FramePointer, A.Sp, 0); // mov x29, sp: a valid frame record
        AdjustSp(subtract: true, _frameSize - 16);
        for (var i = 0; i < _saved.Length; i++) StoreFrame(_saved[i], _savedBase + 8 * i);
    }

    public override void Epilogue()
    {
        if (_hasFrame)
        {
            for (var i = 0; i < _saved.Length; i++) LoadFrame(_saved[i], _savedBase + 8 * i);
            _asm.AddSubImmediate(false, false, A.Sp, FramePointer, 0); // mov sp, x29
            _asm.PairPostIndexLoad(FramePointer, LinkRegister, A.Sp, 16);
        }
        _asm.Return();
    }

    public override void ReturnWithoutFrame() => _asm.Return();

    private void AdjustSp(bool subtract, long amount)
    {
        if (amount == 0) return;
        if (amount < 1L << 24)
        {
            if (amount >> 12 != 0) _asm.AddSubImmediate(subtract, false, A.Sp, A.Sp, amount >> 12, shift12: true);
            if ((amount & 0xfff) != 0) _asm.AddSubImmediate(subtract, false, A.Sp, A.Sp, amount & 0xfff);
            return;
        }
        if (!subtract) throw new InvalidOperationException("the epilogue restores sp from the frame pointer");
        LoadConstant(Scratch, amount);
        _asm.SubtractFromSp(Scratch);
    }

    // ---- frame words --------------------------------------------------------------------------

    /// <summary>register = [sp + offset]; beyond the scaled 12-bit offset, the address is built in the register itself.</summary>
    private void LoadFrame(int register, long offset)
    {
        if (offset is >= 0 and <= 8 * 4095)
        {
            _asm.LoadStoreUnsigned(true, true, register, A.Sp, offset);
            return;
        }
        AddressOfFrame(register, offset);
        _asm.LoadStoreUnsigned(true, true, register, register, 0);
    }

    private void StoreFrame(int register, long offset)
    {
        if (offset is >= 0 and <= 8 * 4095)
        {
            _asm.LoadStoreUnsigned(false, true, register, A.Sp, offset);
            return;
        }
        var address = register == Scratch ? Scratch2 : Scratch;
        AddressOfFrame(address, offset);
        _asm.LoadStoreUnsigned(false, true, register, address, 0);
    }

    /// <summary>register = sp + offset.</summary>
    private void AddressOfFrame(int register, long offset)
    {
        if (offset is >= 0 and < 1L << 24)
        {
            var low = offset & 0xfff;
            if (offset >> 12 != 0)
            {
                _asm.AddSubImmediate(false, false, register, A.Sp, offset >> 12, shift12: true);
                if (low != 0) _asm.AddSubImmediate(false, false, register, register, low);
            }
            else _asm.AddSubImmediate(false, false, register, A.Sp, low);
            return;
        }
        LoadConstant(register, offset);
        // add xd, sp, xd needs the extended form; sp + x = x + sp is not encodable with 31 as xm, so use add (extended).
        _asm.Emit(0x8B206000u | (uint)register << 16 | 31u << 5 | (uint)register);
    }

    // ---- moves --------------------------------------------------------------------------------

    public override void MoveRegister(int destination, int source)
    {
        if (destination != source) _asm.Shifted(A.ShiftedOp.Orr, destination, A.Zr, source);
    }

    public override void Load(int register, Loc value)
    {
        switch (value.Kind)
        {
            case OperandKind.Register: MoveRegister(register, value.Register); break;
            case OperandKind.Memory: LoadFrame(register, value.Offset); break;
            case OperandKind.Immediate: LoadConstant(register, value.Value); break;
            default: throw new InvalidOperationException("load of a value without a location");
        }
    }

    public override void Move(Loc destination, Loc value)
    {
        if (destination.IsReg)
        {
            Load(destination.Register, value);
            return;
        }
        if (!destination.IsMem || destination == value) return;
        if (value.IsReg)
        {
            StoreFrame(value.Register, destination.Offset);
            return;
        }
        if (value.IsImm && value.Value == 0)
        {
            StoreFrame(A.Zr, destination.Offset);
            return;
        }
        Load(Scratch, value);
        StoreFrame(Scratch, destination.Offset);
    }

    /// <summary>The shortest movz/movn + movk sequence: starts from all zeros or all ones, whichever leaves fewer halfwords to set.</summary>
    private void LoadConstant(int register, long value)
    {
        var v = (ulong)value;
        int zeros = 0, ones = 0;
        for (var h = 0; h < 4; h++)
        {
            var half = (v >> (16 * h)) & 0xffff;
            if (half == 0) zeros++;
            if (half == 0xffff) ones++;
        }
        var inverted = ones > zeros;
        var skip = inverted ? 0xffffUL : 0;
        var first = true;
        for (var h = 0; h < 4; h++)
        {
            var half = (v >> (16 * h)) & 0xffff;
            if (half == skip) continue;
            if (first)
            {
                if (inverted) _asm.MovWide(A.Movn, register, (long)(~half & 0xffff), h);
                else _asm.MovWide(A.Movz, register, (long)half, h);
                first = false;
            }
            else _asm.MovWide(A.Movk, register, (long)half, h);
        }
        if (first) _asm.MovWide(inverted ? A.Movn : A.Movz, register, 0, 0); // 0 or -1
    }

    /// <summary>The register holding the operand: its own, or <paramref name="scratch"/> loaded with it (xzr for the constant 0).</summary>
    private int InRegister(Loc value, int scratch)
    {
        if (value.IsReg) return value.Register;
        if (value.IsImm && value.Value == 0) return A.Zr;
        Load(scratch, value);
        return scratch;
    }

    private static int Work(Loc destination) => destination.IsReg ? destination.Register : Scratch;

    private void Finish(Loc destination, int work)
    {
        if (!destination.Is(work)) Move(destination, Loc.Reg(work));
    }

    // ---- computation --------------------------------------------------------------------------

    public override void Negate(Loc destination, Loc value)
    {
        var source = InRegister(value, Scratch);
        var work = Work(destination);
        _asm.Shifted(A.ShiftedOp.Sub, work, A.Zr, source);
        Finish(destination, work);
    }

    public override void Arithmetic(Opcode op, Loc destination, Loc left, Loc right)
    {
        var work = Work(destination);
        if (op is Opcode.Add or Opcode.Subtract && right.IsImm && AddSubImmediate(right.Value) is { } imm)
        {
            var n = InRegister(left, Scratch);
            if (n == A.Zr) { n = Scratch; LoadConstant(Scratch, 0); }
            var subtract = (op == Opcode.Subtract) != imm.Negated;
            _asm.AddSubImmediate(subtract, false, work, n, imm.Value, imm.Shift12);
            Finish(destination, work);
            return;
        }
        var a = InRegister(left, Scratch);
        var b = InRegister(right, Scratch2);
        switch (op)
        {
            case Opcode.Add: _asm.Shifted(A.ShiftedOp.Add, work, a, b); break;
            case Opcode.Subtract: _asm.Shifted(A.ShiftedOp.Sub, work, a, b); break;
            case Opcode.And: _asm.Shifted(A.ShiftedOp.And, work, a, b); break;
            case Opcode.Or: _asm.Shifted(A.ShiftedOp.Orr, work, a, b); break;
            case Opcode.Xor: _asm.Shifted(A.ShiftedOp.Eor, work, a, b); break;
            case Opcode.Multiply: _asm.MultiplyAdd(false, work, a, b, A.Zr); break;
            default: throw new InvalidOperationException($"not an arithmetic operation: {op}");
        }
        Finish(destination, work);
    }

    /// <summary>An add/sub immediate: 12 bits, optionally shifted by 12; a negative value flips add and sub.</summary>
    private static (long Value, bool Shift12, bool Negated)? AddSubImmediate(long value)
    {
        var negated = value < 0;
        if (value == long.MinValue) return null;
        var magnitude = Math.Abs(value);
        if (magnitude < 1 << 12) return (magnitude, false, negated);
        if ((magnitude & 0xfff) == 0 && magnitude < 1L << 24) return (magnitude >> 12, true, negated);
        return null;
    }

    public override void Shift(Opcode op, Loc destination, Loc value, Loc count)
    {
        var work = Work(destination);
        var a = InRegister(value, Scratch);
        if (count.IsImm)
        {
            var amount = (int)(count.Value & 63);
            if (amount == 0) MoveRegister(work, a);
            else if (op == Opcode.ShiftLeft) _asm.ShiftLeftImmediate(work, a, amount);
            else _asm.ShiftRightImmediate(work, a, amount);
        }
        else
        {
            // lslv/asrv use the count modulo 64: exactly the IR's rule.
            var b = InRegister(count, Scratch2);
            _asm.TwoSource(op == Opcode.ShiftLeft ? A.TwoSourceOp.Lslv : A.TwoSourceOp.Asrv, work, a, b);
        }
        Finish(destination, work);
    }

    /// <summary>
    /// sdiv is total the IR's way already (x / 0 = 0, MIN / -1 = MIN). The remainder is
    /// x - (x / y) * y (msub), which is 0 for MIN % -1 and x for y = 0: a csel makes that 0.
    /// </summary>
    public override void Divide(bool remainder, Loc destination, Loc dividend, Loc divisor)
    {
        var a = InRegister(dividend, Scratch);
        var b = InRegister(divisor, Scratch2);
        if (!remainder)
        {
            var work = Work(destination);
            _asm.TwoSource(A.TwoSourceOp.Sdiv, work, a, b);
            Finish(destination, work);
            return;
        }
        // The quotient needs a register other than both operands: the destination's, a free
        // scratch, or (only when every operand is in memory or constant, so the function has a
        // frame and x30 is saved in it) the link register.
        int quotient;
        if (destination.IsReg && destination.Register != a && destination.Register != b) quotient = destination.Register;
        else if (a != Scratch && b != Scratch) quotient = Scratch;
        else if (a != Scratch2 && b != Scratch2) quotient = Scratch2;
        else if (_hasFrame) quotient = LinkRegister;
        else throw new InvalidOperationException("no register for the quotient");
        var result = destination.IsReg ? destination.Register : quotient;
        _asm.TwoSource(A.TwoSourceOp.Sdiv, quotient, a, b);
        _asm.AddSubImmediate(true, true, A.Zr, b == A.Zr ? Scratch2 : b, 0); // cmp b, #0 (b is never xzr: a constant 0 divisor never reaches here)
        _asm.MultiplyAdd(true, result, quotient, b, a);
        _asm.ConditionalSelect(false, result, A.Zr, result, Arm64Condition.Eq); // csel result, xzr, result, eq
        Finish(destination, result);
    }

    public override IrCondition Compare(Opcode op, Loc left, Loc right)
    {
        var condition = Conditions.Of(op);
        if (left.IsImm && !right.IsImm)
        {
            (left, right) = (right, left);
            condition = condition.Mirror();
        }
        var a = InRegister(left, Scratch);
        if (a == A.Zr) { LoadConstant(Scratch, 0); a = Scratch; }
        if (right.IsImm && AddSubImmediate(right.Value) is { } imm)
        {
            // cmp a, #imm is subs xzr, a, #imm; cmn (adds) for a negative constant.
            _asm.AddSubImmediate(!imm.Negated, true, A.Zr, a, imm.Value, imm.Shift12);
            return condition;
        }
        var b = InRegister(right, Scratch2);
        _asm.Shifted(A.ShiftedOp.Subs, A.Zr, a, b);
        return condition;
    }

    public override IrCondition CompareWithZero(Loc value)
    {
        var a = InRegister(value, Scratch);
        if (a == A.Zr) { LoadConstant(Scratch, 0); a = Scratch; }
        _asm.AddSubImmediate(true, true, A.Zr, a, 0);
        return IrCondition.Equal;
    }

    public override void SetCondition(Loc destination, IrCondition condition)
    {
        var work = Work(destination);
        _asm.ConditionalSelect(true, work, A.Zr, A.Zr, Code(condition.Invert())); // cset work, condition
        Finish(destination, work);
    }

    // ---- memory -------------------------------------------------------------------------------

    public override void LoadGlobal(Loc destination, DataTarget global)
    {
        var work = Work(destination);
        _asm.AddressPage(work, global.Section, global.Offset);
        _asm.LoadStoreLow12(true, work, work, global.Section, global.Offset);
        Finish(destination, work);
    }

    public override void StoreGlobal(DataTarget global, Loc value)
    {
        var v = InRegister(value, Scratch2);
        _asm.AddressPage(Scratch, global.Section, global.Offset);
        _asm.LoadStoreLow12(false, v, Scratch, global.Section, global.Offset);
    }

    public override void DataAddress(Loc destination, DataTarget target, bool loadSlot)
    {
        var work = Work(destination);
        _asm.AddressPage(work, target.Section, target.Offset);
        if (loadSlot) _asm.LoadStoreLow12(true, work, work, target.Section, target.Offset);
        else _asm.AddLow12(work, work, target.Section, target.Offset);
        Finish(destination, work);
    }

    public override void FunctionAddress(Loc destination, int functionLabel)
    {
        var work = Work(destination);
        _asm.AddressOfLabel(work, functionLabel);
        Finish(destination, work);
    }

    public override void FrameBlockAddress(Loc destination, VReg block)
    {
        var work = Work(destination);
        AddressOfFrame(work, _blockOffsets[block]);
        Finish(destination, work);
    }

    public override void LoadIndexed(bool word, Loc destination, Loc address, Loc index)
    {
        var work = Work(destination);
        var n = InRegister(address, Scratch);
        if (n == A.Zr) { LoadConstant(Scratch, 0); n = Scratch; }
        var scale = word ? 8 : 1;
        if (index.IsImm && index.Value is >= 0 and <= 4095)
        {
            _asm.LoadStoreUnsigned(true, word, work, n, index.Value * scale);
        }
        else
        {
            var m = InRegister(index, Scratch2);
            _asm.LoadStoreRegister(true, word, work, n, m);
        }
        Finish(destination, work);
    }

    public override void StoreIndexed(bool word, Loc address, Loc index, Loc value)
    {
        var n = InRegister(address, Scratch);
        if (n == A.Zr) { LoadConstant(Scratch, 0); n = Scratch; }
        var scale = word ? 8 : 1;
        if (index.IsImm && index.Value is >= 0 and <= 4095)
        {
            var v = InRegister(value, Scratch2);
            _asm.LoadStoreUnsigned(false, word, v, n, index.Value * scale);
            return;
        }
        var m = InRegister(index, Scratch2);
        if (value.IsReg || (value.IsImm && value.Value == 0))
        {
            _asm.LoadStoreRegister(false, word, InRegister(value, Scratch2), n, m);
            return;
        }
        // Three values and two scratch registers: fold the address into x16 first.
        _asm.Shifted(A.ShiftedOp.Add, Scratch, n, m, word ? 3 : 0);
        Load(Scratch2, value);
        _asm.LoadStoreUnsigned(false, word, Scratch2, Scratch, 0);
    }

    // ---- calls --------------------------------------------------------------------------------

    /// <summary>The outgoing area at sp (reserved by the frame), first argument lowest.</summary>
    public override void PassStackArguments(ReadOnlySpan<Loc> arguments)
    {
        for (var i = 0; i < arguments.Length; i++) Move(Loc.Mem(8 * i), arguments[i]);
    }

    public override void CallFunction(int functionLabel) => _asm.Call(functionLabel);

    public override void CallImport(DataTarget slot)
    {
        _asm.AddressPage(Scratch, slot.Section, slot.Offset);
        _asm.LoadStoreLow12(true, Scratch, Scratch, slot.Section, slot.Offset);
        _asm.CallRegister(Scratch);
    }

    public override void CallIndirect() => _asm.CallRegister(Scratch);

    public override void AfterCall(int stackArguments) { }
}
