using Iced.Intel;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using static Maru.Compiler.Backends.X64.X64Target;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// The x86-64 half of code generation, through Iced's assembler, one function at a time (each
/// function is encoded on its own by <see cref="X64CodeLayout"/>, which also resolves calls, sibling
/// jumps and address loads between functions). Selects on allocated operands:
/// <list type="bullet">
/// <item>cmp/test + jcc for comparisons fused into their branch; comparisons with 0 become test;</item>
/// <item>lea for additions into another register; immediates folded into ALU operations when they fit imm32;</item>
/// <item>[base + index*8 + disp] addressing for oop-at/string-at, constant indexes folded into displacements;</item>
/// <item>division keeps the IR's total semantics with one range check (divisor + 1 ≤ 1 unsigned) before cqo; idiv;</item>
/// <item>stack arguments pushed, al = 0 before calls that may reach C, only used callee-saved registers saved;</item>
/// <item>leaf functions with nothing on the stack get no frame at all; rbp is a frame pointer only
/// where rsp moves within the body or the caller's stack arguments are read, spill slots are
/// rsp-relative otherwise.</item>
/// </list>
/// Operands in memory and wide immediates go through the scratch registers r11/r10, never allocated.
/// </summary>
internal sealed class X64MachineEmitter : MachineEmitter
{
    private enum Alu { Add, Sub, And, Or, Xor, Cmp }

    /// <summary>The two-operand ALU instruction an IR operation is, if any (register and read-modify-write forms share it).</summary>
    private static Alu? AluOf(Opcode op) => op switch
    {
        Opcode.Add => Alu.Add,
        Opcode.Subtract => Alu.Sub,
        Opcode.And => Alu.And,
        Opcode.Or => Alu.Or,
        Opcode.Xor => Alu.Xor,
        _ => null,
    };

    private readonly FunctionInstructions _instructions = new();
    private readonly X64CodeLayout _code;

    // Labels are module-wide numbers: 0.._functionLabels-1 are the functions' entries (made before
    // any function is emitted), the rest belong to the function being emitted, in _local.
    private int _functionLabels;
    private int _labelCount;
    private readonly List<ulong> _local = new();
    private int _localBase;
    private int _current = -1;
    private ulong _entry;
    // This function's references (kept from one function to the next: the layout takes copies).
    private readonly List<DataReference> _dataReferences = new();
    private readonly List<CrossReference> _crossReferences = new();
    private readonly List<int> _loopHeaders = new();

    private readonly Dictionary<VReg, int> _allocaOffsets = new();
    private int _savedCount;
    private int[] _saved = [];
    private int _localSize;
    private bool _hasFrame;
    private bool _framePointer;

    // The register whose value the zero flag describes, and the instruction count right after the
    // add/sub/and/or/xor that set it: a test of that register for zero emitted next (no label in
    // between, no other instruction) reads the flag instead of testing again.
    private int _zeroFlagOf = -1;
    private int _zeroFlagAt = -1;
    private int _lastLabelAt = -1;

    // Which frame word (spill slot or stack parameter) each register holds a copy of, since the
    // last label: a Load of that word into a register that holds it already is not emitted, and
    // one into another register copies the register instead of reading memory. See Track.
    private readonly FrameCopies _copies = new();

    public X64MachineEmitter(X64CodeLayout code) => _code = code;

    /// <summary>Where each finished function is encoded.</summary>
    public X64CodeLayout Layout => _code;

    public override IRegisterConstraints Target => Instance;

    public override CallingConvention Convention => X64Target.Convention;

    public override int CycleScratch => Scratch2;

    public override int IndirectCallee => Scratch;

    public override int Position => _code.InstructionCount + _instructions.Count;

    public override bool TestsEarlyExitsAtCallSites => true;

    /// <summary>cmp, test, add, sub, and, or, xor and imul take an r/m64 operand: a load read by one of them is that operand.</summary>
    public override bool FoldsLoads => true;

    /// <summary>add/sub/and/or/xor with a memory destination: a word with any value, a byte with the low byte of a register or constant.</summary>
    public override void ReadModifyWrite(Opcode op, Loc memory, Loc value)
    {
        var alu = AluOf(op) ?? throw new InvalidOperationException($"no read-modify-write for {op}");
        if (memory.IsWord)
        {
            AluOp(alu, memory, value);
            return;
        }
        var (imm8, rm8) = alu switch
        {
            Alu.Add => (Code.Add_rm8_imm8, Code.Add_rm8_r8),
            Alu.Sub => (Code.Sub_rm8_imm8, Code.Sub_rm8_r8),
            Alu.And => (Code.And_rm8_imm8, Code.And_rm8_r8),
            Alu.Or => (Code.Or_rm8_imm8, Code.Or_rm8_r8),
            _ => (Code.Xor_rm8_imm8, Code.Xor_rm8_r8),
        };
        if (value.IsImm) Add(MachineInstruction.Create(imm8, MemoryOf(memory), (int)(byte)value.Value));
        else if (value.IsReg) Add(MachineInstruction.Create(rm8, MemoryOf(memory), Register8(value.Register)));
        else throw new InvalidOperationException("a byte read-modify-write takes a register or a constant");
    }

    // ---- functions, labels and control --------------------------------------------------------

    public override void BeginFunction(int entryLabel)
    {
        _current = entryLabel;
        _instructions.Begin();
        _entry = _instructions.CreateLabel();
        _zeroFlagOf = -1;
        _copies.Clear();
        _localBase = _labelCount;
        _local.Clear();
        _dataReferences.Clear();
        _crossReferences.Clear();
        _loopHeaders.Clear();
    }

    public override void EndFunction()
    {
        _code.Add(_instructions.Items, [.. _dataReferences], [.. _crossReferences], [.. _loopHeaders]);
        _instructions.Reset();
        _current = -1;
    }

    public override int NewLabel()
    {
        if (_current < 0)
        {
            if (_labelCount != _functionLabels) throw new InvalidOperationException("function labels are made before any function is emitted");
            _functionLabels++;
        }
        else
        {
            _local.Add(_instructions.CreateLabel());
        }
        return _labelCount++;
    }

