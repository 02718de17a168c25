using Iced.Intel;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using static Maru.Compiler.Backends.X64.X64Target;
using Instruction = Maru.Compiler.Ir.Instruction;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// The O1 code generator for one function. Requires terminated blocks with no unreachable ones.
/// Runs liveness, picks the comparisons fused into their branch, allocates registers
/// (<see cref="GraphColouringAllocator"/> over <see cref="X64Target"/>), then selects instructions
/// on the allocated operands:
/// <list type="bullet">
/// <item>compare-and-branch fusion (cmp/test + jcc, no setcc); comparisons with 0 become test;</item>
/// <item>lea for additions into another register; immediates folded into ALU operations when they fit imm32;</item>
/// <item>[base + index*8 + disp] addressing for oop-at/string-at, constant indexes folded into displacements;</item>
/// <item>copies between equal locations vanish; pure instructions whose result is dead are not emitted;
/// blocks that reduce to a jump are threaded;</item>
/// <item>division keeps the IR's total semantics with one range check (divisor + 1 ≤ 1 unsigned);</item>
/// <item>a callee's <see cref="EarlyExit"/> is tested at its direct call sites, and before its own prologue;</item>
/// <item>calls: stack arguments pushed, register arguments by a parallel move (cycles through r10),
/// al = 0 before calls that may reach C, only used callee-saved registers saved;</item>
/// <item>leaf functions with nothing on the stack get no frame at all; rbp is a frame pointer only
/// where rsp moves within the body or the caller's stack arguments are read, spill slots are
/// rsp-relative otherwise;</item>
/// <item>64-bit constants read in loops live in registers: LICM hoists them into the preheader as copies, which the allocator keeps in registers.</item>
/// </list>
/// Spilled values are reached through the scratch registers r11/r10, never allocated.
/// </summary>
internal sealed class X64AllocatedFunctionEmitter
{
    private enum Condition { Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual }

    private enum Alu { Add, Sub, And, Or, Xor, Cmp }

    private enum OperandKind : byte { None, Register, Memory, Immediate }

    /// <summary>An operand as the emitter sees it after allocation: a register, a frame word (an offset from rbp, or from rsp without a frame pointer), or a constant.</summary>
    private readonly record struct Loc(OperandKind Kind, int Register, int Offset, long Value)
    {
        public static Loc Reg(int register) => new(OperandKind.Register, register, 0, 0);
        public static Loc Mem(int offset) => new(OperandKind.Memory, -1, offset, 0);
        public static Loc Imm(long value) => new(OperandKind.Immediate, -1, 0, value);
        public bool IsReg => Kind == OperandKind.Register;
        public bool IsMem => Kind == OperandKind.Memory;
        public bool IsImm => Kind == OperandKind.Immediate;
        public bool Is(int register) => Kind == OperandKind.Register && Register == register;
        public bool Is32 => IsImm && Value is >= int.MinValue and <= int.MaxValue;
    }

    private readonly Assembler _asm;
    private readonly IrFunction _function;
    private readonly IReadOnlyDictionary<string, Label> _functionLabels;
    private readonly DataLayout _data;
    private readonly List<DataReference> _dataReferences;
    private readonly ListingRecorder? _listing;
    private readonly RegisterFile _registers = Instance.Registers;

    private Liveness _liveness = null!;
    private Allocation _allocation = null!;
    private BitSet _fused = null!;
    private readonly Dictionary<VReg, int> _allocaOffsets = new();
    private Label[] _blockLabels = [];
    private int[] _resolved = [];
    private bool[] _skipped = [];
    private int _savedCount;
    private int[] _saved = [];
    private int _localSize;
    private bool _hasFrame;
    private bool _framePointer;
    private Condition _pendingCondition;

    private readonly IReadOnlyDictionary<string, EarlyExit> _calleeExits;

    /// <param name="calleeExits">The functions of the module with an <see cref="EarlyExit"/>, tested at their direct call sites.</param>
    public X64AllocatedFunctionEmitter(Assembler assembler, IrFunction function, IReadOnlyDictionary<string, Label> functionLabels,
        DataLayout data, List<DataReference> dataReferences, ListingRecorder? listing, IReadOnlyDictionary<string, EarlyExit>? calleeExits = null)
    {
        _calleeExits = calleeExits ?? new Dictionary<string, EarlyExit>();
        _asm = assembler;
        _function = function;
        _functionLabels = functionLabels;
        _data = data;
        _dataReferences = dataReferences;
        _listing = listing;
    }

    /// <summary>Emits the function, placing <paramref name="entry"/> at its first instruction; returns the placed label.</summary>
    public Label Emit(Label entry)
    {
        _liveness = Liveness.Compute(_function);
        _fused = FusedComparisons();
        _allocation = GraphColouringAllocator.Allocate(_function, _liveness, Instance, _fused);
        LayOutFrame();
        PlanEarlyExit();
        PlanBlocks();

        _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Function, _function.Name, _function.Location);
        PlaceLabel(ref entry);
        var emittedBefore = _asm.Instructions.Count;
        EmitEarlyExit();
        EmitPrologue();
        var first = FirstEmittedBlock();
        var entryBlock = -1;
        if (_asm.Instructions.Count == emittedBefore && first == _resolved[0])
        {
            // Nothing precedes the first block: it starts at the function's own label (one label per instruction).
            entryBlock = first;
            for (var b = 0; b < _blockLabels.Length; b++)
                if (_resolved[b] == first) _blockLabels[b] = entry;
        }
        else if (first != _resolved[0])
        {
            _asm.jmp(_blockLabels[_resolved[0]]);
        }

