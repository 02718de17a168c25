using Maru.Compiler.Backends.CodeGeneration;
using IrCondition = Maru.Compiler.Backends.CodeGeneration.Condition;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using static Maru.Compiler.Backends.Arm64.Arm64Target;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The AArch64 half of code generation (AAPCS64), on the typed instruction model: every
/// instruction is an <see cref="Arm64Instruction"/> (mostly through the <see cref="A64"/>
/// aliases) handed to the <see cref="Arm64Assembler"/>, which checks its operands, relaxes
/// branches and records relocations. Every operation is three-address: operands not in
/// registers are brought into the scratch registers x16 (first operand, and the result when it
/// lives in memory) and x17 (second operand), the result goes straight to its register.
/// <list type="bullet">
/// <item>Frame (sp never moves in the body, so every frame word is sp-relative): the frame record
/// x29/x30 at the top (every function with a frame has one; leaves without spills have no frame
/// at all), then the saved callee-saved registers (pushed in pairs, stp/ldp), the spill slots, the Alloca blocks and, at
/// sp, the outgoing stack arguments; the size a multiple of 16. A frame larger than a page is
/// reserved page by page, each page touched (<see cref="Arm64StackProbe"/>).</item>
/// <item>Semantics of the IR: sdiv already gives x / 0 = 0 and MIN / -1 = MIN; the remainder is
/// x - (x / y) * y with a csel for y = 0; lslv/asrv take the count modulo 64.</item>
/// <item>Data through adrp + add/ldr/str (relocations), imports through their GOT slot
/// (adrp + ldr + blr), calls between our functions with bl (the assembler turns a bl beyond
/// ±128 MiB into adrp/add/blr through x16).</item>
/// </list>
/// Register numbers are the allocator's (0-30); 31 stands for the zero register in operands
/// (<see cref="Zr"/>), never for sp, which only the frame code names.
/// </summary>
internal sealed class Arm64MachineEmitter : MachineEmitter
{
    /// <summary>The operand "register" of the constant 0.</summary>
    private const int Zr = 31;

    private static readonly RegisterOrSp Sp = RegisterOrSp.Sp;

    private readonly Arm64Assembler _asm;
    private readonly List<Arm64Label> _labels = new();
    private readonly Dictionary<VReg, long> _blockOffsets = new();
    private int[] _saved = [];
    private long _localSize;

    /// <summary>The saved registers' area: 16 bytes per pair (an odd one alone keeps sp 16-aligned).</summary>
    private long SavedBytes => 16L * ((_saved.Length + 1) / 2);
    private long _slotBase;
    private long _frameSize;
    private bool _hasFrame;

    /// <param name="convention">AAPCS64 or Apple arm64: the same registers, only variadic arguments differ (the shared emitter places them).</param>
    public Arm64MachineEmitter(Arm64Assembler assembler, CallingConvention convention)
    {
        _asm = assembler;
        Convention = convention;
    }

    public override IRegisterConstraints Target => Instance;

    public override CallingConvention Convention { get; }

    public override int CycleScratch => Scratch2;

    public override int IndirectCallee => Scratch;

    /// <summary>The assembler's item index (an instruction, or a branch before relaxation).</summary>
    public override int Position => _asm.Count;

    /// <summary>The assembler's label of a module-wide label number.</summary>
    public Arm64Label LabelOf(int label) => _labels[label];

    /// <summary>x0-x30, or xzr for <see cref="Zr"/>; x18 (the platform register) is never named.</summary>
    private static Register X(int number) => number switch
    {
        Zr => Register.Xzr,
        18 => throw new InvalidOperationException("x18 is the platform register and is never used"),
        _ => Register.X(number),
    };

    private void Emit(Arm64Instruction instruction) => Asm.Emit(instruction);