    /// <summary>The instruction list's label of a label of this function (its own entry included).</summary>
    private ulong LabelOf(int label)
    {
        if (label == _current) return _entry;
        if (label < _functionLabels) throw new InvalidOperationException("another function's entry is reached through a cross reference");
        return _local[label - _localBase];
    }

    /// <summary>An instruction reaching another function's entry; the layout patches its field.</summary>
    private void CrossReference(int functionLabel, CrossReferenceKind kind, MachineInstruction instruction)
    {
        _crossReferences.Add(new CrossReference(_instructions.Count, functionLabel, kind));
        Add(instruction);
    }

    /// <summary>
    /// Iced attaches a label to the next instruction and allows one label per instruction. Two
    /// labels meet only in rare code (a block that emits nothing and falls through, or a division
    /// whose result is already in place at the end of its block): a nop separates them.
    /// </summary>
    public override void PlaceLabel(int label)
    {
        if (_lastLabelAt == _instructions.Count) Add(MachineInstruction.Create(Code.Nopd));
        _instructions.Place(LabelOf(label));
        _copies.Clear();
        _lastLabelAt = _instructions.Count;
    }

    /// <summary>The header's first instruction is aligned by <see cref="X64CodeLayout"/> (nops before it, which a jump to the label skips).</summary>
    public override void PlaceLoopHeader(int label)
    {
        PlaceLabel(label);
        _loopHeaders.Add(_instructions.Count);
    }

    public override void Jump(int label) => _instructions.Branch(Code.Jmp_rel8_64, LabelOf(label));

    public override void JumpIf(Condition condition, int label)
    {
        _instructions.Branch(condition switch
        {
            Condition.Equal => Code.Je_rel8_64,
            Condition.NotEqual => Code.Jne_rel8_64,
            Condition.Less => Code.Jl_rel8_64,
            Condition.LessOrEqual => Code.Jle_rel8_64,
            Condition.Greater => Code.Jg_rel8_64,
            Condition.GreaterOrEqual => Code.Jge_rel8_64,
            Condition.Below => Code.Jb_rel8_64,
            Condition.BelowOrEqual => Code.Jbe_rel8_64,
            Condition.Above => Code.Ja_rel8_64,
            _ => Code.Jae_rel8_64,
        }, LabelOf(label));
    }

    // ---- frame --------------------------------------------------------------------------------

    public override bool HasFrame => _hasFrame;

    public override void LayOutFrame(FrameFacts facts)
    {
        _lastLabelAt = -1;
        _allocaOffsets.Clear();
        _saved = facts.SavedRegisters;
        _savedCount = _saved.Length;

        // Below the saved registers: spill slots, then the frame blocks of Alloca.
        var size = 8 * _savedCount + 8 * facts.SlotCount;
        foreach (var (block, bytes) in facts.Blocks)
        {
            size += (int)((bytes + 7) & ~7L);
            _allocaOffsets[block] = size;
        }
        var alignment = Convention.StackAlignment;
        var rounded = (size + alignment - 1) / alignment * alignment;
        _localSize = rounded - 8 * _savedCount;
        _hasFrame = facts.HasCalls || facts.ReadsStackParameters || size > 0;

        // rbp is only needed where rsp moves within the body (stack arguments pushed for a call)
        // or the caller's frame is addressed (stack parameters); frame blocks keep it too.
        // Otherwise spill slots are addressed off rsp: [rsp + 8*slot], and the saved registers
        // above them, with padding so that rsp is 16-byte aligned at calls.
        _framePointer = _hasFrame && NeedsFramePointer(facts);
        if (_framePointer && Array.IndexOf(_saved, Rbp) >= 0)
            throw new InvalidOperationException("rbp was allocated in a function that needs it as the frame pointer");
        if (_hasFrame && !_framePointer)
        {
            _localSize = 8 * facts.SlotCount;
            // The return address, the saved registers and the slots: a multiple of 16 below the caller's aligned rsp.
            if ((8 + 8 * _savedCount + _localSize) % alignment != 0) _localSize += 8;
        }
    }

    /// <summary>
    /// rbp is only needed where rsp moves within the body (stack arguments pushed for a call) or the
    /// caller's frame is addressed (stack parameters); frame blocks keep it too.
    /// </summary>
    private static bool NeedsFramePointer(FrameFacts facts) =>
        facts.ReadsStackParameters || facts.MaxStackArguments > 0 || facts.Blocks.Count > 0;

    /// <summary>Where the frame needs no frame pointer, rbp holds values too (a thirteenth register, callee-saved).</summary>
    public override RegisterFile RegistersFor(FrameFacts shape) => NeedsFramePointer(shape) ? Instance.Registers : Instance.RegistersWithRbp;

    public override Loc Slot(int slot) => Loc.Mem(_framePointer ? -8 * (_savedCount + slot + 1) : 8 * slot);

    public override Loc IncomingStackArgument(int index) => Loc.Mem(FirstStackArgumentOffset + 8 * index);

    public override void Prologue()
    {
        if (!_hasFrame) return;
        if (_framePointer)
        {
            Add(MachineInstruction.Create(Code.Push_r64, Register.RBP));
            MoveRegister(Rbp, Rsp);
        }
        foreach (var r in _saved) Add(MachineInstruction.Create(Code.Push_r64, Register64(r)));
        X64StackProbe.Reserve(_instructions, _localSize); // page by page beyond a page: stack-clash safe
        _copies.Clear();
    }

    public override void Epilogue()
    {
        LeaveFrame();
        Add(MachineInstruction.Create(Code.Retnq));
    }

    public override void TailCallFunction(int functionLabel)
    {
        LeaveFrame();
        if (functionLabel == _current)
        {
            _instructions.Branch(Code.Jmp_rel8_64, _entry);
            return;
        }
        // Near until the layout knows the distance. The jmp carries a label (the one already placed
        // here, if any) so that, made short, it can target itself until patched.
        if (_lastLabelAt != _instructions.Count)
        {
            _instructions.Place(_instructions.CreateLabel());
        }
        CrossReference(functionLabel, CrossReferenceKind.Jump, MachineInstruction.CreateBranch(Code.Jmp_rel32_64, X64CodeLayout.Placeholder));
    }