        var blocks = _function.Blocks;
        for (var b = 0; b < blocks.Count; b++)
        {
            if (_skipped[b]) continue;
            var next = NextEmitted(b);
            var label = _blockLabels[b];
            _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Block, blocks[b].Name, Diagnostics.SourceLocation.None);
            if (b != entryBlock) PlaceLabel(ref label);
            var block = blocks[b];
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var instruction = block.Instructions[i];
                _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Instruction, instruction.ToString(), instruction.Location);
                EmitInstruction(instruction, _allocation.DeadDefinitions[b][i]);
            }
            _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Instruction, block.Terminator!.ToString(), Diagnostics.SourceLocation.None);
            EmitTerminator(block, next);
        }
        return entry;
    }

    private int _lastLabelAt = -1;

    /// <summary>
    /// Iced attaches a label to the next instruction and allows one label per instruction. Two
    /// labels meet only in rare code (a block that emits nothing and falls through, or a division
    /// whose result is already in place at the end of its block): a nop separates them.
    /// </summary>
    private void PlaceLabel(ref Label label)
    {
        if (_lastLabelAt == _asm.Instructions.Count) Add(MachineInstruction.Create(Code.Nopd));
        _asm.Label(ref label);
        _lastLabelAt = _asm.Instructions.Count;
    }

    // ---- planning -----------------------------------------------------------------------------

    /// <summary>
    /// A comparison (or not) whose result is read only by the branch right after it, and written
    /// nowhere else, needs no register: it becomes flags for a jcc.
    /// </summary>
    private BitSet FusedComparisons()
    {
        var fused = new BitSet(_function.RegisterCount);
        var reads = new int[_function.RegisterCount];
        var writes = new int[_function.RegisterCount];
        foreach (var block in _function.Blocks)
        {
            foreach (var instruction in block.Instructions)
            {
                foreach (var operand in instruction.Arguments)
                    if (!operand.IsConstant) reads[operand.Register.Index]++;
                if (instruction.Destination is { } d) writes[d.Index]++;
            }
            if (Liveness.TerminatorOperand(block.Terminator!) is { IsConstant: false } value) reads[value.Register.Index]++;
        }
        foreach (var block in _function.Blocks)
        {
            if (block.Terminator is not Branch { Condition.IsConstant: false } branch || block.Instructions.Count == 0) continue;
            var last = block.Instructions[^1];
            if (last.Destination != branch.Condition.Register) continue;
            var v = branch.Condition.Register.Index;
            if (reads[v] != 1 || writes[v] != 1) continue;
            var fusable = last.Op.IsComparison()
                ? !(last.Arguments[0].IsConstant && last.Arguments[1].IsConstant)
                : last.Op == Opcode.LogicalNot && !last.Arguments[0].IsConstant;
            if (fusable) fused.Add(v);
        }
        return fused;
    }

    private void LayOutFrame()
    {
        var calleeSaved = _allocation.UsedRegisters & _registers.CalleeSaved;
        var saved = new List<int>();
        foreach (var r in _registers.Allocatable)
            if ((calleeSaved & (1UL << r)) != 0) saved.Add(r);
        _saved = saved.ToArray();
        _savedCount = _saved.Length;

        // Below the saved registers: spill slots, then the frame blocks of Alloca.
        var size = 8 * _savedCount + 8 * _allocation.SlotCount;
        foreach (var instruction in _function.Blocks[0].Instructions)
        {
            if (instruction.Op != Opcode.Alloca) continue;
            size += (int)((instruction.Arguments[0].Constant + 7) & ~7L);
            _allocaOffsets[instruction.Destination!.Value] = size;
        }
        var rounded = (size + SystemVAbi.StackAlignment - 1) / SystemVAbi.StackAlignment * SystemVAbi.StackAlignment;
        _localSize = rounded - 8 * _savedCount;

        var hasCalls = false;
        foreach (var block in _function.Blocks)
            foreach (var instruction in block.Instructions)
                hasCalls |= instruction.Op.IsCall();
        var readsStackParameters = false;
        for (var p = _registers.Arguments.Length; p < _function.ParameterCount; p++)
            readsStackParameters |= ReceivesParameter(p);
        _hasFrame = hasCalls || readsStackParameters || size > 0;

        // rbp is only needed where rsp moves within the body (stack arguments pushed for a call)
        // or the caller's frame is addressed (stack parameters); frame blocks keep it too.
        // Otherwise spill slots are addressed off rsp: [rsp + 8*slot], and the saved registers
        // above them, with padding so that rsp is 16-byte aligned at calls.
        var pushesArguments = false;
        foreach (var block in _function.Blocks)
            foreach (var instruction in block.Instructions)
                if (instruction.Op.IsCall())
                    pushesArguments |= instruction.Arguments.Length - (instruction.Op == Opcode.CallIndirect ? 1 : 0) > _registers.Arguments.Length;
        _framePointer = _hasFrame && (readsStackParameters || pushesArguments || _allocaOffsets.Count > 0);
        if (_hasFrame && !_framePointer)
        {
            _localSize = 8 * _allocation.SlotCount;
            // The return address, the saved registers and the slots: a multiple of 16 below the caller's aligned rsp.
            if ((8 + 8 * _savedCount + _localSize) % SystemVAbi.StackAlignment != 0) _localSize += 8;
        }
    }

    /// <summary>The parameter is read before it is written: it must be moved from where the caller put it.</summary>
    private bool ReceivesParameter(int parameter) =>
        _liveness.LiveIn[0][parameter] && _allocation.Locations[parameter].Kind != LocationKind.None;

    private int SlotOffset(int slot) => _framePointer ? -8 * (_savedCount + slot + 1) : 8 * slot;

    /// <summary>Blocks whose code reduces to nothing but a jump are threaded: jumps to them go to where they lead.</summary>
    private void PlanBlocks()
    {
        var blocks = _function.Blocks;
        var count = blocks.Count;
        var position = new Dictionary<BasicBlock, int>(count);
        for (var b = 0; b < count; b++) position.Add(blocks[b], b);
        var empty = new bool[count];
        var target = new int[count];
        for (var b = 0; b < count; b++)
        {
            target[b] = -1;
            var jumpTarget = UnconditionalTarget(blocks[b].Terminator!);
            if (jumpTarget is null) continue;
            target[b] = position[jumpTarget];
            empty[b] = EmitsNothing(b);
        }
        _resolved = new int[count];
        _skipped = new bool[count];
        for (var b = 0; b < count; b++)
        {
            var at = b;
            for (var steps = 0; empty[at] && steps <= count; steps++) at = target[at];
            // A cycle of empty blocks is an endless loop: the block itself must hold the jump.
            _resolved[b] = empty[at] ? b : at;
            _skipped[b] = _resolved[b] != b;
        }
        if (_earlyExit is { } exit)
        {
            // The entry block's comparison ran before the prologue: after it, on to the other successor.
            _resolved[0] = _resolved[position[exit.Continue]];
            _skipped[0] = true;
            // Blocks only the early exit's path reached are no longer reachable at all.
            var reached = new bool[count];
            var work = new Stack<int>();
            work.Push(position[exit.Continue]);
            reached[work.Peek()] = true;
            while (work.Count > 0)
                foreach (var successor in blocks[work.Pop()].Successors)
                    if (!reached[position[successor]])
                    {
                        reached[position[successor]] = true;
                        work.Push(position[successor]);
                    }
            for (var b = 1; b < count; b++)
                if (!reached[b]) _skipped[b] = true;
        }
        _blockLabels = new Label[count];
        for (var b = 0; b < count; b++)
            if (!_skipped[b]) _blockLabels[b] = _asm.CreateLabel();
        for (var b = 0; b < count; b++)
            if (_skipped[b]) _blockLabels[b] = _blockLabels[_resolved[b]];
    }

    private EarlyExit? _earlyExit;

    /// <summary>
    /// Shrink-wrapping, the simple sound case (fib's <c>n &lt; 2</c>, see <see cref="EarlyExit"/>):
    /// the early path needs no frame, no callee-saved register and no parameter move, so it is
    /// tested on the argument registers before the prologue and returns with a plain ret. The
    /// entry block (only that comparison, fused into its branch) is then not emitted again; after
    /// the prologue the code goes on to the other successor.
    /// </summary>
    private void PlanEarlyExit()
    {
        if (!_hasFrame) return; // nothing to save on any path
        if (EarlyExit.Find(_function, _registers.Arguments.Length) is { } exit
            && _fused[((Branch)_function.Blocks[0].Terminator!).Condition.Register.Index])
            _earlyExit = exit;
    }

    private Loc OnEntry(Operand operand) => operand.IsConstant ? Loc.Imm(operand.Constant) : Loc.Reg(_registers.Arguments[operand.Register.Index]);

    private void EmitEarlyExit()
    {
        if (_earlyExit is not { } exit) return;
        var comparison = exit.Comparison;
        var condition = comparison.Op == Opcode.LogicalNot
            ? CompareWithZero(OnEntry(comparison.Arguments[0]))
            : Compare(comparison.Op, OnEntry(comparison.Arguments[0]), OnEntry(comparison.Arguments[1]));
        var body = _asm.CreateLabel();
        JumpIf(exit.ExitWhenTrue ? Invert(condition) : condition, body);
        Load(_registers.Return, OnEntry(exit.Value));
        Add(MachineInstruction.Create(Code.Retnq));
        PlaceLabel(ref body);
    }

    private static BasicBlock? UnconditionalTarget(Terminator terminator) => terminator switch
    {
        Jump jump => jump.Target,
        Branch { Condition.IsConstant: true } branch => branch.Condition.Constant != 0 ? branch.IfTrue : branch.IfFalse,
        _ => null,
    };

    private bool EmitsNothing(int b)
    {
        var block = _function.Blocks[b];
        for (var i = 0; i < block.Instructions.Count; i++)
        {
            var instruction = block.Instructions[i];
            if (IsRemovable(instruction, _allocation.DeadDefinitions[b][i])) continue;
            if (instruction.Op == Opcode.Copy && !instruction.Arguments[0].IsConstant
                && _allocation[instruction.Destination!.Value] == _allocation[instruction.Arguments[0].Register]) continue;
            return false;
        }
        return true;
    }

    /// <summary>A pure instruction whose result nobody reads.</summary>
    private static bool IsRemovable(Instruction instruction, bool dead) =>
        dead && instruction.Destination is not null && !instruction.Op.HasSideEffects();

    private int FirstEmittedBlock()
    {
        for (var b = 0; b < _skipped.Length; b++)
            if (!_skipped[b]) return b;
        throw new InvalidOperationException("a function without code");
    }

    private int NextEmitted(int b)
    {
        for (var n = b + 1; n < _skipped.Length; n++)
            if (!_skipped[n]) return n;
        return -1;
    }

    // ---- prologue and epilogue ----------------------------------------------------------------

    private void EmitPrologue()
    {
        if (_hasFrame)
        {
            if (_framePointer)
            {
                Add(MachineInstruction.Create(Code.Push_r64, Register.RBP));
                MovRR(Rbp, Rsp);
            }
            foreach (var r in _saved) Add(MachineInstruction.Create(Code.Push_r64, Register64(r)));
            X64StackProbe.Reserve(_asm, _localSize); // page by page beyond a page: stack-clash safe
        }
        EmitParameterMoves();
    }

    /// <summary>Parameters go from where the ABI puts them to where the allocator wants them, as one parallel move.</summary>
    private void EmitParameterMoves()
    {
        var arguments = _registers.Arguments;
        var count = _function.ParameterCount;
        // 1. register → memory (reads the argument registers before anything overwrites them)
        for (var p = 0; p < Math.Min(count, arguments.Length); p++)
            if (ReceivesParameter(p) && _allocation.Locations[p].IsSlot) Store(LocOf(_allocation.Locations[p]), arguments[p]);
        // 2. register → register
        Span<int> destinations = stackalloc int[arguments.Length];
        Span<int> sources = stackalloc int[arguments.Length];
        var moves = 0;
        for (var p = 0; p < Math.Min(count, arguments.Length); p++)
        {
            if (!ReceivesParameter(p) || !_allocation.Locations[p].IsRegister) continue;
            destinations[moves] = _allocation.Locations[p].Index;
            sources[moves] = arguments[p];
            moves++;
        }
        ParallelMove.Sequence(destinations[..moves], sources[..moves], Scratch2, MovRR);
        // 3. the caller's stack → wherever
        for (var p = arguments.Length; p < count; p++)
        {
            var location = _allocation.Locations[p];
            if (!ReceivesParameter(p)) continue;
            var incoming = Loc.Mem(SystemVAbi.FirstStackArgumentOffset + 8 * (p - arguments.Length));
            Move(LocOf(location), incoming);
        }
    }

    private void EmitEpilogue()
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
        Add(MachineInstruction.Create(Code.Retnq));
    }

    // ---- instructions -------------------------------------------------------------------------

    private Loc LocOf(Location location) => location.Kind switch
    {
        LocationKind.Register => Loc.Reg(location.Index),
        LocationKind.Slot => Loc.Mem(SlotOffset(location.Index)),
        _ => throw new InvalidOperationException("a value without a location is read"),
    };

    private Loc LocOf(Operand operand) => operand.IsConstant ? Loc.Imm(operand.Constant) : LocOf(_allocation[operand.Register]);

    private void EmitInstruction(Instruction instruction, bool dead)
    {
        if (IsRemovable(instruction, dead)) return;
        var args = instruction.Arguments;
        if (instruction.Destination is { } d && _fused[d.Index])
        {
            EmitFusedCondition(instruction);
            return;
        }
        var destination = instruction.Destination is { } dv ? LocOf(_allocation[dv]) : default;
        switch (instruction.Op)
        {
            case Opcode.Copy:
                Move(destination, LocOf(args[0]));
                break;
            case Opcode.Negate:
            {
                var work = Work(destination);
                Load(work, LocOf(args[0]));
                Add(MachineInstruction.Create(Code.Neg_rm64, Register64(work)));
                Finish(destination, work);
                break;
            }
            case Opcode.LogicalNot:
                if (args[0].IsConstant) Move(destination, Loc.Imm(args[0].Constant == 0 ? 1 : 0));
                else SetCondition(destination, CompareWithZero(LocOf(args[0])));
                break;
            case Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Multiply:
                EmitArithmetic(instruction.Op, destination, args[0], args[1]);
                break;
            case Opcode.ShiftLeft or Opcode.ShiftRight:
                EmitShift(instruction.Op, destination, args[0], args[1]);
                break;
            case Opcode.Divide or Opcode.Remainder:
                EmitDivision(instruction.Op == Opcode.Remainder, destination, args[0], args[1]);
                break;
            case Opcode.Equal or Opcode.NotEqual or Opcode.Less or Opcode.LessOrEqual or Opcode.Greater or Opcode.GreaterOrEqual:
                if (args[0].IsConstant && args[1].IsConstant) Move(destination, Loc.Imm(instruction.Op.Evaluate(args[0].Constant, args[1].Constant)));
                else SetCondition(destination, Compare(instruction.Op, LocOf(args[0]), LocOf(args[1])));
                break;
            case Opcode.LoadGlobal:
            {
                var work = Work(destination);
                DataAccess(Code.Mov_r64_rm64, work, _data.Global(instruction.Symbol!), instruction.Symbol!);
                Finish(destination, work);
                break;
            }
            case Opcode.StoreGlobal:
                EmitStoreGlobal(instruction, LocOf(args[0]));
                break;
            case Opcode.GlobalAddress or Opcode.StringAddress or Opcode.ImportAddress:
            {
                var work = Work(destination);
                var target = instruction.Op switch
                {
                    Opcode.GlobalAddress => _data.Global(instruction.Symbol!),
                    Opcode.StringAddress => _data.String(instruction.Symbol!),
                    _ => _data.ImportSlot(instruction.Symbol!),
                };
                DataAccess(instruction.Op == Opcode.ImportAddress ? Code.Mov_r64_rm64 : Code.Lea_r64_m, work, target, instruction.Symbol!);
                Finish(destination, work);
                break;
            }
            case Opcode.FunctionAddress:
            {
                var work = Work(destination);
                _asm.lea(new AssemblerRegister64(Register64(work)), AssemblerRegisters.__[_functionLabels[instruction.Symbol!]]);
                Finish(destination, work);
                break;
            }
            case Opcode.Alloca:
            {
                var work = Work(destination);
                Add(MachineInstruction.Create(Code.Lea_r64_m, Register64(work), Frame(-_allocaOffsets[instruction.Destination!.Value])));
                Finish(destination, work);
                break;
            }
            case Opcode.LoadWord or Opcode.LoadByte:
            {
                var work = Work(destination);
                var address = Address(args[0], args[1], instruction.Op == Opcode.LoadWord ? 8 : 1, out _);
                Add(instruction.Op == Opcode.LoadWord
                    ? MachineInstruction.Create(Code.Mov_r64_rm64, Register64(work), address)
                    : MachineInstruction.Create(Code.Movzx_r32_rm8, Register32(work), address));
                Finish(destination, work);
                break;
            }
            case Opcode.StoreWord or Opcode.StoreByte:
                EmitStore(instruction.Op == Opcode.StoreWord, args[0], args[1], LocOf(args[2]));
                break;
            case Opcode.Call or Opcode.CallImport or Opcode.CallIndirect:
                EmitCall(instruction, dead ? default : destination);
                break;
            default:
                throw new InvalidOperationException($"x64 backend has no lowering for {instruction.Op}");
        }
    }

    /// <summary>The register a result is computed in: its own register, or the scratch when it lives in memory.</summary>
    private static int Work(Loc destination) => destination.IsReg ? destination.Register : Scratch;

    private void Finish(Loc destination, int work)
    {
        if (!destination.Is(work)) Move(destination, Loc.Reg(work));
    }

    private void EmitArithmetic(Opcode op, Loc destination, Operand left, Operand right)
    {
        if (left.IsConstant && right.IsConstant)
        {
            Move(destination, Loc.Imm(op.Evaluate(left.Constant, right.Constant)));
            return;
        }
        var commutative = op is Opcode.Add or Opcode.Multiply or Opcode.And or Opcode.Or or Opcode.Xor;
        var a = LocOf(left);
        var b = LocOf(right);
        if (commutative && (a.IsImm || (b.IsReg && destination.Is(b.Register) && !a.IsImm))) (a, b) = (b, a);

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
        var alu = op switch
        {
            Opcode.Add => Alu.Add,
            Opcode.Subtract => Alu.Sub,
            Opcode.And => Alu.And,
            Opcode.Or => Alu.Or,
            Opcode.Xor => Alu.Xor,
            _ => (Alu?)null,
        };
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

    private void EmitShift(Opcode op, Loc destination, Operand left, Operand right)
    {
        if (left.IsConstant && right.IsConstant)
        {
            Move(destination, Loc.Imm(op.Evaluate(left.Constant, right.Constant)));
            return;
        }
        var a = LocOf(left);
        if (right.IsConstant)
        {
            var count = (int)(right.Constant & 63);
            var work = Work(destination);
            Load(work, a);
            if (count != 0)
                Add(MachineInstruction.Create(op == Opcode.ShiftLeft ? Code.Shl_rm64_imm8 : Code.Sar_rm64_imm8, Register64(work), count));
            Finish(destination, work);
            return;
        }
        // The count must be in cl; rcx holds nothing live across this instruction (the allocator saw to it).
        if (a.Is(Rcx))
        {
            MovRR(Scratch, Rcx);
            a = Loc.Reg(Scratch);
        }
        Load(Rcx, LocOf(right));
        var w = destination.IsReg && destination.Register != Rcx ? destination.Register : Scratch;
        Load(w, a);
        Add(MachineInstruction.Create(op == Opcode.ShiftLeft ? Code.Shl_rm64_CL : Code.Sar_rm64_CL, Register64(w), Register.CL));
        Finish(destination, w);
    }

    /// <summary>
    /// Total division: x / 0 = 0, x % 0 = 0, MIN / -1 = MIN, x % -1 = 0. One unsigned range check
    /// catches both special divisors (divisor + 1 ≤ 1); for them the quotient is x * divisor (0 or
    /// -x, wrapping) and the remainder 0. Quotient in rax, remainder in rdx.
    /// </summary>
    private void EmitDivision(bool remainder, Loc destination, Operand left, Operand right)
    {
        if (right.IsConstant && right.Constant is 0 or 1 or -1)
        {
            var divisor = right.Constant;
            if (remainder || divisor == 0) Move(destination, Loc.Imm(0));
            else if (divisor == 1) Move(destination, LocOf(left));
            else EmitNegate(destination, LocOf(left));
            return;
        }
        var a = LocOf(left);
        var b = LocOf(right);
        // The divisor must survive cqo (rdx) and loading the dividend (rax).
        int divisorRegister;
        if (b.IsReg && b.Register != Rax && b.Register != Rdx) divisorRegister = b.Register;
        else
        {
            Load(Scratch, b);
            divisorRegister = Scratch;
        }
        Load(Rax, a);
        var done = _asm.CreateLabel();
        if (!right.IsConstant)
        {
            var divide = _asm.CreateLabel();
            Add(MachineInstruction.Create(Code.Lea_r64_m, Register.R10, Memory(Register64(divisorRegister), 1)));
            Add(MachineInstruction.Create(Code.Cmp_rm64_imm8, Register.R10, 1));
            _asm.ja(divide);
            if (remainder) Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EDX, Register.EDX));
            else Add(MachineInstruction.Create(Code.Imul_r64_rm64, Register.RAX, Register64(divisorRegister)));
            _asm.jmp(done);
            PlaceLabel(ref divide);
        }
        Add(MachineInstruction.Create(Code.Cqo));
        Add(MachineInstruction.Create(Code.Idiv_rm64, Register64(divisorRegister)));
        if (!right.IsConstant) PlaceLabel(ref done);
        Move(destination, Loc.Reg(remainder ? Rdx : Rax));
    }

    private void EmitNegate(Loc destination, Loc value)
    {
        var work = Work(destination);
        Load(work, value);
        Add(MachineInstruction.Create(Code.Neg_rm64, Register64(work)));
        Finish(destination, work);
    }

    // ---- comparisons --------------------------------------------------------------------------

    private Condition Compare(Opcode op, Loc a, Loc b)
    {
        var condition = op switch
        {
            Opcode.Equal => Condition.Equal,
            Opcode.NotEqual => Condition.NotEqual,
            Opcode.Less => Condition.Less,
            Opcode.LessOrEqual => Condition.LessOrEqual,
            Opcode.Greater => Condition.Greater,
            _ => Condition.GreaterOrEqual,
        };
        if (a.IsImm)
        {
            (a, b) = (b, a);
            condition = Mirror(condition);
        }
        if (b.IsImm && b.Value == 0 && a.IsReg)
        {
            Add(MachineInstruction.Create(Code.Test_rm64_r64, Register64(a.Register), Register64(a.Register)));
            return condition;
        }
        if (a.IsMem && b.IsMem)
        {
            Load(Scratch, a);
            a = Loc.Reg(Scratch);
        }
        AluOp(Alu.Cmp, a, b);
        return condition;
    }

    private Condition CompareWithZero(Loc value)
    {
        if (value.IsReg) Add(MachineInstruction.Create(Code.Test_rm64_r64, Register64(value.Register), Register64(value.Register)));
        else AluOp(Alu.Cmp, value, Loc.Imm(0));
        return Condition.Equal;
    }

    private void EmitFusedCondition(Instruction instruction)
    {
        var args = instruction.Arguments;
        _pendingCondition = instruction.Op == Opcode.LogicalNot
            ? CompareWithZero(LocOf(args[0]))
            : Compare(instruction.Op, LocOf(args[0]), LocOf(args[1]));
    }

    private void SetCondition(Loc destination, Condition condition)
    {
        var work = Work(destination);
        Add(MachineInstruction.Create(condition switch
        {
            Condition.Equal => Code.Sete_rm8,
            Condition.NotEqual => Code.Setne_rm8,
            Condition.Less => Code.Setl_rm8,
            Condition.LessOrEqual => Code.Setle_rm8,
            Condition.Greater => Code.Setg_rm8,
            _ => Code.Setge_rm8,
        }, Register8(work)));
        Add(MachineInstruction.Create(Code.Movzx_r32_rm8, Register32(work), Register8(work)));
        Finish(destination, work);
    }

    private static Condition Mirror(Condition condition) => condition switch
    {
        Condition.Less => Condition.Greater,
        Condition.LessOrEqual => Condition.GreaterOrEqual,
        Condition.Greater => Condition.Less,
        Condition.GreaterOrEqual => Condition.LessOrEqual,
        _ => condition,
    };

    private static Condition Invert(Condition condition) => condition switch
    {
        Condition.Equal => Condition.NotEqual,
        Condition.NotEqual => Condition.Equal,
        Condition.Less => Condition.GreaterOrEqual,
        Condition.LessOrEqual => Condition.Greater,
        Condition.Greater => Condition.LessOrEqual,
        _ => Condition.Less,
    };

    private void JumpIf(Condition condition, Label target)
    {
        switch (condition)
        {
            case Condition.Equal: _asm.je(target); break;
            case Condition.NotEqual: _asm.jne(target); break;
            case Condition.Less: _asm.jl(target); break;
            case Condition.LessOrEqual: _asm.jle(target); break;
            case Condition.Greater: _asm.jg(target); break;
            default: _asm.jge(target); break;
        }
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <summary>
    /// [base + index*scale]: a constant index folds into the displacement when it fits; operands in
    /// memory are brought into r11 (base) and r10 (index). Reports the scratch registers it used.
    /// </summary>
    private MemoryOperand Address(Operand baseOperand, Operand indexOperand, int scale, out ulong scratchUsed)
    {
        scratchUsed = 0;
        var b = LocOf(baseOperand);
        var i = LocOf(indexOperand);
        long displacement = 0;
        var foldIndex = i.IsImm && i.Value is >= int.MinValue / 8 and <= int.MaxValue / 8;
        if (foldIndex) displacement = i.Value * scale;
        int baseRegister;
        if (b.IsReg) baseRegister = b.Register;
        else
        {
            Load(Scratch, b);
            baseRegister = Scratch;
            scratchUsed |= 1UL << Scratch;
        }
        if (foldIndex) return Memory(Register64(baseRegister), displacement);
        int indexRegister;
        if (i.IsReg) indexRegister = i.Register;
        else
        {
            Load(Scratch2, i);
            indexRegister = Scratch2;
            scratchUsed |= 1UL << Scratch2;
        }
        return new MemoryOperand(Register64(baseRegister), Register64(indexRegister), scale, 0, 0);
    }

    private void EmitStore(bool word, Operand baseOperand, Operand indexOperand, Loc value)
    {
        var address = Address(baseOperand, indexOperand, word ? 8 : 1, out var scratchUsed);
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

    private void EmitStoreGlobal(Instruction instruction, Loc value)
    {
        var target = _data.Global(instruction.Symbol!);
        if (value.Is32)
        {
            var memory = new MemoryOperand(Register.RIP, Register.None, 1, 0, 8);
            _dataReferences.Add(new DataReference(_asm.Instructions.Count, target.Section, target.Offset, instruction.Symbol));
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
        DataAccess(Code.Mov_rm64_r64, register, target, instruction.Symbol!);
    }

    /// <summary>An instruction with a RIP-relative operand on data; the displacement becomes a relocation.</summary>
    private void DataAccess(Code code, int register, (SectionKind Section, long Offset) target, string name)
    {
        var memory = new MemoryOperand(Register.RIP, Register.None, 1, 0, 8);
        _dataReferences.Add(new DataReference(_asm.Instructions.Count, target.Section, target.Offset, name));
        Add(code switch
        {
            Code.Mov_rm64_r64 => MachineInstruction.Create(code, memory, Register64(register)),
            Code.Call_rm64 => MachineInstruction.Create(code, memory),
            _ => MachineInstruction.Create(code, Register64(register), memory),
        });
    }

    // ---- calls --------------------------------------------------------------------------------

    private void EmitCall(Instruction instruction, Loc destination)
    {
        var indirect = instruction.Op == Opcode.CallIndirect;
        var arguments = indirect ? instruction.Arguments.AsSpan(1) : instruction.Arguments.AsSpan();
        var argumentRegisters = _registers.Arguments;
        var stackArguments = Math.Max(0, arguments.Length - argumentRegisters.Length);
        var padding = stackArguments % 2 == 1 ? 8 : 0;
        if (padding != 0) AluRI(Alu.Sub, Rsp, padding);
        for (var i = arguments.Length - 1; i >= argumentRegisters.Length; i--) Push(LocOf(arguments[i]));

        // The callee first, into r11: the argument moves below may overwrite its register.
        if (indirect) Load(Scratch, LocOf(instruction.Arguments[0]));

        var registerCount = Math.Min(arguments.Length, argumentRegisters.Length);
        Span<int> destinations = stackalloc int[registerCount];
        Span<int> sources = stackalloc int[registerCount];
        var moves = 0;
        for (var i = 0; i < registerCount; i++)
        {
            var source = LocOf(arguments[i]);
            if (!source.IsReg) continue;
            destinations[moves] = argumentRegisters[i];
            sources[moves] = source.Register;
            moves++;
        }
        ParallelMove.Sequence(destinations[..moves], sources[..moves], Scratch2, MovRR);
        for (var i = 0; i < registerCount; i++)
        {
            var source = LocOf(arguments[i]);
            if (!source.IsReg) Load(argumentRegisters[i], source);
        }

        switch (instruction.Op)
        {
            case Opcode.Call when _calleeExits.TryGetValue(instruction.Symbol!, out var exit):
            {
                // The callee's early exit, tested here: rax = its value (rax is the call's to clobber), skip the call when it holds.
                var skip = _asm.CreateLabel();
                Load(Rax, OnEntry(exit.Value));
                var comparison = exit.Comparison;
                var condition = comparison.Op == Opcode.LogicalNot
                    ? CompareWithZero(OnEntry(comparison.Arguments[0]))
                    : Compare(comparison.Op, OnEntry(comparison.Arguments[0]), OnEntry(comparison.Arguments[1]));
                JumpIf(exit.ExitWhenTrue ? condition : Invert(condition), skip);
                _asm.call(_functionLabels[instruction.Symbol!]);
                PlaceLabel(ref skip);
                break;
            }
            case Opcode.Call:
                _asm.call(_functionLabels[instruction.Symbol!]);
                break;
            case Opcode.CallImport:
                // al = number of vector registers of a variadic call: always 0 here.
                Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EAX, Register.EAX));
                DataAccess(Code.Call_rm64, Rax, _data.ImportSlot(instruction.Symbol!), instruction.Symbol!);
                break;
            default:
                Add(MachineInstruction.Create(Code.Xor_r32_rm32, Register.EAX, Register.EAX));
                Add(MachineInstruction.Create(Code.Call_rm64, Register.R11));
                break;
        }
        var cleanup = 8 * stackArguments + padding;
        if (cleanup != 0) AluRI(Alu.Add, Rsp, cleanup);
        if (destination.Kind != OperandKind.None) Move(destination, Loc.Reg(_registers.Return));
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

    // ---- terminators --------------------------------------------------------------------------

    private void EmitTerminator(BasicBlock block, int next)
    {
        switch (block.Terminator)
        {
            case Jump or Branch { Condition.IsConstant: true }:
                JumpTo(IndexOf(UnconditionalTarget(block.Terminator)!), next);
                break;
            case Branch branch:
            {
                var condition = _fused[branch.Condition.Register.Index]
                    ? _pendingCondition
                    : Invert(CompareWithZero(LocOf(branch.Condition)));
                var ifTrue = _resolved[IndexOf(branch.IfTrue)];
                var ifFalse = _resolved[IndexOf(branch.IfFalse)];
                if (ifTrue == next)
                {
                    JumpIf(Invert(condition), _blockLabels[ifFalse]);
                }
                else
                {
                    JumpIf(condition, _blockLabels[ifTrue]);
                    if (ifFalse != next) _asm.jmp(_blockLabels[ifFalse]);
                }
                break;
            }
            case Return ret:
                Load(_registers.Return, LocOf(ret.Value));
                EmitEpilogue();
                break;
            default:
                throw new InvalidOperationException($"unknown terminator {block.Terminator}");
        }
    }

    private void JumpTo(int block, int next)
    {
        var target = _resolved[block];
        if (target != next) _asm.jmp(_blockLabels[target]);
    }

    private Dictionary<BasicBlock, int>? _positions;

    private int IndexOf(BasicBlock block)
    {
        if (_positions is null)
        {
            _positions = new Dictionary<BasicBlock, int>(_function.Blocks.Count);
            for (var b = 0; b < _function.Blocks.Count; b++) _positions.Add(_function.Blocks[b], b);
        }
        return _positions[block];
    }

    // ---- moves and operands -------------------------------------------------------------------

    private void Add(MachineInstruction instruction) => _asm.AddInstruction(instruction);

    private void MovRR(int destination, int source)
    {
        if (destination != source) Add(MachineInstruction.Create(Code.Mov_r64_rm64, Register64(destination), Register64(source)));
    }

    private void Store(Loc destination, int register) =>
        Add(MachineInstruction.Create(Code.Mov_rm64_r64, Frame(destination.Offset), Register64(register)));

    /// <summary>register = value (a register, a frame word or a constant, materialised in the shortest form).</summary>
    private void Load(int register, Loc value)
    {
        switch (value.Kind)
        {
            case OperandKind.Register:
                MovRR(register, value.Register);
                break;
            case OperandKind.Memory:
                Add(MachineInstruction.Create(Code.Mov_r64_rm64, Register64(register), Frame(value.Offset)));
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
    private void Move(Loc destination, Loc value)
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
            else Add(MachineInstruction.Create(rrm, register, Frame(value.Offset)));
            return;
        }
        var memory = Frame(destination.Offset);
        if (value.IsMem)
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
        : MachineInstruction.Create(code, Register64(register), Frame(value.Offset));

    private MachineInstruction CreateRmImm(Code code, int register, Loc value, int immediate) => value.IsReg
        ? MachineInstruction.Create(code, Register64(register), Register64(value.Register), immediate)
        : MachineInstruction.Create(code, Register64(register), Frame(value.Offset), immediate);

    /// <summary>A frame word: rbp-relative with a frame pointer, else rsp-relative (rsp does not move within such a body).</summary>
    private MemoryOperand Frame(int offset) => Memory(_framePointer ? Register.RBP : Register.RSP, offset);

    private static MemoryOperand Memory(Register baseRegister, long displacement) =>
        new(baseRegister, Register.None, 1, displacement, displacement == 0 ? 0 : displacement is >= sbyte.MinValue and <= sbyte.MaxValue ? 1 : 8);
}