    /// <summary>The assembler, after any comparison with zero still pending has been emitted as a cmp.</summary>
    private Arm64Assembler Asm
    {
        get
        {
            if (_zeroTest >= 0)
            {
                var register = _zeroTest;
                _zeroTest = -1;
                _asm.Emit(A64.Cmp(RegisterOrSp.X(register), 0));
            }
            return _asm;
        }
    }

    private void FlushZeroTest() => _ = Asm;

    /// <summary>
    /// A comparison of this register with zero whose flags nothing has read yet: the branch after
    /// it becomes cbz/cbnz (= 0, != 0) or tbnz/tbz of the sign bit (&lt; 0, &gt;= 0) with no cmp at
    /// all; anything else emitted first gets the cmp (<see cref="Asm"/>). -1 when none.
    /// </summary>
    private int _zeroTest = -1;

    // ---- labels and control -------------------------------------------------------------------

    public override int NewLabel()
    {
        _labels.Add(_asm.CreateLabel());
        return _labels.Count - 1;
    }

    public override void PlaceLabel(int label) => Asm.Bind(_labels[label]);

    public override void Jump(int label) => Asm.Branch(_labels[label]);

    public override void JumpIf(IrCondition condition, int label)
    {
        if (_zeroTest >= 0 && condition is IrCondition.Equal or IrCondition.NotEqual or IrCondition.Less or IrCondition.GreaterOrEqual)
        {
            var register = X(_zeroTest);
            _zeroTest = -1;
            switch (condition)
            {
                case IrCondition.Equal: _asm.CompareBranch(false, register, _labels[label]); break;
                case IrCondition.NotEqual: _asm.CompareBranch(true, register, _labels[label]); break;
                case IrCondition.Less: _asm.TestBranch(true, register, 63, _labels[label]); break;
                default: _asm.TestBranch(false, register, 63, _labels[label]); break;
            }
            return;
        }
        Asm.BranchIf(Code(condition), _labels[label]);
    }

    private static Condition Code(IrCondition condition) => condition switch
    {
        IrCondition.Equal => Condition.Eq,
        IrCondition.NotEqual => Condition.Ne,
        IrCondition.Less => Condition.Lt,
        IrCondition.LessOrEqual => Condition.Le,
        IrCondition.Greater => Condition.Gt,
        IrCondition.GreaterOrEqual => Condition.Ge,
        IrCondition.Below => Condition.Lo,
        IrCondition.BelowOrEqual => Condition.Ls,
        IrCondition.Above => Condition.Hi,
        _ => Condition.Hs,
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
        _localSize = (offset + 15) & ~15L;
        // Above the locals the saved registers, pushed in pairs right under the frame record.
        _frameSize = _localSize + SavedBytes + 16;
        _hasFrame = facts.HasCalls || facts.ReadsStackParameters || facts.SlotCount > 0 || _saved.Length > 0 || facts.Blocks.Count > 0;
        if (!_hasFrame) _frameSize = 0;
    }

    public override Loc Slot(int slot) => Loc.Mem(checked((int)(_slotBase + 8L * slot)));

    public override Loc IncomingStackArgument(int index) => Loc.Mem(checked((int)(_frameSize + 8L * index)));

    public override void Prologue()
    {
        if (!_hasFrame) return;
        Emit(A64.Stp(Register.X(FramePointer), Register.X(LinkRegister), Sp, -16, PairAddressMode.PreIndex));
        Emit(A64.Mov(RegisterOrSp.X(FramePointer), Sp)); // a valid frame record
        for (var i = 0; i < _saved.Length; i += 2)
            Emit(i + 1 < _saved.Length
                ? A64.Stp(X(_saved[i]), X(_saved[i + 1]), Sp, -16, PairAddressMode.PreIndex)
                : A64.Str(X(_saved[i]), Sp, -16, AddressMode.PreIndex));
        Arm64StackProbe.Reserve(Asm, _localSize); // page by page beyond a page: stack-clash safe
    }

    public override void Epilogue()
    {
        LeaveFrame();
        Emit(A64.Ret());
    }