    private void LeaveFrame()
    {
        if (_hasFrame)
        {
            if (_framePointer && _savedCount == 0)
            {
                Add(MachineInstruction.Create(Code.Leaveq));
            }
            else
            {
                if (_localSize > 0) AluRI(Alu.Add, Rsp, _localSize);
                for (var i = _saved.Length - 1; i >= 0; i--) Add(MachineInstruction.Create(Code.Pop_r64, Register64(_saved[i])));
                if (_framePointer) Add(MachineInstruction.Create(Code.Pop_r64, Register.RBP));
            }
        }
    }

    public override void ReturnWithoutFrame() => Add(MachineInstruction.Create(Code.Retnq));

    // ---- computation --------------------------------------------------------------------------

    public override void Negate(Loc destination, Loc value)
    {
        var work = Work(destination);
        Load(work, value);
        Add(MachineInstruction.Create(Code.Neg_rm64, Register64(work)));
        Finish(destination, work);
    }

    public override Condition CompareWithZero(Loc value)
    {
        if (value.IsReg && value.Register == _zeroFlagOf && _zeroFlagAt == _instructions.Count && _lastLabelAt != _zeroFlagAt)
            return Condition.Equal;
        if (value.IsReg) Add(MachineInstruction.Create(Code.Test_rm64_r64, Register64(value.Register), Register64(value.Register)));
        else AluOp(Alu.Cmp, value, Loc.Imm(0));
        return Condition.Equal;
    }

    public override Condition TestBits(Loc left, Loc right)
    {
        if (right.IsIndexed) (left, right) = (right, left);
        if (left.IsIndexed)
        {
            var memory = MemoryOf(left);
            if (right.IsImm && right.Value is >= 0 and <= byte.MaxValue)
                // The low byte decides (little-endian: it is the first byte of a word too).
                Add(MachineInstruction.Create(Code.Test_rm8_imm8, memory, (int)right.Value));
            else if (right.Is32)
                Add(MachineInstruction.Create(Code.Test_rm64_imm32, memory, (int)right.Value));
            else
            {
                if (!right.IsReg) { Load(Scratch, right); right = Loc.Reg(Scratch); }
                Add(MachineInstruction.Create(Code.Test_rm64_r64, memory, Register64(right.Register)));
            }
            return Condition.NotEqual;
        }
        if (left.IsImm || (left.IsMem && right.IsReg)) (left, right) = (right, left);
        if (!left.IsReg)
        {
            Load(Scratch, left);
            left = Loc.Reg(Scratch);
        }
        if (right.IsImm && right.Value is >= 0 and <= byte.MaxValue)
            // The mask's upper bytes are zero, so the low byte decides: test r8, imm8 (shorter).
            Add(MachineInstruction.Create(Code.Test_rm8_imm8, Register8(left.Register), (int)right.Value));
        else if (right.IsImm && right.Is32)
            Add(MachineInstruction.Create(Code.Test_rm64_imm32, Register64(left.Register), (int)right.Value));
        else
        {
            if (right.IsImm) { Load(Scratch2, right); right = Loc.Reg(Scratch2); }
            Add(right.IsReg
                ? MachineInstruction.Create(Code.Test_rm64_r64, Register64(right.Register), Register64(left.Register))
                : MachineInstruction.Create(Code.Test_rm64_r64, Frame(right.Offset), Register64(left.Register)));
        }
        return Condition.NotEqual;
    }

    public override void LoadGlobal(Loc destination, DataTarget global)
    {
        var work = Work(destination);
        DataAccess(Code.Mov_r64_rm64, work, global);
        Finish(destination, work);
    }

    public override void DataAddress(Loc destination, DataTarget target, bool loadSlot)
    {
        var work = Work(destination);
        DataAccess(loadSlot ? Code.Mov_r64_rm64 : Code.Lea_r64_m, work, target);
        Finish(destination, work);
    }