    public override void TailCallFunction(int functionLabel)
    {
        LeaveFrame();
        Asm.Branch(_labels[functionLabel]);
    }

    private void LeaveFrame()
    {
        if (_hasFrame)
        {
            if (_localSize == 0)
            {
                // sp is at the last pair pushed: pop them in reverse.
                for (var i = (_saved.Length - 1) & ~1; i >= 0; i -= 2)
                    Emit(i + 1 < _saved.Length
                        ? A64.Ldp(X(_saved[i]), X(_saved[i + 1]), Sp, 16, PairAddressMode.PostIndex)
                        : A64.Ldr(X(_saved[i]), Sp, 16, AddressMode.PostIndex));
            }
            else
            {
                for (var i = 0; i < _saved.Length; i += 2)
                {
                    var at = -16L * (i / 2 + 1);
                    Emit(i + 1 < _saved.Length
                        ? A64.Ldp(X(_saved[i]), X(_saved[i + 1]), RegisterOrSp.X(FramePointer), at)
                        : A64.Ldr(X(_saved[i]), RegisterOrSp.X(FramePointer), at, AddressMode.UnscaledOffset));
                }
                Emit(A64.Mov(Sp, RegisterOrSp.X(FramePointer)));
            }
            Emit(A64.Ldp(Register.X(FramePointer), Register.X(LinkRegister), Sp, 16, PairAddressMode.PostIndex));
        }
    }

    public override void ReturnWithoutFrame() => Emit(A64.Ret());

    // ---- frame words --------------------------------------------------------------------------

    /// <summary>register = [sp + offset]; beyond the scaled 12-bit offset, the address is built in the register itself.</summary>
    private void LoadFrame(int register, long offset)
    {
        if (A64.TryLoadStore(MemoryOperation.Load, 8, X(register), Sp, offset) is { } load)
        {
            Emit(load);
            return;
        }
        AddressOfFrame(register, offset);
        Emit(A64.Ldr(X(register), X(register)));
    }

    private void StoreFrame(int register, long offset)
    {
        if (A64.TryLoadStore(MemoryOperation.Store, 8, X(register), Sp, offset) is { } store)
        {
            Emit(store);
            return;
        }
        var address = register == Scratch ? Scratch2 : Scratch;
        AddressOfFrame(address, offset);
        Emit(A64.Str(X(register), X(address)));
    }

    /// <summary>register = sp + offset.</summary>
    private void AddressOfFrame(int register, long offset)
    {
        var rd = RegisterOrSp.X(register);
        if (offset is >= 0 and < 1L << 24)
        {
            var low = offset & 0xfff;
            if (offset >> 12 != 0)
            {
                Emit(new AddSubImmediateInstruction(false, rd, Sp, AddSubImmediate.Create((int)(offset >> 12), true)));
                if (low != 0) Emit(A64.Add(rd, rd, low));
            }
            else Emit(A64.Add(rd, Sp, low));
            return;
        }
        LoadConstant(register, offset);
        // sp + x: only the extended-register form takes sp as its first operand.
        Emit(new AddSubExtendedInstruction(false, rd, Sp, X(register), Extend.Uxtx));
    }

    // ---- moves --------------------------------------------------------------------------------

    public override void MoveRegister(int destination, int source)
    {
        if (destination != source) Emit(A64.Mov(X(destination), X(source)));
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
            StoreFrame(Zr, destination.Offset);
            return;
        }
        Load(Scratch, value);
        StoreFrame(Scratch, destination.Offset);
    }

    /// <summary>The shortest sequence: one orr of a logical immediate, or movz/movn + movk.</summary>
    private void LoadConstant(int register, long value) => Asm.Emit(A64.MoveImmediate(X(register), (ulong)value));

    /// <summary>The register holding the operand: its own, or <paramref name="scratch"/> loaded with it (xzr for the constant 0).</summary>
    private int InRegister(Loc value, int scratch)
    {
        if (value.IsReg) return value.Register;
        if (value.IsImm && value.Value == 0) return Zr;
        Load(scratch, value);
        return scratch;
    }

    /// <summary>Like <see cref="InRegister"/>, but never the zero register (for operands read where 31 means sp).</summary>
    private int InRealRegister(Loc value, int scratch)
    {
        var register = InRegister(value, scratch);
        if (register != Zr) return register;
        LoadConstant(scratch, 0);
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
        Emit(A64.Neg(X(work), X(source)));
        Finish(destination, work);
    }

    public override void Arithmetic(Opcode op, Loc destination, Loc left, Loc right)
    {
        var work = Work(destination);
        if (left.IsImm && !right.IsImm && op is Opcode.Add or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Multiply)
            (left, right) = (right, left);
        if (op is Opcode.And or Opcode.Or or Opcode.Xor && right.IsImm && BitmaskImmediate.TryCreate((ulong)right.Value, true) is { } mask)
        {
            var n = InRegister(left, Scratch);
            var operation = op switch { Opcode.And => LogicalImmediateOperation.And, Opcode.Or => LogicalImmediateOperation.Orr, _ => LogicalImmediateOperation.Eor };
            Emit(new LogicalImmediateInstruction(operation, RegisterOrSp.X(work), X(n), mask));
            Finish(destination, work);
            return;
        }
        if (op is Opcode.Add or Opcode.Subtract && right.IsImm && AddSubImmediateOf(right.Value) is { } imm)
        {
            var n = InRealRegister(left, Scratch);
            var subtract = (op == Opcode.Subtract) != imm.Negated;
            Emit(new AddSubImmediateInstruction(subtract, RegisterOrSp.X(work), RegisterOrSp.X(n), imm.Immediate));
            Finish(destination, work);
            return;
        }
        var a = InRegister(left, Scratch);
        var b = InRegister(right, Scratch2);
        Emit(op switch
        {
            Opcode.Add => A64.Add(X(work), X(a), X(b)),
            Opcode.Subtract => A64.Sub(X(work), X(a), X(b)),
            Opcode.And => A64.Logical(LogicalOperation.And, X(work), X(a), X(b)),
            Opcode.Or => A64.Logical(LogicalOperation.Orr, X(work), X(a), X(b)),
            Opcode.Xor => A64.Logical(LogicalOperation.Eor, X(work), X(a), X(b)),
            Opcode.Multiply => A64.Mul(X(work), X(a), X(b)),
            _ => throw new InvalidOperationException($"not an arithmetic operation: {op}"),
        });
        Finish(destination, work);
    }

    /// <summary>An add/sub immediate for the magnitude of <paramref name="value"/>; a negative value flips add and sub.</summary>
    private static (AddSubImmediate Immediate, bool Negated)? AddSubImmediateOf(long value)
    {
        if (value == long.MinValue) return null;
        return AddSubImmediate.TryCreate(Math.Abs(value)) is { } immediate ? (immediate, value < 0) : null;
    }

    public override void Shift(Opcode op, Loc destination, Loc value, Loc count)
    {
        var work = Work(destination);
        var a = InRegister(value, Scratch);
        if (count.IsImm)
        {
            var amount = (int)(count.Value & 63);
            if (amount == 0) MoveRegister(work, a);
            else Emit(op switch { Opcode.ShiftLeft => A64.Lsl(X(work), X(a), amount), Opcode.ShiftRight => A64.Asr(X(work), X(a), amount), _ => A64.Lsr(X(work), X(a), amount) });
        }
        else
        {
            // lslv/asrv use the count modulo 64: exactly the IR's rule.
            var b = InRegister(count, Scratch2);
            Emit(op switch { Opcode.ShiftLeft => A64.Lslv(X(work), X(a), X(b)), Opcode.ShiftRight => A64.Asrv(X(work), X(a), X(b)), _ => A64.Lsrv(X(work), X(a), X(b)) });
        }
        Finish(destination, work);
    }

    /// <summary>smulh xd, xn, xm.</summary>
    public override void MultiplyHigh(Loc destination, Loc left, Loc right)
    {
        var work = Work(destination);
        var a = InRegister(left, Scratch);
        var b = InRegister(right, Scratch2);
        Emit(A64.Smulh(X(work), X(a), X(b)));
        Finish(destination, work);
    }

    /// <summary>
    /// sdiv is total the IR's way already (x / 0 = 0, MIN / -1 = MIN). The remainder is
    /// x - (x / y) * y (msub), which is 0 for MIN % -1 and x for y = 0: a csel makes that 0, unless
    /// the optimiser proved the divisor never 0.
    /// </summary>
    public override void Divide(bool remainder, Loc destination, Loc dividend, Loc divisor, DivisionFacts facts)
    {
        var a = InRegister(dividend, Scratch);
        var b = InRegister(divisor, Scratch2);
        if (!remainder)
        {
            var work = Work(destination);
            Emit(A64.Sdiv(X(work), X(a), X(b)));
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
        Emit(A64.Sdiv(X(quotient), X(a), X(b)));
        RemainderOf(result, quotient, a, b, facts);
        Finish(destination, result);
    }

    /// <summary>r = a - q * b, made 0 for b = 0 (where msub leaves a) unless b is known nonzero.</summary>
    private void RemainderOf(int r, int q, int a, int b, DivisionFacts facts)
    {
        var zeroPossible = (facts & DivisionFacts.DivisorNonzero) == 0;
        if (zeroPossible) Emit(A64.Cmp(X(b), Register.Xzr)); // b is never xzr: a constant 0 divisor never reaches here
        Emit(A64.Msub(X(r), X(q), X(b), X(a)));
        if (zeroPossible) Emit(A64.Csel(X(r), Register.Xzr, X(r), Condition.Eq));
    }

    public override bool DivideWithRemainder(Loc quotient, Loc remainder, Loc dividend, Loc divisor, DivisionFacts facts)
    {
        var a = InRegister(dividend, Scratch);
        var b = InRegister(divisor, Scratch2);
        // The quotient stays in a register other than both operands until the remainder is made.
        int q;
        if (quotient.IsReg && quotient.Register != a && quotient.Register != b) q = quotient.Register;
        else if (a != Scratch && b != Scratch) q = Scratch;
        else if (a != Scratch2 && b != Scratch2) q = Scratch2;
        else return false;   // both operands in scratches; the loads emitted so far are harmless
        // The remainder's register: its own, else an operand's scratch (msub reads before it writes).
        int r;
        if (remainder.IsReg) r = remainder.Register;
        else if (a is Scratch or Scratch2 && a != q) r = a;
        else if (b is Scratch or Scratch2 && b != q) r = b;
        else if (q != Scratch && a != Scratch && b != Scratch) r = Scratch;
        else if (q != Scratch2 && a != Scratch2 && b != Scratch2) r = Scratch2;
        else return false;
        if (r == q && !remainder.Equals(quotient)) return false;
        // Storing a scratch to a far frame slot takes the other scratch for the address.
        if (q is Scratch or Scratch2 && r is Scratch or Scratch2) return false;
        Emit(A64.Sdiv(X(q), X(a), X(b)));
        RemainderOf(r, q, a, b, facts);
        // The remainder first: the quotient's move may overwrite an operand, never r (distinct registers).
        Finish(remainder, r);
        if (!remainder.Equals(quotient)) Finish(quotient, q);
        return true;
    }

    public override IrCondition Compare(Opcode op, Loc left, Loc right)
    {
        var condition = Conditions.Of(op);
        if (left.IsImm && !right.IsImm)
        {
            (left, right) = (right, left);
            condition = condition.Mirror();
        }
        var a = InRealRegister(left, Scratch);
        if (right.IsImm && right.Value == 0)
        {
            FlushZeroTest(); // an earlier pending test gets its cmp
            _zeroTest = a;
            return condition;
        }
        if (right.IsImm && AddSubImmediateOf(right.Value) is { } imm)
        {
            // cmp a, #imm is subs xzr, a, #imm; cmn (adds) for a negative constant.
            Emit(new AddSubImmediateSetFlagsInstruction(!imm.Negated, Register.Xzr, RegisterOrSp.X(a), imm.Immediate));
            return condition;
        }
        var b = InRegister(right, Scratch2);
        Emit(A64.Cmp(X(a), X(b)));
        return condition;
    }

    public override IrCondition CompareWithZero(Loc value)
    {
        var a = InRealRegister(value, Scratch);
        Asm.Emit([]); // an earlier pending test gets its cmp
        _zeroTest = a;
        return IrCondition.Equal;
    }

    public override IrCondition TestBits(Loc left, Loc right)
    {
        if (left.IsImm && !right.IsImm) (left, right) = (right, left);
        var a = InRealRegister(left, Scratch);
        if (right.IsImm && BitmaskImmediate.TryCreate((ulong)right.Value, true) is not null)
            Emit(A64.Tst(X(a), (ulong)right.Value));
        else
            Emit(A64.Tst(X(a), X(InRegister(right, Scratch2))));
        return IrCondition.NotEqual;
    }

    public override void SetCondition(Loc destination, IrCondition condition)
    {
        var work = Work(destination);
        Emit(A64.Cset(X(work), Code(condition)));
        Finish(destination, work);
    }

    /// <summary>csel rd, t, f, cond; a zero is the zero register, other constants go through the scratch registers (movz/movn/orr keep the flags).</summary>
    public override void Select(Loc destination, IrCondition condition, Loc ifTrue, Loc ifFalse)
    {
        var work = Work(destination);
        var t = InRegister(ifTrue, Scratch);
        var f = InRegister(ifFalse, Scratch2);
        Emit(A64.Csel(X(work), X(t), X(f), Code(condition)));
        Finish(destination, work);
    }

    // ---- memory -------------------------------------------------------------------------------

    public override void LoadGlobal(Loc destination, DataTarget global)
    {
        var work = Work(destination);
        Asm.Load(MemoryOperation.Load, 8, X(work), global.Section, global.Offset);
        Finish(destination, work);
    }

    public override void StoreGlobal(DataTarget global, Loc value)
    {
        var v = InRegister(value, Scratch2);
        Asm.Store(8, X(v), global.Section, global.Offset, Register.X(Scratch));
    }

    public override void DataAddress(Loc destination, DataTarget target, bool loadSlot)
    {
        var work = Work(destination);
        if (loadSlot) Asm.Load(MemoryOperation.Load, 8, X(work), target.Section, target.Offset);
        else Asm.AddressOf(X(work), target.Section, target.Offset);
        Finish(destination, work);
    }

    public override void FunctionAddress(Loc destination, int functionLabel)
    {
        var work = Work(destination);
        Asm.AddressOf(X(work), _labels[functionLabel]);
        Finish(destination, work);
    }

    public override void FrameBlockAddress(Loc destination, VReg block)
    {
        var work = Work(destination);
        AddressOfFrame(work, _blockOffsets[block]);
        Finish(destination, work);
    }

    /// <summary>The register of a load or store: x for words, w for bytes (ldrb zero-extends into the whole register).</summary>
    private static Register Data(bool word, int register) => word ? X(register) : X(register).As32;

    public override void LoadIndexed(bool word, Loc destination, Loc address, Loc index, long displacement)
    {
        var work = Work(destination);
        var size = word ? 8 : 1;
        var n = InRealRegister(address, Scratch);
        if (!index.IsImm && displacement == 0)
        {
            var m = InRegister(index, Scratch2);
            Emit(new LoadStoreRegisterOffsetInstruction(MemoryOperation.Load, size, Data(word, work), RegisterOrSp.X(n), X(m), Extend.Uxtx, Shifted: word));
        }
        else
        {
            var (at, offset) = AccessAddress(n, index, size, displacement);
            if (A64.TryLoadStore(MemoryOperation.Load, size, Data(word, work), RegisterOrSp.X(at), offset) is { } load) Emit(load);
            else
            {
                // An offset no immediate form takes: into x17, added as an unscaled register offset.
                LoadConstant(Scratch2, offset);
                Emit(new LoadStoreRegisterOffsetInstruction(MemoryOperation.Load, size, Data(word, work), RegisterOrSp.X(at), X(Scratch2), Extend.Uxtx, Shifted: false));
            }
        }
        Finish(destination, work);
    }

    public override void StoreIndexed(bool word, Loc address, Loc index, Loc value, long displacement)
    {
        var n = InRealRegister(address, Scratch);
        var size = word ? 8 : 1;
        if (!index.IsImm && displacement == 0 && (value.IsReg || (value.IsImm && value.Value == 0)))
        {
            var m = InRegister(index, Scratch2);
            Emit(new LoadStoreRegisterOffsetInstruction(MemoryOperation.Store, size, Data(word, InRegister(value, Scratch2)), RegisterOrSp.X(n), X(m), Extend.Uxtx, Shifted: word));
            return;
        }
        var (at, offset) = AccessAddress(n, index, size, displacement);
        if (A64.TryLoadStore(MemoryOperation.Store, size, Data(word, Zr), RegisterOrSp.X(at), offset) is null)
        {
            // Three values and two scratch registers: the whole address into x16 first.
            LoadConstant(Scratch2, offset);
            Emit(A64.Add(Register.X(Scratch), X(at), X(Scratch2)));
            (at, offset) = (Scratch, 0);
        }
        var v = InRegister(value, Scratch2);
        Emit(A64.TryLoadStore(MemoryOperation.Store, size, Data(word, v), RegisterOrSp.X(at), offset)!);
    }

    /// <summary>
    /// An access's base register and byte offset, its index folded in: a constant index into the
    /// offset (wrapping, as the IR's addresses do), a register one into x16 = base + (index lsl
    /// scale), the base then; x17 is free again afterwards.
    /// </summary>
    private (int Base, long Offset) AccessAddress(int n, Loc index, int size, long displacement)
    {
        if (index.IsImm) return (n, unchecked(index.Value * size + displacement));
        var m = InRegister(index, Scratch2);
        Emit(A64.Add(Register.X(Scratch), X(n), X(m), Maru.Compiler.Backends.Arm64.Shift.Lsl, size == 8 ? 3 : 0));
        return (Scratch, displacement);
    }

    // ---- calls --------------------------------------------------------------------------------

    /// <summary>The outgoing area at sp (reserved by the frame), first argument lowest.</summary>
    public override void PassStackArguments(ReadOnlySpan<Loc> arguments)
    {
        for (var i = 0; i < arguments.Length; i++) Move(Loc.Mem(8 * i), arguments[i]);
    }

    public override void CallFunction(int functionLabel) => Asm.Call(_labels[functionLabel]);

    /// <summary>adrp/ldr of the GOT slot into x16, blr x16.</summary>
    public override void CallImport(DataTarget slot)
    {
        Asm.Load(MemoryOperation.Load, 8, Register.X(Scratch), slot.Section, slot.Offset);
        Emit(A64.Blr(Register.X(Scratch)));
    }

    public override void CallIndirect() => Emit(A64.Blr(Register.X(Scratch)));

    public override void AfterCall(int stackArguments) { }

    /// <summary>A callee's early exit is a compare and a branch here too (FunctionEmitter keeps x0, also the first argument, intact on the calling path).</summary>
    public override bool TestsEarlyExitsAtCallSites => true;
}