    public override void FunctionAddress(Loc destination, int functionLabel)
    {
        var work = Work(destination);
        if (functionLabel == _current) Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(work), new MemoryOperand(Register.RIP, Register.None, 1, (long)_entry, 1)));
        else CrossReference(functionLabel, CrossReferenceKind.Address,
            MachineInstruction.Create(Code.Lea_r64_m, Register64(work), new MemoryOperand(Register.RIP, Register.None, 1, (long)X64CodeLayout.Placeholder, 8)));
        Finish(destination, work);
    }

    public override void FrameBlockAddress(Loc destination, VReg block)
    {
        var work = Work(destination);
        Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(work), Frame(-_allocaOffsets[block])));
        Finish(destination, work);
    }

    public override void LoadIndexed(bool word, Loc destination, Loc address, Loc index, long displacement)
    {
        var work = Work(destination);
        var operand = Address(address, index, word ? 8 : 1, displacement, out _);
        Add(word
            ? MachineInstruction.Create(Code.Mov_r64_rm64, Register64(work), operand)
            : MachineInstruction.Create(Code.Movzx_r32_rm8, Register32(work), operand));
        Finish(destination, work);
    }

    // ---- calls --------------------------------------------------------------------------------

    public override void PassStackArguments(ReadOnlySpan<Loc> arguments)
    {
        var padding = arguments.Length % 2 == 1 ? 8 : 0;
        if (padding != 0) AluRI(Alu.Sub, Rsp, padding);
        for (var i = arguments.Length - 1; i >= 0; i--) Push(arguments[i]);
    }

    public override void CallFunction(int functionLabel)
    {
        if (functionLabel == _current)
        {
            _instructions.Branch(Code.Call_rel32_64, _entry);
            ForgetCallerSaved();
        }
        else CrossReference(functionLabel, CrossReferenceKind.Call, MachineInstruction.CreateBranch(Code.Call_rel32_64, X64CodeLayout.Placeholder));
    }

    public override void CallImport(DataTarget slot)
    {
        // al = number of vector registers of a variadic call: always 0 here, harmless for others.
        Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EAX, Register.EAX));
        DataAccess(Code.Call_rm64, Rax, slot);
    }

    public override void CallIndirect()
    {
        Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EAX, Register.EAX));
        Add(MachineInstruction.Create(Code.Call_rm64, Register.R11));
    }

    public override void AfterCall(int stackArguments)
    {
        var cleanup = 8 * stackArguments + (stackArguments % 2 == 1 ? 8 : 0);
        if (cleanup != 0) AluRI(Alu.Add, Rsp, cleanup);
    }

    /// <summary>The register a result is computed in: its own register, or the scratch when it lives in memory.</summary>
    private static int Work(Loc destination) => destination.IsReg ? destination.Register : Scratch;

    private void Finish(Loc destination, int work)
    {
        if (!destination.Is(work)) Move(destination, Loc.Reg(work));
    }


    public override void Arithmetic(Opcode op, Loc destination, Loc a, Loc b)
    {
        var commutative = op is Opcode.Add or Opcode.Multiply or Opcode.And or Opcode.Or or Opcode.Xor;
        if (commutative && (a.IsImm || (b.IsReg && destination.Is(b.Register) && !a.IsImm))) (a, b) = (b, a);
        if (b.IsIndexed && destination.IsReg && b.Reads(destination.Register) && !a.Is(destination.Register))
        {
            // The destination is the folded load's base or index: read the memory before writing it.
            if (commutative) (a, b) = (b, a);
            else
            {
                Load(Scratch, a);
                AluOp(Alu.Sub, Loc.Reg(Scratch), b);
                Move(destination, Loc.Reg(Scratch));
                return;
            }
        }

        if (op == Opcode.Multiply)
        {
            if (b.Is32 && !a.IsImm)
            {
                var work = Work(destination);
                Add(b.Value is >= sbyte.MinValue and <= sbyte.MaxValue
                    ? CreateRmImm(Code.Imul_r64_rm64_imm8, work, a, (int)b.Value)
                    : CreateRmImm(Code.Imul_r64_rm64_imm32, work, a, (int)b.Value));
                Finish(destination, work);
                return;
            }
        }
        // lea: the sum goes to a register other than both operands without disturbing them.
        if (destination.IsReg && a.IsReg && !destination.Is(a.Register))
        {
            if (op == Opcode.Add && (b.IsReg || b.Is32))
            {
                Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(destination.Register),
                    b.IsReg ? new MemoryOperand(Register64(a.Register), Register64(b.Register), 1, 0, 0) : Memory(Register64(a.Register), b.Value)));
                return;
            }
            if (op == Opcode.Subtract && b.IsImm && b.Value is > int.MinValue and <= int.MaxValue)
            {
                Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(destination.Register), Memory(Register64(a.Register), -b.Value)));
                return;
            }
        }
        var alu = AluOf(op);
        if (op == Opcode.Subtract && destination.IsReg && b.Is(destination.Register) && !a.Is(destination.Register))
        {
            // d = a - d  ⇒  d = -d + a
            Add(MachineInstruction.Create(Code.Neg_rm64, Register64(destination.Register)));
            AluOp(Alu.Add, destination, a);
            return;
        }
        {
            var work = Work(destination);
            if (b.Is(work) && !a.Is(work)) work = Scratch; // only when the destination is b's register in memory terms
            Load(work, a);
            if (alu is { } o) AluOp(o, Loc.Reg(work), b);
            else if (b.IsImm) { Load(Scratch2, b); Add(MachineInstruction.Create(Code.Imul_r64_rm64, Register64(work), Register64(Scratch2))); }
            else Add(CreateRRm(Code.Imul_r64_rm64, work, b));
            Finish(destination, work);
        }
    }


    public override void Shift(Opcode op, Loc destination, Loc a, Loc right)
    {
        if (right.IsImm)
        {
            var count = (int)(right.Value & 63);
            if (op == Opcode.ShiftLeft && count is >= 1 and <= 3 && a.IsReg && destination.IsReg && destination.Register != a.Register)
            {
                // Into another register: one lea [a*2^count] (a+a for 1) instead of mov and shl.
                var memory = count == 1
                    ? new MemoryOperand(Register64(a.Register), Register64(a.Register), 1, 0, 0)
                    : new MemoryOperand(Register.None, Register64(a.Register), 1 << count, 0, 4);
                Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(destination.Register), memory));
                return;
            }
            var work = Work(destination);
            Load(work, a);
            if (count != 0)
                Add(MachineInstruction.Create(op switch { Opcode.ShiftLeft => Code.Shl_rm64_imm8, Opcode.ShiftRight => Code.Sar_rm64_imm8, _ => Code.Shr_rm64_imm8 }, Register64(work), count));
            Finish(destination, work);
            return;
        }
        // The count must be in cl; rcx holds nothing live across this instruction (the allocator saw to it).
        if (a.Is(Rcx))
        {
            MoveRegister(Scratch, Rcx);
            a = Loc.Reg(Scratch);
        }
        Load(Rcx, right);
        var w = destination.IsReg && destination.Register != Rcx ? destination.Register : Scratch;
        Load(w, a);
        Add(MachineInstruction.Create(op switch { Opcode.ShiftLeft => Code.Shl_rm64_CL, Opcode.ShiftRight => Code.Sar_rm64_CL, _ => Code.Shr_rm64_CL }, Register64(w), Register.CL));
        Finish(destination, w);
    }


    /// <summary>
    /// The one-operand imul: rdx:rax = rax * r/m64, the high word in rdx. The operand already in
    /// rax (if any) is the one loaded there, so loading never overwrites the other.
    /// </summary>
    public override void MultiplyHigh(Loc destination, Loc a, Loc b)
    {
        if (b.Is(Rax) || a.IsImm) (a, b) = (b, a);
        if (b.IsImm)
        {
            Load(Scratch, b);
            b = Loc.Reg(Scratch);
        }
        Load(Rax, a);
        Add(b.IsReg
            ? MachineInstruction.Create(Code.Imul_rm64, Register64(b.Register))
            : MachineInstruction.Create(Code.Imul_rm64, Frame(b.Offset)));
        Move(destination, Loc.Reg(Rdx));
    }

    /// <summary>
    /// Total division: x / 0 = 0, x % 0 = 0, MIN / -1 = MIN, x % -1 = 0. One unsigned range check
    /// catches both special divisors (divisor + 1 ≤ 1); for them the quotient is x * divisor (0 or
    /// -x, wrapping) and the remainder 0. Quotient in rax, remainder in rdx.
    /// </summary>
    public override void Divide(bool remainder, Loc destination, Loc a, Loc b, DivisionFacts facts)
    {
        DivideIntoRaxRdx(a, b, remainder ? DivisionResults.Remainder : DivisionResults.Quotient, facts);
        Move(destination, Loc.Reg(remainder ? Rdx : Rax));
    }

    public override bool DivideWithRemainder(Loc quotient, Loc remainder, Loc a, Loc b, DivisionFacts facts)
    {
        DivideIntoRaxRdx(a, b, DivisionResults.Both, facts);
        if (quotient.Is(Rdx) && remainder.Is(Rax))
            Add(MachineInstruction.Create(Code.Xchg_rm64_r64, Register.RAX, Register.RDX));
        else if (quotient.Is(Rdx))
        {
            Move(remainder, Loc.Reg(Rdx));
            Move(quotient, Loc.Reg(Rax));
        }
        else
        {
            Move(quotient, Loc.Reg(Rax));
            Move(remainder, Loc.Reg(Rdx));
        }
        return true;
    }

    private enum DivisionResults { Quotient, Remainder, Both }

    /// <summary>
    /// The total quotient in rax and remainder in rdx (only the ones asked for are defined). idiv
    /// traps on divisors 0 and -1 with MIN, so a divisor of 0 or -1 takes the skip path: the
    /// quotient is dividend * divisor (0 or the wrapped negation), the remainder 0. idiv is right
    /// for -1 when the dividend is not MIN (x / -1 = -x, x % -1 = 0), so the check tests only
    /// what the optimiser did not prove: both special divisors (lea; cmp; ja), only 0 (test; jne)
    /// when MIN / -1 cannot happen, only -1 (cmp; jne) when the divisor is never 0, nothing with both facts.
    /// </summary>
    private void DivideIntoRaxRdx(Loc a, Loc b, DivisionResults results, DivisionFacts facts)
    {
        // The divisor must survive cqo (rdx) and loading the dividend (rax).
        int divisorRegister;
        if (b.IsReg && b.Register != Rax && b.Register != Rdx) divisorRegister = b.Register;
        else
        {
            Load(Scratch, b);
            divisorRegister = Scratch;
        }
        Load(Rax, a);
        var done = NewLabel();
        var check = !b.IsImm && facts != (DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow);
        if (check)
        {
            var divide = NewLabel();
            switch (facts)
            {
                case DivisionFacts.NoOverflow:       // only 0 is special
                    Add(MachineInstruction.Create(Code.Test_rm64_r64, Register64(divisorRegister), Register64(divisorRegister)));
                    _instructions.Branch(Code.Jne_rel8_64, LabelOf(divide));
                    break;
                case DivisionFacts.DivisorNonzero:   // only -1 is special
                    Add(MachineInstruction.Create(Code.Cmp_rm64_imm8, Register64(divisorRegister), -1));
                    _instructions.Branch(Code.Jne_rel8_64, LabelOf(divide));
                    break;
                default:
                    Add(MachineInstruction.Create(Code.Lea_r64_m, Register.R10, Memory(Register64(divisorRegister), 1)));
                    Add(MachineInstruction.Create(Code.Cmp_rm64_imm8, Register.R10, 1));
                    _instructions.Branch(Code.Ja_rel8_64, LabelOf(divide));
                    break;
            }
            if (results != DivisionResults.Quotient) Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EDX, Register.EDX));
            if (results != DivisionResults.Remainder) Add(MachineInstruction.Create(Code.Imul_r64_rm64, Register.RAX, Register64(divisorRegister)));
            Jump(done);
            PlaceLabel(divide);
        }
        Add(MachineInstruction.Create(Code.Cqo));
        Add(MachineInstruction.Create(Code.Idiv_rm64, Register64(divisorRegister)));
        if (check) PlaceLabel(done);
    }


    public override Condition Compare(Opcode op, Loc a, Loc b)
    {
        var condition = Conditions.Of(op);
        if (a.IsImm)
        {
            (a, b) = (b, a);
            condition = condition.Mirror();
        }
        if (b.IsImm && b.Value == 0 && a.IsReg)
        {
            Add(MachineInstruction.Create(Code.Test_rm64_r64, Register64(a.Register), Register64(a.Register)));
            return condition;
        }
        if ((a.IsMem || a.IsIndexed) && (b.IsMem || b.IsIndexed))
        {
            Load(Scratch, a);
            a = Loc.Reg(Scratch);
        }
        AluOp(Alu.Cmp, a, b);
        return condition;
    }


    public override void SetCondition(Loc destination, Condition condition)
    {
        var work = Work(destination);
        Add(MachineInstruction.Create(condition switch
        {
            Condition.Equal => Code.Sete_rm8,
            Condition.NotEqual => Code.Setne_rm8,
            Condition.Less => Code.Setl_rm8,
            Condition.LessOrEqual => Code.Setle_rm8,
            Condition.Greater => Code.Setg_rm8,
            Condition.GreaterOrEqual => Code.Setge_rm8,
            Condition.Below => Code.Setb_rm8,
            Condition.BelowOrEqual => Code.Setbe_rm8,
            Condition.Above => Code.Seta_rm8,
            _ => Code.Setae_rm8,
        }, Register8(work)));
        Add(MachineInstruction.Create(Code.Movzx_r32_rm8, Register32(work), Register8(work)));
        Finish(destination, work);
    }


    /// <summary>
    /// mov the value the condition does not pick into the result's register, cmov the other over it
    /// (an operand already in that register is the one kept; a constant goes first, or through r10).
    /// Only flag-preserving moves: a zero is mov r32, 0 here, not xor.
    /// </summary>
    public override void Select(Loc destination, Condition condition, Loc ifTrue, Loc ifFalse)
    {
        var work = Work(destination);
        if (ifTrue.Is(work) || (ifTrue.IsImm && !ifFalse.Is(work) && !ifFalse.IsImm))
        {
            (ifTrue, ifFalse) = (ifFalse, ifTrue);
            condition = condition.Invert();
        }
        if (!ifFalse.Is(work)) LoadKeepingFlags(work, ifFalse);
        if (ifTrue.IsImm)
        {
            LoadKeepingFlags(Scratch2, ifTrue);
            ifTrue = Loc.Reg(Scratch2);
        }
        var code = condition switch
        {
            Condition.Equal => Code.Cmove_r64_rm64,
            Condition.NotEqual => Code.Cmovne_r64_rm64,
            Condition.Less => Code.Cmovl_r64_rm64,
            Condition.LessOrEqual => Code.Cmovle_r64_rm64,
            Condition.Greater => Code.Cmovg_r64_rm64,
            Condition.GreaterOrEqual => Code.Cmovge_r64_rm64,
            Condition.Below => Code.Cmovb_r64_rm64,
            Condition.BelowOrEqual => Code.Cmovbe_r64_rm64,
            Condition.Above => Code.Cmova_r64_rm64,
            _ => Code.Cmovae_r64_rm64,
        };
        if (!ifTrue.Is(work))   // the same register both ways needs no choice
            Add(ifTrue.IsReg
                ? MachineInstruction.Create(code, Register64(work), Register64(ifTrue.Register))
                : MachineInstruction.Create(code, Register64(work), ifTrue.IsIndexed ? MemoryOf(ifTrue) : Frame(ifTrue.Offset)));
        Finish(destination, work);
    }

    /// <summary><see cref="Load"/> without touching the flags (a zero by mov, not xor).</summary>
    private void LoadKeepingFlags(int register, Loc value)
    {
        if (value.IsImm && value.Value == 0) Add(MachineInstruction.Create(Code.Mov_r32_imm32, Register32(register), 0u));
        else Load(register, value);
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <summary>
    /// [base + index*scale + displacement]: a constant index folds into the displacement, which
    /// must fit a sign-extended disp32 (else it goes through r10); operands in memory are brought
    /// into r11 (base) and r10 (index). Reports the scratch registers it used. Addresses wrap
    /// modulo 2^64, as the IR's do.
    /// </summary>
    private MemoryOperand Address(Loc b, Loc i, int scale, long displacement, out ulong scratchUsed)
    {
        scratchUsed = 0;
        int baseRegister;
        if (b.IsReg) baseRegister = b.Register;
        else
        {
            Load(Scratch, b);
            baseRegister = Scratch;
            scratchUsed |= 1UL << Scratch;
        }
        if (i.IsImm)
        {
            var total = unchecked(i.Value * scale + displacement);
            if (total is >= int.MinValue and <= int.MaxValue) return Memory(Register64(baseRegister), total);
            Load(Scratch2, Loc.Imm(total));
            scratchUsed |= 1UL << Scratch2;
            return new MemoryOperand(Register64(baseRegister), Register.R10, 1, 0, 0);
        }
        int indexRegister;
        if (i.IsReg) indexRegister = i.Register;
        else
        {
            Load(Scratch2, i);
            indexRegister = Scratch2;
            scratchUsed |= 1UL << Scratch2;
        }
        if (displacement is < int.MinValue or > int.MaxValue)
        {
            // Not a disp32 (AddressFolding never makes one): base + index*scale into r11, the displacement into r10.
            Add(MachineInstruction.Create(Code.Lea_r64_m, Register.R11, new MemoryOperand(Register64(baseRegister), Register64(indexRegister), scale, 0, 0)));
            Load(Scratch2, Loc.Imm(displacement));
            scratchUsed |= (1UL << Scratch) | (1UL << Scratch2);
            return new MemoryOperand(Register.R11, Register.R10, 1, 0, 0);
        }
        return new MemoryOperand(Register64(baseRegister), Register64(indexRegister), scale, displacement, DisplacementSize(displacement));
    }

    public override void StoreIndexed(bool word, Loc baseOperand, Loc indexOperand, Loc value, long displacement)
    {
        var address = Address(baseOperand, indexOperand, word ? 8 : 1, displacement, out var scratchUsed);
        if (value.IsMem || (value.IsImm && (word ? !value.Is32 : false)))
        {
            int free;
            if ((scratchUsed & (1UL << Scratch)) == 0) free = Scratch;
            else if ((scratchUsed & (1UL << Scratch2)) == 0) free = Scratch2;
            else
            {
                Add(MachineInstruction.Create(Code.Lea_r64_m, Register.R11, address));
                address = Memory(Register.R11, 0);
                free = Scratch2;
            }
            Load(free, value);
            value = Loc.Reg(free);
        }
        if (word)
            Add(value.IsImm
                ? MachineInstruction.Create(Code.Mov_rm64_imm32, address, (int)value.Value)
                : MachineInstruction.Create(Code.Mov_rm64_r64, address, Register64(value.Register)));
        else
            Add(value.IsImm
                ? MachineInstruction.Create(Code.Mov_rm8_imm8, address, (int)(byte)value.Value)
                : MachineInstruction.Create(Code.Mov_rm8_r8, address, Register8(value.Register)));
    }

    public override void StoreGlobal(DataTarget target, Loc value)
    {
        if (value.Is32)
        {
            var memory = new MemoryOperand(Register.RIP, Register.None, 1, 0, 8);
            _dataReferences.Add(new DataReference(Position, target.Section, target.Offset, target.Name));
            Add(MachineInstruction.Create(Code.Mov_rm64_imm32, memory, (int)value.Value));
            return;
        }
        int register;
        if (value.IsReg) register = value.Register;
        else
        {
            Load(Scratch, value);
            register = Scratch;
        }
        DataAccess(Code.Mov_rm64_r64, register, target);
    }

    /// <summary>An instruction with a RIP-relative operand on data; the displacement becomes a relocation.</summary>
    private void DataAccess(Code code, int register, DataTarget target)
    {
        var memory = new MemoryOperand(Register.RIP, Register.None, 1, 0, 8);
        _dataReferences.Add(new DataReference(Position, target.Section, target.Offset, target.Name));
        Add(code switch
        {
            Code.Mov_rm64_r64 => MachineInstruction.Create(code, memory, Register64(register)),
            Code.Call_rm64 => MachineInstruction.Create(code, memory),
            _ => MachineInstruction.Create(code, Register64(register), memory),
        });
    }


    private void Push(Loc value)
    {
        if (value.IsReg) Add(MachineInstruction.Create(Code.Push_r64, Register64(value.Register)));
        else if (value.IsMem) Add(MachineInstruction.Create(Code.Push_rm64, Frame(value.Offset)));
        else if (value.Value is >= sbyte.MinValue and <= sbyte.MaxValue) Add(MachineInstruction.Create(Code.Pushq_imm8, (int)value.Value));
        else if (value.Is32) Add(MachineInstruction.Create(Code.Pushq_imm32, (int)value.Value));
        else
        {
            Load(Scratch, value);
            Add(MachineInstruction.Create(Code.Push_r64, Register.R11));
        }
    }


    // ---- moves and operands -------------------------------------------------------------------

    private void Add(in MachineInstruction instruction)
    {
        _instructions.Add(instruction);
        Track(instruction);
    }

    /// <summary>
    /// What <paramref name="instruction"/> does to the registers' copies of frame words: a load of a
    /// frame word makes its destination a copy, a store makes its source one (and ends every other
    /// copy of the word), any other write of a register ends that register's copy, and a write of
    /// frame memory ends the copies of what it overlaps. Instructions whose effects are not known
    /// here end every copy.
    /// </summary>
    private void Track(in MachineInstruction instruction)
    {
        if (_copies.IsEmpty) { if (!IsFrameLoad(instruction)) return; }
        var frame = _framePointer ? Register.RBP : Register.RSP;
        switch (instruction.Mnemonic)
        {
            case Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt or Mnemonic.Push or Mnemonic.Nop
                or Mnemonic.Ja or Mnemonic.Jae or Mnemonic.Jb or Mnemonic.Jbe or Mnemonic.Je or Mnemonic.Jne
                or Mnemonic.Jg or Mnemonic.Jge or Mnemonic.Jl or Mnemonic.Jle:
                return;
            case Mnemonic.Cqo:
                _copies.Forget(Rdx);
                return;
            case Mnemonic.Idiv or Mnemonic.Div or Mnemonic.Mul or Mnemonic.Imul when instruction.OpCount == 1:
                _copies.Forget(Rax);
                _copies.Forget(Rdx);
                return;
            case Mnemonic.Call:
                ForgetCallerSaved();
                return;
            case Mnemonic.Mov or Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd or Mnemonic.Lea
                or Mnemonic.Add or Mnemonic.Sub or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Adc or Mnemonic.Sbb
                or Mnemonic.Imul or Mnemonic.Shl or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol or Mnemonic.Ror
                or Mnemonic.Neg or Mnemonic.Not or Mnemonic.Inc or Mnemonic.Dec or Mnemonic.Pop
                or Mnemonic.Sete or Mnemonic.Setne or Mnemonic.Setl or Mnemonic.Setle or Mnemonic.Setg or Mnemonic.Setge
                or Mnemonic.Setb or Mnemonic.Setbe or Mnemonic.Seta or Mnemonic.Setae
                or Mnemonic.Cmove or Mnemonic.Cmovne or Mnemonic.Cmovl or Mnemonic.Cmovle or Mnemonic.Cmovg or Mnemonic.Cmovge
                or Mnemonic.Cmovb or Mnemonic.Cmovbe or Mnemonic.Cmova or Mnemonic.Cmovae:
                break;
            default:
                _copies.Clear();
                return;
        }
        if (instruction.Op0Kind == OpKind.Register)
        {
            var written = instruction.Op0Register.GetFullRegister() - Register.RAX;
            if (written == Rsp || instruction.Op0Register.GetFullRegister() == frame) { _copies.Clear(); return; }
            _copies.Forget(written);
            if (instruction.Code == Code.Mov_r64_rm64 && instruction.Op1Kind == OpKind.Memory
                && instruction.MemoryBase == frame && instruction.MemoryIndex == Register.None)
                _copies.Set(written, (int)instruction.MemoryDisplacement64);
            return;
        }
        if (instruction.Op0Kind != OpKind.Memory) { _copies.Clear(); return; }
        var memoryBase = instruction.MemoryBase;
        if (memoryBase != frame)
        {
            if (memoryBase is Register.RSP or Register.RBP) _copies.Clear();
            return;
        }
        var offset = (int)instruction.MemoryDisplacement64;
        _copies.ForgetWord(offset);
        if (instruction.Code == Code.Mov_rm64_r64 && instruction.MemoryIndex == Register.None)
            _copies.Set(instruction.Op1Register - Register.RAX, offset);
    }

    private bool IsFrameLoad(in MachineInstruction instruction) =>
        instruction.Code == Code.Mov_rm64_r64 || (instruction.Code == Code.Mov_r64_rm64 && instruction.Op1Kind == OpKind.Memory);

    private void ForgetCallerSaved()
    {
        foreach (var r in CallerSaved) _copies.Forget(r);
    }

    private static readonly int[] CallerSaved = [Rax, Rcx, Rdx, Rsi, Rdi, R8, R9, R10, R11];

    public override void MoveRegister(int destination, int source)
    {
        if (destination != source) Add(MachineInstruction.Create(Code.Mov_r64_rm64, Register64(destination), Register64(source)));
    }

    private void Store(Loc destination, int register) =>
        Add(MachineInstruction.Create(Code.Mov_rm64_r64, Frame(destination.Offset), Register64(register)));

    /// <summary>register = value (a register, a frame word or a constant, materialised in the shortest form).</summary>
    public override void Load(int register, Loc value)
    {
        switch (value.Kind)
        {
            case OperandKind.Register:
                MoveRegister(register, value.Register);
                break;
            case OperandKind.Memory:
                var holder = _copies.Holder(value.Offset);
                if (holder < 0) Add(MachineInstruction.Create(Code.Mov_r64_rm64, Register64(register), Frame(value.Offset)));
                else if (holder != register)
                {
                    MoveRegister(register, holder);
                    _copies.Set(register, value.Offset);
                }
                break;
            case OperandKind.Indexed:
                Add(value.IsWord
                    ? MachineInstruction.Create(Code.Mov_r64_rm64, Register64(register), MemoryOf(value))
                    : MachineInstruction.Create(Code.Movzx_r32_rm8, Register32(register), MemoryOf(value)));
                break;
            case OperandKind.Immediate:
                var constant = value.Value;
                if (constant == 0) Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register32(register), Register32(register)));
                else if (constant is > 0 and <= uint.MaxValue) Add(MachineInstruction.Create(Code.Mov_r32_imm32, Register32(register), (uint)constant));
                else if (constant is >= int.MinValue and < 0) Add(MachineInstruction.Create(Code.Mov_rm64_imm32, Register64(register), (int)constant));
                else Add(MachineInstruction.Create(Code.Mov_r64_imm64, Register64(register), constant));
                break;
            default:
                throw new InvalidOperationException("load of a value without a location");
        }
    }

    /// <summary>destination = value between any two locations.</summary>
    public override void Move(Loc destination, Loc value)
    {
        if (destination.IsReg)
        {
            Load(destination.Register, value);
            return;
        }
        if (!destination.IsMem || destination == value) return;
        if (value.IsReg) Store(destination, value.Register);
        else if (value.Is32) Add(MachineInstruction.Create(Code.Mov_rm64_imm32, Frame(destination.Offset), (int)value.Value));
        else
        {
            Load(Scratch, value);
            Store(destination, Scratch);
        }
    }

    /// <summary>destination op= value, for a destination in a register or memory.</summary>
    private void AluOp(Alu op, Loc destination, Loc value)
    {
        var (rrm, rmr, imm8, imm32) = op switch
        {
            Alu.Add => (Code.Add_r64_rm64, Code.Add_rm64_r64, Code.Add_rm64_imm8, Code.Add_rm64_imm32),
            Alu.Sub => (Code.Sub_r64_rm64, Code.Sub_rm64_r64, Code.Sub_rm64_imm8, Code.Sub_rm64_imm32),
            Alu.And => (Code.And_r64_rm64, Code.And_rm64_r64, Code.And_rm64_imm8, Code.And_rm64_imm32),
            Alu.Or => (Code.Or_r64_rm64, Code.Or_rm64_r64, Code.Or_rm64_imm8, Code.Or_rm64_imm32),
            Alu.Xor => (Code.Xor_r64_rm64, Code.Xor_rm64_r64, Code.Xor_rm64_imm8, Code.Xor_rm64_imm32),
            _ => (Code.Cmp_r64_rm64, Code.Cmp_rm64_r64, Code.Cmp_rm64_imm8, Code.Cmp_rm64_imm32),
        };
        if (value.IsImm && !value.Is32)
        {
            var scratch = destination.Is(Scratch) ? Scratch2 : Scratch;
            Load(scratch, value);
            value = Loc.Reg(scratch);
        }
        if (destination.IsReg)
        {
            var register = Register64(destination.Register);
            if (value.IsImm)
                Add(value.Value is >= sbyte.MinValue and <= sbyte.MaxValue
                    ? MachineInstruction.Create(imm8, register, (int)value.Value)
                    : MachineInstruction.Create(imm32, register, (int)value.Value));
            else if (value.IsReg) Add(MachineInstruction.Create(rrm, register, Register64(value.Register)));
            else Add(MachineInstruction.Create(rrm, register, MemoryOf(value)));
            if (op != Alu.Cmp) (_zeroFlagOf, _zeroFlagAt) = (destination.Register, _instructions.Count);
            return;
        }
        var memory = MemoryOf(destination);
        if (destination.IsIndexed && !destination.IsWord)
        {
            // A folded byte is only compared with a constant 0-255 (FunctionEmitter): cmp byte [m], imm8.
            if (op != Alu.Cmp || !value.IsImm || value.Value is < 0 or > byte.MaxValue)
                throw new InvalidOperationException("a byte in memory is only compared with a constant 0-255");
            Add(MachineInstruction.Create(Code.Cmp_rm8_imm8, memory, (int)value.Value));
            return;
        }
        if (value.IsMem || value.IsIndexed)
        {
            Load(Scratch, value);
            value = Loc.Reg(Scratch);
        }
        if (value.IsImm)
            Add(value.Value is >= sbyte.MinValue and <= sbyte.MaxValue
                ? MachineInstruction.Create(imm8, memory, (int)value.Value)
                : MachineInstruction.Create(imm32, memory, (int)value.Value));
        else Add(MachineInstruction.Create(rmr, memory, Register64(value.Register)));
    }

    private void AluRI(Alu op, int register, int value) => AluOp(op, Loc.Reg(register), Loc.Imm(value));

    private MachineInstruction CreateRRm(Code code, int register, Loc value) => value.IsReg
        ? MachineInstruction.Create(code, Register64(register), Register64(value.Register))
        : MachineInstruction.Create(code, Register64(register), MemoryOf(value));

    private MachineInstruction CreateRmImm(Code code, int register, Loc value, int immediate) => value.IsReg
        ? MachineInstruction.Create(code, Register64(register), Register64(value.Register), immediate)
        : MachineInstruction.Create(code, Register64(register), MemoryOf(value), immediate);

    /// <summary>The memory operand of a frame word, or of a load folded into its user ([base + index*scale + disp32]).</summary>
    private MemoryOperand MemoryOf(Loc value) => value.IsIndexed
        ? new MemoryOperand(Register64(value.Register), value.IndexRegister < 0 ? Register.None : Register64(value.IndexRegister),
            value.IndexRegister < 0 ? 1 : value.Scale, value.Offset, DisplacementSize(value.Offset))
        : Frame(value.Offset);

    /// <summary>A frame word: rbp-relative with a frame pointer, else rsp-relative (rsp does not move within such a body).</summary>
    private MemoryOperand Frame(int offset) => Memory(_framePointer ? Register.RBP : Register.RSP, offset);

    private static MemoryOperand Memory(Register baseRegister, long displacement) =>
        new(baseRegister, Register.None, 1, displacement, DisplacementSize(displacement));

    /// <summary>Iced's displacement size: none, disp8, or disp32 (8 in 64-bit mode: sign-extended).</summary>
    private static int DisplacementSize(long displacement) =>
        displacement == 0 ? 0 : displacement is >= sbyte.MinValue and <= sbyte.MaxValue ? 1 : 8;
}
