using System.Runtime.InteropServices;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>How a function's values get their locations.</summary>
internal enum AllocationStrategy
{
    /// <summary>O0: every virtual register in its own frame slot (<see cref="SlotAllocator"/>).</summary>
    Slots,

    /// <summary>O1: graph colouring (<see cref="GraphColouringAllocator"/>).</summary>
    Registers,
}

/// <summary>
/// The ISA-neutral code generator for one function: everything but the instructions themselves,
/// which a <see cref="MachineEmitter"/> produces. Requires terminated blocks with no unreachable ones.
/// <list type="number">
/// <item>Plan: liveness, the comparisons fused into the branch after them (no register, flags
/// only), allocation (registers at O1, a slot per value at O0), the frame facts, the
/// <see cref="EarlyExit"/> tested before the prologue, and which blocks need code at all
/// (blocks that reduce to a jump are threaded).</item>
/// <item>Emit: the early exit, the prologue, the parameter moves (one parallel move), then every
/// block in order: its instructions (pure ones whose result is dead and copies between equal
/// locations vanish; constant operands are folded) and its terminator (fall-through where possible).</item>
/// <item>Calls: stack arguments, then register arguments as one parallel move; a callee's early
/// exit is tested at its direct call sites where the machine allows it.</item>
/// </list>
/// Listing marks (function, block, IR instruction) are recorded at the machine's positions.
/// </summary>
internal sealed class FunctionEmitter
{
    private readonly MachineEmitter _machine;
    private readonly IrFunction _function;
    private readonly IReadOnlyList<int> _functionLabels;
    private readonly IReadOnlyDictionary<string, int> _functionIndex;
    private readonly DataLayout _data;
    private readonly ListingRecorder? _listing;
    private readonly AllocationStrategy _strategy;
    private RegisterFile _registers;
    private readonly IReadOnlyDictionary<string, EarlyExit> _calleeExits;

    private Liveness _liveness = null!;
    private Allocation _allocation = null!;
    private BitSet _fused = null!;
    private BitSet _foldableLoads = null!;
    private int _foldedRegister = -1;
    private BitSet _readModifyWrites = null!;
    private int _skipped2;
    private Loc _foldedLoad;
    private int[] _blockLabels = [];
    private int[] _resolved = [];
    private bool[] _skipped = [];
    private bool[] _loopHeader = [];
    private Condition _pendingCondition;
    private EarlyExit? _earlyExit;
    private int[] _region = [];          // blocks emitted before the prologue (PlanRegion), the first the entry's
    private bool[] _inRegion = [];
    private int _regionContinue = -1;    // where every edge out of the region goes, through the prologue
    private bool _beforePrologue;        // parameters are read from the argument registers; returns save nothing
    private int _regionLeading;          // the region's first blocks that lead on (the rest only return)
    private int[] _regionLabels = [];
    private int _prologueLabel;
    private ulong _regionForbidden;

    /// <param name="functionLabels">The entry label of every function of the module, by index in <paramref name="functionIndex"/>.</param>
    /// <param name="calleeExits">The functions of the module with an <see cref="EarlyExit"/>, tested at their direct call sites.</param>
    public FunctionEmitter(MachineEmitter machine, IrFunction function, IReadOnlyList<int> functionLabels, IReadOnlyDictionary<string, int> functionIndex,
        DataLayout data, ListingRecorder? listing, AllocationStrategy strategy, IReadOnlyDictionary<string, EarlyExit> calleeExits)
    {
        _machine = machine;
        _function = function;
        _functionLabels = functionLabels;
        _functionIndex = functionIndex;
        _data = data;
        _listing = listing;
        _strategy = strategy;
        _registers = machine.Target.Registers;
        _calleeExits = calleeExits;
    }

    private int FunctionLabel(string name) => _functionLabels[_functionIndex[name]];

    /// <summary>
    /// Emits every function of the module in order through <paramref name="machine"/> (O0: a slot
    /// per value; O1: registers, and early exits tested at call sites where the machine allows);
    /// returns each function's entry label, in the module's order.
    /// </summary>
    public static IReadOnlyList<int> EmitModule(MachineEmitter machine, IrModule module, DataLayout data, ListingRecorder? listing, OptimisationLevel level,
        Action? checkBudget = null)
    {
        var plan = new ModulePlan(machine, module, level);
        foreach (var function in module.Functions)
        {
            checkBudget?.Invoke();
            plan.Emit(machine, function, data, listing);
        }
        return plan.FunctionLabels;
    }

    /// <summary>
    /// What every function's code reads of the module: entry labels, the allocation strategy,
    /// callees' early exits. Made before any function is emitted; a function's early exit is found
    /// from its final IR, all at once (<paramref name="findExits"/>) or as each function is finished
    /// (<see cref="AddEarlyExit"/>, which may run on other threads while functions are emitted).
    /// </summary>
    internal sealed class ModulePlan
    {
        private readonly Dictionary<string, int> _functionIndex = new(StringComparer.Ordinal);
        private readonly AllocationStrategy _strategy;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, EarlyExit> _earlyExits = new(StringComparer.Ordinal);
        private readonly bool _findsExits;
        private readonly int _registerArguments;
        private readonly int _count;

        public ModulePlan(MachineEmitter machine, IrModule module, OptimisationLevel level, bool findExits = true)
        {
            _count = module.Functions.Count;
            foreach (var function in module.Functions) _functionIndex.Add(function.Name, _functionIndex.Count);
            MakeFunctionLabels(machine);
            _strategy = level == OptimisationLevel.O0 ? AllocationStrategy.Slots : AllocationStrategy.Registers;
            _findsExits = _strategy == AllocationStrategy.Registers && machine.TestsEarlyExitsAtCallSites;
            _registerArguments = machine.Target.Registers.Arguments.Length;
            if (findExits)
                foreach (var function in module.Functions) AddEarlyExit(function);
        }

        /// <summary>Records the finished function's early exit, if it has one (before any caller is emitted).</summary>
        public void AddEarlyExit(IrFunction function)
        {
            // The first test only, and only a comparison (fib's n < 2, which holds for about half the
            // calls): a whole chain, or a parameter's zero test (a base case of one value), at every
            // call site would cost more code and time than the calls it skips.
            if (_findsExits && EarlyExit.Find(function, _registerArguments) is { Tests: [{ Comparison: not null }, ..] } exit) _earlyExits[function.Name] = exit;
        }

        /// <summary>Each function's entry label, in module order: the same numbers on every machine.</summary>
        public List<int> FunctionLabels { get; } = new();

        /// <summary>A machine's first labels are the functions' entries (before it emits anything).</summary>
        public void MakeFunctionLabels(MachineEmitter machine)
        {
            for (var i = 0; i < _count; i++)
            {
                var label = machine.NewLabel();
                if (FunctionLabels.Count == i) FunctionLabels.Add(label);
                else if (FunctionLabels[i] != label) throw new InvalidOperationException("machines number function labels differently");
            }
        }

        public void Emit(MachineEmitter machine, IrFunction function, DataLayout data, ListingRecorder? listing) =>
            new FunctionEmitter(machine, function, FunctionLabels, _functionIndex, data, listing, _strategy, _earlyExits)
                .Emit(FunctionLabels[_functionIndex[function.Name]]);
    }

    /// <summary>Emits the function, placing <paramref name="entry"/> at its first instruction.</summary>
    public void Emit(int entry)
    {
        _machine.BeginFunction(entry);
        _liveness = Liveness.Compute(_function);
        (_fused, _foldableLoads) = FusedComparisonsAndFoldableLoads();
        var shape = FrameShape();
        if (_strategy == AllocationStrategy.Registers) _registers = _machine.RegistersFor(shape);
        _allocation = _strategy == AllocationStrategy.Slots
            ? SlotAllocator.Allocate(_function)
            : GraphColouringAllocator.Allocate(_function, _liveness, _machine.Target, _fused, _registers);
        _machine.LayOutFrame(shape with
        {
            SavedRegisters = SavedRegisters(), SlotCount = _allocation.SlotCount, ReadsStackParameters = ReadsStackParameters(allocated: true),
        });
        if (_strategy == AllocationStrategy.Registers) PlanEarlyExit();
        PlanBlocks();

        _listing?.Mark(_machine.Position, ListingMarkKind.Function, _function.Name, _function.Location);
        _machine.PlaceLabel(entry);
        var emittedBefore = _machine.Position;
        if (_region.Length > 0) EmitRegion(entry);
        else EmitEarlyExit();
        _machine.Prologue();
        EmitParameterMoves();
        var start = _region.Length > 0 ? _regionContinue : _resolved[0];
        var first = FirstEmittedBlock();
        var entryBlock = -1;
        if (_machine.Position == emittedBefore && first == start)
        {
            // Nothing precedes the first block: it starts at the function's own label (one label per place).
            entryBlock = first;
            for (var b = 0; b < _blockLabels.Length; b++)
                if (_resolved[b] == first) _blockLabels[b] = entry;
        }
        else if (first != start)
        {
            _machine.Jump(_blockLabels[start]);
        }

        var blocks = _function.Blocks;
        for (var b = 0; b < blocks.Count; b++)
        {
            if (_skipped[b] || _inRegion[b]) continue;
            EmitBlock(b, NextEmitted(b), placeLabel: b != entryBlock);
        }
        EmitRegionReturns();
        _machine.EndFunction();
    }

    /// <summary>The block's label (unless it starts at the function's), its instructions and its terminator.</summary>
    private void EmitBlock(int b, int next, bool placeLabel)
    {
        var block = _function.Blocks[b];
        _listing?.Mark(_machine.Position, ListingMarkKind.Block, block.Name, Diagnostics.SourceLocation.None);
        if (placeLabel)
        {
            if (_loopHeader[b]) _machine.PlaceLoopHeader(_blockLabels[b]);
            else _machine.PlaceLabel(_blockLabels[b]);
        }
        var sibling = SiblingCall(block);
        for (var i = 0; i < block.Instructions.Count; i++)
        {
            var instruction = block.Instructions[i];
            _listing?.Mark(_machine.Position, ListingMarkKind.Instruction, instruction.ToString(), instruction.Location);
            if (_skipped2 > 0)
            {
                _skipped2--;   // the operation and the store of a read-modify-write its load emitted
                continue;
            }
            if (instruction == sibling)
            {
                EmitCall(instruction, default, tail: true);
                break;   // only the copies of its result follow, and the return
            }
            if (instruction.Op is Opcode.LoadWord or Opcode.LoadByte && TryReadModifyWrite(block, i)) continue;
            if (instruction.Op is Opcode.Divide or Opcode.Remainder && TryDivideWithRemainder(block, b, i))
            {
                _skipped2 = 1;   // the other of the pair
                continue;
            }
            var folded = _foldedRegister;
            EmitInstruction(instruction, _allocation.IsDeadDefinition(b, i));
            if (folded >= 0) _foldedRegister = -1;   // its one reader has read it
        }
        _listing?.Mark(_machine.Position, ListingMarkKind.Instruction, block.Terminator!.ToString(), Diagnostics.SourceLocation.None);
        if (sibling is null) EmitTerminator(block, next);
        _foldedRegister = -1;
    }

    // ---- planning -----------------------------------------------------------------------------

    /// <summary>
    /// A comparison (or not, or a bitwise and: a flag or tag test) whose result is read only by the
    /// branch right after it, and written nowhere else, needs no register: it becomes flags for a
    /// conditional jump (an and becomes a test of the bits, x86 test / AArch64 tst).
    /// Also the loads the machine may fold into their one reader (<see cref="FoldableLoads"/>).
    /// </summary>
    private (BitSet Fused, BitSet FoldableLoads) FusedComparisonsAndFoldableLoads()
    {
        var fused = new BitSet(_function.RegisterCount);
        var reads = Scratch<int>.Rent(_function.RegisterCount);   // rented: per function, per compilation
        var writes = Scratch<int>.Rent(_function.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(_function.Blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                foreach (var operand in instruction.Arguments)
                    if (!operand.IsConstant) reads[operand.Register.Index]++;
                if (instruction.Destination is { } d) writes[d.Index]++;
            }
            if (Liveness.TerminatorOperand(block.Terminator!) is { IsConstant: false } value) reads[value.Register.Index]++;
        }
        bool Fusable(Instruction producer, Operand condition)
        {
            if (condition.IsConstant || producer.Destination != condition.Register) return false;
            var v = condition.Register.Index;
            if (reads[v] != 1 || writes[v] != 1) return false;
            return producer.Op.IsComparison() || producer.Op == Opcode.And
                ? !(producer.Arguments[0].IsConstant && producer.Arguments[1].IsConstant)
                : producer.Op == Opcode.LogicalNot && !producer.Arguments[0].IsConstant;
        }
        foreach (var block in CollectionsMarshal.AsSpan(_function.Blocks))
        {
            var instructions = block.Instructions;
            // A select's condition made right before it: the flags choose (cmov/csel), as a branch's do.
            for (var i = 1; i < instructions.Count; i++)
                if (instructions[i].Op == Opcode.Select && Fusable(instructions[i - 1], instructions[i].Arguments[0]))
                    fused.Add(instructions[i].Arguments[0].Register.Index);
            if (block.Terminator is not Branch branch || instructions.Count == 0) continue;
            if (Fusable(instructions[^1], branch.Condition)) fused.Add(branch.Condition.Register.Index);
        }
        _readModifyWrites = ReadModifyWrites(reads, writes);
        var foldable = FoldableLoads(reads, writes, fused);
        Scratch<int>.Return(reads);
        Scratch<int>.Return(writes);
        return (fused, foldable);
    }

    /// <summary>
    /// A load, an Add/Subtract/And/Or/Xor of its value (the load first for Subtract) and a store of
    /// the result to the same address, in three consecutive instructions, each value read only by
    /// the next: one read-modify-write instruction on a machine that <see cref="MachineEmitter.FoldsLoads"/>.
    /// The set holds the load's destination.
    /// </summary>
    private BitSet ReadModifyWrites(int[] reads, int[] writes)
    {
        var found = new BitSet(_function.RegisterCount);
        if (!_machine.FoldsLoads || _strategy != AllocationStrategy.Registers) return found;
        bool Once(VReg v) => reads[v.Index] == 1 && writes[v.Index] == 1;
        foreach (var block in CollectionsMarshal.AsSpan(_function.Blocks))
        {
            var instructions = block.Instructions;
            for (var i = 0; i + 2 < instructions.Count; i++)
            {
                if (instructions[i] is not { Op: Opcode.LoadWord or Opcode.LoadByte, Destination: { } x } load || !Once(x)) continue;
                if (instructions[i + 1] is not { Op: Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor, Destination: { } y } operation || !Once(y)) continue;
                var arguments = operation.Arguments;
                var first = !arguments[0].IsConstant && arguments[0].Register == x;
                if (!first && (operation.Op == Opcode.Subtract || arguments[1].IsConstant || arguments[1].Register != x)) continue;
                var store = instructions[i + 2];
                if (store.Op != (load.Op == Opcode.LoadWord ? Opcode.StoreWord : Opcode.StoreByte)) continue;
                var (address, index) = (load.Arguments[0], load.Arguments[1]);
                if (!store.Arguments[0].Equals(address) || !store.Arguments[1].Equals(index) || !store.Arguments[2].Equals(Operand.Of(y))) continue;
                if (Optimisation.AddressFolding.Displacement(store) != Optimisation.AddressFolding.Displacement(load)) continue;
                // y is a new value: it must not be (and so change) the address the store reuses.
                if (address.Equals(Operand.Of(y)) || index.Equals(Operand.Of(y))) continue;
                found.Add(x.Index);
            }
        }
        return found;
    }

    /// <summary>Emits a read-modify-write planned by <see cref="ReadModifyWrites"/> when the address allows it; true when done.</summary>
    private bool TryReadModifyWrite(BasicBlock block, int at)
    {
        var load = block.Instructions[at];
        if (!_readModifyWrites[load.Destination!.Value.Index] || !TryFoldLoad(load, force: true)) return false;
        var operation = block.Instructions[at + 1];
        var arguments = operation.Arguments;
        var other = !arguments[0].IsConstant && arguments[0].Register.Index == _foldedRegister ? arguments[1] : arguments[0];
        var value = LocOf(other);
        _foldedRegister = -1;
        if (!_foldedLoad.IsWord && !(value.IsReg || value.IsImm)) return false;
        _machine.ReadModifyWrite(operation.Op, _foldedLoad, value);
        _skipped2 = 2;
        return true;
    }

    /// <summary>
    /// Loads whose value is written once and read once, by the very next instruction (or the
    /// block's branch), in a use the machine takes a memory operand for (<see cref="MachineEmitter.FoldsLoads"/>):
    /// a word into a move, a comparison, a test or Add/Subtract/And/Or/Xor/Multiply; a byte (it is
    /// zero-extended, the machine's byte operand is not) into a move, a test against zero, or an
    /// equality or bit test against a constant 0-255. Nothing runs between the load and its reader,
    /// so no store can come between them. Whether the address's registers allow it is decided when
    /// the load is emitted.
    /// </summary>
    private BitSet FoldableLoads(int[] reads, int[] writes, BitSet fused)
    {
        var foldable = new BitSet(_function.RegisterCount);
        if (!_machine.FoldsLoads || _strategy != AllocationStrategy.Registers) return foldable;
        foreach (var block in CollectionsMarshal.AsSpan(_function.Blocks))
        {
            var instructions = block.Instructions;
            for (var i = 0; i < instructions.Count; i++)
            {
                if (instructions[i] is not { Op: Opcode.LoadWord or Opcode.LoadByte, Destination: { } v } load) continue;
                if (reads[v.Index] != 1 || writes[v.Index] != 1) continue;
                var word = load.Op == Opcode.LoadWord;
                bool ok;
                if (i + 1 == instructions.Count)
                    ok = block.Terminator is Branch { Condition: { IsConstant: false } condition } && condition.Register == v;
                else
                {
                    var user = instructions[i + 1];
                    var arguments = user.Arguments;
                    var at = 0;
                    while (at < arguments.Length && (arguments[at].IsConstant || arguments[at].Register != v)) at++;
                    if (at == arguments.Length) continue;
                    var other = arguments.Length == 2 ? arguments[1 - at] : default;
                    var smallConstant = arguments.Length == 2 && other.IsConstant && other.Constant is >= 0 and <= 255;
                    ok = user.Op switch
                    {
                        Opcode.Copy or Opcode.LogicalNot => true,
                        Opcode.Select => at == 0,   // its condition: a test of the memory against zero
                        Opcode.Equal or Opcode.NotEqual => word || smallConstant,
                        Opcode.And when user.Destination is { } d && fused[d.Index] => word || smallConstant,
                        _ when user.Op.IsComparison() => word,
                        Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Multiply => word,
                        _ => false,
                    };
                }
                if (ok) foldable.Add(v.Index);
            }
        }
        return foldable;
    }

    /// <summary>The load as an operand of its reader, when the address is registers and a disp32 (no scratch register needed).</summary>
    private bool TryFoldLoad(Instruction load, bool force = false)
    {
        var v = load.Destination!.Value;
        if (!force && !_foldableLoads[v.Index]) return false;
        var args = load.Arguments;
        var (address, index) = (LocOf(args[0]), LocOf(args[1]));
        if (!address.IsReg || !(index.IsReg || index.IsImm)) return false;
        var word = load.Op == Opcode.LoadWord;
        var scale = word ? 8 : 1;
        var displacement = args.Length > 2 ? args[2].Constant : 0;
        if (index.IsImm)
        {
            if (index.Value is < int.MinValue or > int.MaxValue) return false;
            displacement += index.Value * scale;
        }
        if (displacement is < int.MinValue or > int.MaxValue) return false;
        _foldedLoad = Loc.Indexed(address.Register, index.IsReg ? index.Register : -1, scale, (int)displacement, word);
        _foldedRegister = v.Index;
        return true;
    }

    /// <summary>The callee-saved registers the allocation used, in allocation order.</summary>
    private int[] SavedRegisters()
    {
        var calleeSaved = _allocation.UsedRegisters & _registers.CalleeSaved;
        var saved = new List<int>();
        foreach (var r in _registers.Allocatable)
            if ((calleeSaved & (1UL << r)) != 0) saved.Add(r);
        return saved.ToArray();
    }

    /// <summary>How the body uses the stack, known from the IR before allocation (no saved registers or slots yet).</summary>
    private FrameFacts FrameShape()
    {
        var blocks = new List<(VReg, long)>();
        foreach (var instruction in CollectionsMarshal.AsSpan(_function.Blocks[0].Instructions))
            if (instruction.Op == Opcode.Alloca) blocks.Add((instruction.Destination!.Value, instruction.Arguments[0].Constant));
        var hasCalls = false;
        var maxStackArguments = 0;
        foreach (var block in CollectionsMarshal.AsSpan(_function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                // A sibling call leaves the frame first: on its own it needs none (the callee gets our entry state).
                if (!instruction.Op.IsCall() || instruction == SiblingCall(block)) continue;
                hasCalls = true;
                var arguments = instruction.Arguments.Length - (instruction.Op == Opcode.CallIndirect ? 1 : 0);
                maxStackArguments = Math.Max(maxStackArguments, arguments - RegisterArgumentCount(instruction, arguments));
            }
        return new FrameFacts([], 0, blocks, hasCalls, ReadsStackParameters(allocated: false), maxStackArguments);
    }

    /// <summary>A parameter beyond the argument registers is received (before allocation: is live on entry, an upper bound).</summary>
    private bool ReadsStackParameters(bool allocated)
    {
        for (var p = _registers.Arguments.Length; p < _function.ParameterCount; p++)
            if (allocated ? ReceivesParameter(p) : _liveness.IsLiveAtEntry(p)) return true;
        return false;
    }

    /// <summary>
    /// The direct call whose result the block returns, when it can leave as a jump instead (a
    /// sibling call, as gcc's -foptimize-sibling-calls): the callee then returns straight to our
    /// caller, so mutual recursion runs in constant stack. Only with registers allocated, every
    /// argument in a register (stack arguments would overwrite the caller's frame) and no alloca
    /// (its address may reach the callee, and the frame is gone before the callee runs).
    /// </summary>
    private Instruction? SiblingCall(BasicBlock block)
    {
        if (_strategy != AllocationStrategy.Registers || block.Terminator is not Return { Value.IsConstant: false } ret) return null;
        // Walk back from the return through the copies that carry the result (SSA destruction leaves one).
        var returned = ret.Value.Register;
        var at = block.Instructions.Count - 1;
        while (at >= 0 && block.Instructions[at] is { Op: Opcode.Copy, Arguments: [{ IsConstant: false } source] } copy && copy.Destination == returned)
        {
            returned = source.Register;
            at--;
        }
        if (at < 0) return null;
        var call = block.Instructions[at];
        if (call.Op != Opcode.Call || call.Destination != returned) return null;
        if (RegisterArgumentCount(call, call.Arguments.Length) != call.Arguments.Length) return null;
        _hasAlloca ??= _function.Blocks[0].Instructions.Exists(i => i.Op == Opcode.Alloca);
        return _hasAlloca.Value ? null : call;
    }

    private bool? _hasAlloca;
    private Action<int, int>? _moveRegister;   // one delegate per function, not one per call site

    /// <summary>The parameter is read before it is written: it must be moved from where the caller put it.</summary>
    private bool ReceivesParameter(int parameter) =>
        _liveness.IsLiveAtEntry(parameter) && _allocation.Locations[parameter].Kind != LocationKind.None;

    /// <summary>Blocks whose code reduces to nothing but a jump are threaded: jumps to them go to where they lead.</summary>
    private void PlanBlocks()
    {
        var blocks = _function.Blocks;
        var count = blocks.Count;
        var empty = new bool[count];
        var target = new int[count];
        for (var b = 0; b < count; b++)
        {
            target[b] = -1;
            var jumpTarget = UnconditionalTarget(blocks[b].Terminator!);
            if (jumpTarget is null) continue;
            target[b] = jumpTarget.Index;
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
        _inRegion = new bool[count];
        if (_strategy == AllocationStrategy.Registers && _machine.HasFrame) PlanRegion();
        // The region holds the early exit's tests; where it holds nothing more, the early exit's layout stays.
        if (_region.Length > 0 && _earlyExit is { } found && _regionLeading <= found.Tests.Count) ClearRegion();
        if (_region.Length > 0) _earlyExit = null;
        if (_earlyExit is { } exit)
        {
            // The tests ran before the prologue: after it, on to where the last one continues.
            foreach (var test in exit.Tests)
            {
                _resolved[test.Block.Index] = _resolved[exit.Continue.Index];
                _skipped[test.Block.Index] = true;
            }
            // Blocks only the early exit's path reached are no longer reachable at all.
            var reached = new bool[count];
            var work = new Stack<int>();
            work.Push(exit.Continue.Index);
            reached[work.Peek()] = true;
            while (work.Count > 0)
                foreach (var successor in blocks[work.Pop()].Successors)
                    if (!reached[successor.Index])
                    {
                        reached[successor.Index] = true;
                        work.Push(successor.Index);
                    }
            for (var b = 0; b < count; b++)
                if (!reached[b]) _skipped[b] = true;
        }
        _loopHeader = _strategy == AllocationStrategy.Registers ? LoopHeaders(_resolved[0]) : new bool[count];
        _blockLabels = new int[count];
        for (var b = 0; b < count; b++)
            if (!_skipped[b]) _blockLabels[b] = _machine.NewLabel();
        for (var b = 0; b < count; b++)
            if (_skipped[b]) _blockLabels[b] = _blockLabels[_resolved[b]];
    }

    /// <summary>
    /// Where each loop starts in the emitted order, which a machine may align: a depth-first walk
    /// from <paramref name="start"/> (over the blocks jumps really reach) finds each loop's back
    /// edge, a branch to a block still on the walk's path. Every block on the path from that block
    /// to the branch is in the loop (reached from its target, reaching its source), so the first
    /// of them in the emitted order is the top of the loop: the header, or the latch of a loop whose
    /// test was placed after its body, or a body block placed before a loop entered in its middle
    /// (the top, not a block the loop falls into, gets the padding: nops there run once per entry,
    /// not once per trip). A block reached backwards that is in no loop (an exit placed out of line)
    /// is not one. The path is looked at back at most <see cref="MaxTopSearch"/> blocks (then the
    /// earlier of the back edge's two ends), so the walk stays linear.
    /// </summary>
    private bool[] LoopHeaders(int start)
    {
        var blocks = _function.Blocks;
        var headers = new bool[blocks.Count];
        var state = new byte[blocks.Count];   // 0 unseen, 1 on the walk's path, 2 done
        var depth = new int[blocks.Count];    // a block's place on the path while it is on it
        var path = new List<(int Block, int Next)>();
        path.Add((start, 0));
        state[start] = 1;
        while (path.Count > 0)
        {
            var (block, next) = path[^1];
            if (next < FlowGraph.SuccessorCount(blocks[block]))
            {
                path[^1] = (block, next + 1);
                var successor = _resolved[FlowGraph.Successor(blocks[block], next).Index];
                if (state[successor] == 1)
                {
                    var top = Math.Min(successor, block);
                    if (path.Count - depth[successor] <= MaxTopSearch)
                        for (var i = depth[successor]; i < path.Count; i++) top = Math.Min(top, path[i].Block);
                    headers[top] = true;
                }
                else if (state[successor] == 0)
                {
                    state[successor] = 1;
                    depth[successor] = path.Count;
                    path.Add((successor, 0));
                }
                continue;
            }
            state[block] = 2;
            path.RemoveAt(path.Count - 1);
        }
        return headers;
    }

    /// <summary>The most blocks of the walk's path a back edge looks at for the loop's top.</summary>
    private const int MaxTopSearch = 64;

    /// <summary>
    /// Shrink-wrapping, the simple sound case (fib's <c>n &lt; 2</c>, see <see cref="EarlyExit"/>):
    /// the early paths need no frame, no callee-saved register and no parameter move, so the tests
    /// run on the argument registers before the prologue and an exit returns at once. Their blocks
    /// (each only a comparison fused into its branch, or a branch on a parameter) are then not
    /// emitted again; after the prologue the code goes on to where the last test continues.
    /// </summary>
    private void PlanEarlyExit()
    {
        if (!_machine.HasFrame) return; // nothing to save on any path
        if (EarlyExit.Find(_function, _registers.Arguments.Length) is not { } exit) return;
        // A comparison whose value is read elsewhere too must stay in its block: the chain ends before it.
        var usable = 0;
        while (usable < exit.Tests.Count && (exit.Tests[usable].Comparison is null || _fused[exit.Tests[usable].Condition.Register.Index])) usable++;
        if (usable == 0) return;
        _earlyExit = usable == exit.Tests.Count ? exit : new EarlyExit(exit.Tests.Take(usable).ToList(), exit.Tests[usable - 1].Continue);
    }

    /// <summary>Longer regions are not searched: the test of each prefix walks it.</summary>
    private const int MaxRegionBlocks = 48;

    /// <summary>
    /// Shrink-wrapping beyond parameter tests: the blocks from the entry whose code needs no frame
    /// (no call, no frame block, no spill slot, no callee-saved register, no stack parameter) run
    /// before the prologue, reading the parameters from the argument registers; their returns
    /// return at once, and every edge that leaves them goes to one block through the prologue and
    /// the parameter moves (gc_mark_and_trace's already-marked test after a load, a list walk
    /// before the call that needs the frame). Their values keep the registers the allocation gave
    /// them, so only registers the prologue and the parameter moves leave alone may be written:
    /// caller-saved ones that are neither the argument register of a parameter moved elsewhere nor
    /// a moved parameter's home; nothing outside jumps into them. The region is the longest prefix
    /// of a breadth-first walk over such blocks with one way out and a return.
    /// </summary>
    private void PlanRegion()
    {
        var blocks = _function.Blocks;
        var arguments = _registers.Arguments;
        var forbidden = _registers.CalleeSaved;
        for (var p = 0; p < _function.ParameterCount; p++)
        {
            if (!ReceivesParameter(p)) continue;
            var home = _allocation.Locations[p];
            if (home.IsRegister && p < arguments.Length && home.Index == arguments[p]) continue;
            if (home.IsRegister) forbidden |= 1UL << home.Index;
            if (p < arguments.Length) forbidden |= 1UL << arguments[p];
        }
        var start = _resolved[0];
        if (!NeedsNoFrame(start, forbidden)) return;
        _regionForbidden = forbidden;
        var order = new List<int> { start };
        var seen = new HashSet<int> { start };
        // A return tail of copies returns at once in the region: where it jumps does not matter there.
        var copies = new bool[blocks.Count];
        for (var at = 0; at < order.Count && order.Count < MaxRegionBlocks; at++)
        {
            if (copies[order[at]]) continue;
            foreach (var successor in blocks[order[at]].Successors)
            {
                var target = _resolved[successor.Index];
                if (!seen.Add(target) || order.Count >= MaxRegionBlocks) continue;
                if (NeedsNoFrame(target, forbidden)) order.Add(target);
                else if (ReturnedByCopies(target, forbidden) is not null)
                {
                    copies[target] = true;
                    order.Add(target);
                }
            }
        }
        // Predecessors on the threaded graph, of the candidates only.
        var candidate = new int[blocks.Count];
        for (var i = 0; i < order.Count; i++) candidate[order[i]] = i + 1;
        var outsideEntries = new int[order.Count];   // the position of the first block that leads in from outside the prefix, at worst
        for (var b = 0; b < blocks.Count; b++)
        {
            if (_skipped[b]) continue;
            foreach (var successor in blocks[b].Successors)
            {
                var target = _resolved[successor.Index];
                if (candidate[target] == 0) continue;
                // From a non-candidate: never allowed; from candidate c: allowed once c is in the prefix.
                var from = candidate[b] == 0 ? int.MaxValue : candidate[b];
                outsideEntries[candidate[target] - 1] = Math.Max(outsideEntries[candidate[target] - 1], from);
            }
        }
        var shared = new bool[order.Count];
        for (var k = order.Count; k >= 1; k--)
        {
            var exit = -1;
            var returns = false;
            var valid = true;
            for (var i = 0; i < k && valid; i++)
            {
                var block = blocks[order[i]];
                if (block.Terminator is Return || copies[order[i]]) returns = true;
                if (copies[order[i]]) continue;
                foreach (var successor in block.Successors)
                {
                    var target = _resolved[successor.Index];
                    if (candidate[target] is > 0 and var position && position <= k) continue;
                    if (exit >= 0 && exit != target) valid = false;
                    exit = target;
                }
            }
            if (!valid || !returns || exit < 0) continue;
            // A member the rest of the function reaches (positions are 1-based), or that such a one
            // leads to, is emitted there too: it must be a return tail.
            for (var i = 0; i < k; i++) shared[i] = outsideEntries[i] > k;
            for (var changed = true; changed;)
            {
                changed = false;
                for (var i = 0; i < k; i++)
                {
                    if (!shared[i]) continue;
                    foreach (var successor in blocks[order[i]].Successors)
                        if (candidate[_resolved[successor.Index]] is > 0 and var position && position <= k && !shared[position - 1])
                            shared[position - 1] = changed = true;
                }
            }
            for (var i = 0; i < k && valid; i++)
                if (shared[i] && !IsReturnTail(order[i], 0) && !copies[order[i]]) valid = false;
            if (!valid) continue;
            // Blocks that lead nothing but out of the function come last (the others fall into the
            // prologue); a return tail the rest of the function reaches too is emitted twice.
            var returning = new List<int>();
            var leading = new List<int>();
            for (var i = 0; i < k; i++)
            {
                (copies[order[i]] || IsReturnTail(order[i], 0) ? returning : leading).Add(order[i]);
                if (!shared[i]) _inRegion[order[i]] = true;
            }
            _region = [.. leading, .. returning];
            _regionLeading = leading.Count;
            _regionContinue = exit;
            return;
        }
    }

    private void ClearRegion()
    {
        Array.Clear(_inRegion);
        _region = [];
        _regionLeading = 0;
        _regionContinue = -1;
    }

    /// <summary>Longer tails are not copied.</summary>
    private const int MaxReturnTailInstructions = 4, MaxReturnTailBlocks = 4;

    /// <summary>The block returns, or jumps to a block that does, in a few instructions (it may be emitted twice).</summary>
    private bool IsReturnTail(int b, int depth)
    {
        var block = _function.Blocks[b];
        if (block.Instructions.Count > MaxReturnTailInstructions || depth > 2) return false;
        return block.Terminator is Return
            || (UnconditionalTarget(block.Terminator!) is { } target && _resolved[target.Index] != b && IsReturnTail(_resolved[target.Index], depth + 1));
    }

    /// <summary>
    /// What a return tail made of copies only returns (a constant, a parameter, or a value in a
    /// register the region may read), found by following the copies; null if anything else. Its
    /// region copy is then one move to the return register: the tail may write a variable that
    /// lives in a callee-saved register elsewhere (a result merged with a count kept across calls).
    /// </summary>
    private Operand? ReturnedByCopies(int b, ulong forbidden)
    {
        var values = new Dictionary<int, Operand>();
        for (var depth = 0; depth <= MaxReturnTailBlocks; depth++)
        {
            var block = _function.Blocks[b];
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var instruction = block.Instructions[i];
                if (IsRemovable(instruction, _allocation.IsDeadDefinition(b, i))) continue;
                if (instruction is not { Op: Opcode.Copy, Destination: { } d }) return null;
                var source = instruction.Arguments[0];
                values[d.Index] = !source.IsConstant && values.TryGetValue(source.Register.Index, out var known) ? known : source;
            }
            if (block.Terminator is Return ret)
            {
                var value = !ret.Value.IsConstant && values.TryGetValue(ret.Value.Register.Index, out var known) ? known : ret.Value;
                if (value.IsConstant) return value;
                var v = value.Register.Index;
                if (v < _function.ParameterCount) return v < _registers.Arguments.Length ? value : null;
                var location = _allocation.Locations[v];
                return location.IsRegister && (forbidden & (1UL << location.Index)) == 0 ? value : null;
            }
            // The blocks themselves, not where threading leads: an empty block's copies count here.
            if (UnconditionalTarget(block.Terminator!) is not { } target || target.Index == b) return null;
            b = target.Index;
        }
        return null;
    }

    /// <summary>The block's code runs without a frame and leaves the prologue's and the parameter moves' registers alone (<see cref="PlanRegion"/>).</summary>
    private bool NeedsNoFrame(int b, ulong forbidden)
    {
        var block = _function.Blocks[b];
        var parameters = _function.ParameterCount;
        var arguments = _registers.Arguments.Length;
        bool Readable(Operand operand)
        {
            if (operand.IsConstant) return true;
            var v = operand.Register.Index;
            if (v < parameters) return v < arguments;
            var location = _allocation.Locations[v];
            return location.IsRegister && (forbidden & (1UL << location.Index)) == 0;
        }
        for (var i = 0; i < block.Instructions.Count; i++)
        {
            var instruction = block.Instructions[i];
            if (IsRemovable(instruction, _allocation.IsDeadDefinition(b, i))) continue;
            if (instruction.Op.IsCall() || instruction.Op == Opcode.Alloca) return false;
            if ((_machine.Target.Clobbers(instruction) & forbidden) != 0) return false;
            foreach (var operand in instruction.Arguments)
                if (!Readable(operand)) return false;
            if (instruction.Destination is not { } d || _fused[d.Index]) continue;
            if (d.Index < parameters) return false;
            var location = _allocation.Locations[d.Index];
            if (!location.IsRegister || (forbidden & (1UL << location.Index)) != 0) return false;
        }
        // A branch on a comparison fused into it reads flags.
        return Liveness.TerminatorOperand(block.Terminator!) is not { } value || Readable(value)
            || (block.Terminator is Branch && _fused[value.Register.Index]);
    }

    /// <summary>
    /// The region's blocks that lead on, before the prologue, the last falling into it (edges out of
    /// the region go to the prologue's label, placed after them). Its return tails follow the body
    /// (<see cref="EmitRegionReturns"/>).
    /// </summary>
    private void EmitRegion(int entry)
    {
        _regionLabels = new int[_region.Length];
        for (var i = 0; i < _region.Length; i++)
            _regionLabels[i] = i == 0 ? entry : _inRegion[_region[i]] ? _blockLabels[_region[i]] : _machine.NewLabel();
        _prologueLabel = _machine.NewLabel();
        SwapRegionLabels();
        _beforePrologue = true;
        for (var i = 0; i < _regionLeading; i++)
            EmitBlock(_region[i], i + 1 < _regionLeading ? _region[i + 1] : _regionContinue, placeLabel: i > 0);
        _beforePrologue = false;
        SwapRegionLabels();
        _machine.PlaceLabel(_prologueLabel);
    }

    private void EmitRegionReturns()
    {
        if (_region.Length == _regionLeading) return;
        SwapRegionLabels();
        _beforePrologue = true;
        for (var i = _regionLeading; i < _region.Length; i++)
        {
            var b = _region[i];
            if (ReturnedByCopies(b, _regionForbidden) is { } value)
            {
                _listing?.Mark(_machine.Position, ListingMarkKind.Block, _function.Blocks[b].Name, Diagnostics.SourceLocation.None);
                _machine.PlaceLabel(_blockLabels[b]);
                _machine.Load(_registers.Return, LocOf(value));
                _machine.ReturnWithoutFrame();
                continue;
            }
            EmitBlock(b, i + 1 < _region.Length ? _region[i + 1] : -1, placeLabel: true);
        }
        _beforePrologue = false;
        SwapRegionLabels();
    }

    /// <summary>Region emission sees its own labels: the region's copies of its blocks, and the prologue's for the block the region leaves to.</summary>
    private void SwapRegionLabels()
    {
        for (var i = 0; i < _region.Length; i++)
            (_blockLabels[_region[i]], _regionLabels[i]) = (_regionLabels[i], _blockLabels[_region[i]]);
        (_blockLabels[_regionContinue], _prologueLabel) = (_prologueLabel, _blockLabels[_regionContinue]);
    }

    private Loc OnEntry(Operand operand) => operand.IsConstant ? Loc.Imm(operand.Constant) : Loc.Reg(_registers.Arguments[operand.Register.Index]);

    /// <summary>Compares on the argument registers; the condition returned holds when <paramref name="test"/> exits.</summary>
    private Condition ExitsOnEntry(EarlyTest test)
    {
        // A branch goes to its true successor when the value is non-zero: CompareWithZero's condition (zero) is the false one.
        var holds = test.Comparison switch
        {
            null => _machine.CompareWithZero(OnEntry(test.Condition)).Invert(),
            { Op: Opcode.LogicalNot } not => _machine.CompareWithZero(OnEntry(not.Arguments[0])),
            var comparison => _machine.Compare(comparison.Op, OnEntry(comparison.Arguments[0]), OnEntry(comparison.Arguments[1])),
        };
        return test.ExitWhenTrue ? holds : holds.Invert();
    }

    private void EmitEarlyExit()
    {
        if (_earlyExit is not { } exit) return;
        foreach (var test in exit.Tests)
        {
            var next = _machine.NewLabel();
            _machine.JumpIf(ExitsOnEntry(test).Invert(), next);
            _machine.Load(_registers.Return, OnEntry(test.Value));
            _machine.ReturnWithoutFrame();
            _machine.PlaceLabel(next);
        }
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
            if (IsRemovable(instruction, _allocation.IsDeadDefinition(b, i))) continue;
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
            if (!_skipped[b] && !_inRegion[b]) return b;
        throw new InvalidOperationException("a function without code");
    }

    private int NextEmitted(int b)
    {
        for (var n = b + 1; n < _skipped.Length; n++)
            if (!_skipped[n] && !_inRegion[n]) return n;
        return -1;
    }

    /// <summary>Parameters go from where the ABI puts them to where the allocator wants them, as one parallel move.</summary>
    private void EmitParameterMoves()
    {
        var arguments = _registers.Arguments;
        var count = _function.ParameterCount;
        // 1. register → memory (reads the argument registers before anything overwrites them)
        for (var p = 0; p < Math.Min(count, arguments.Length); p++)
            if (ReceivesParameter(p) && _allocation.Locations[p].IsSlot) _machine.Move(LocOf(_allocation.Locations[p]), Loc.Reg(arguments[p]));
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
        ParallelMove.Sequence(destinations[..moves], sources[..moves], _machine.CycleScratch, _moveRegister ??= _machine.MoveRegister);
        // 3. the caller's stack → wherever
        for (var p = arguments.Length; p < count; p++)
        {
            if (!ReceivesParameter(p)) continue;
            _machine.Move(LocOf(_allocation.Locations[p]), _machine.IncomingStackArgument(p - arguments.Length));
        }
    }

    // ---- instructions -------------------------------------------------------------------------

    private Loc LocOf(Location location) => location.Kind switch
    {
        LocationKind.Register => Loc.Reg(location.Index),
        LocationKind.Slot => _machine.Slot(location.Index),
        _ => throw new InvalidOperationException("a value without a location is read"),
    };

    private Loc LocOf(Operand operand) =>
        operand.IsConstant ? Loc.Imm(operand.Constant)
        : operand.Register.Index == _foldedRegister ? _foldedLoad
        : _beforePrologue && operand.Register.Index < _function.ParameterCount ? Loc.Reg(_registers.Arguments[operand.Register.Index])
        : LocOf(_allocation[operand.Register]);

    private void EmitInstruction(Instruction instruction, bool dead)
    {
        if (IsRemovable(instruction, dead)) return;
        var args = instruction.Arguments;
        if (instruction.Destination is { } d && _fused[d.Index])
        {
            _pendingCondition = instruction.Op switch
            {
                Opcode.LogicalNot => _machine.CompareWithZero(LocOf(args[0])),
                Opcode.And => _machine.TestBits(LocOf(args[0]), LocOf(args[1])),
                _ => _machine.Compare(instruction.Op, LocOf(args[0]), LocOf(args[1])),
            };
            return;
        }
        var destination = instruction.Destination is { } dv ? LocOf(_allocation[dv]) : default;
        var bothConstant = args.Length == 2 && args[0].IsConstant && args[1].IsConstant;
        switch (instruction.Op)
        {
            case Opcode.Copy:
                _machine.Move(destination, LocOf(args[0]));
                break;
            case Opcode.Negate:
                _machine.Negate(destination, LocOf(args[0]));
                break;
            case Opcode.LogicalNot:
                if (args[0].IsConstant) _machine.Move(destination, Loc.Imm(args[0].Constant == 0 ? 1 : 0));
                else _machine.SetCondition(destination, _machine.CompareWithZero(LocOf(args[0])));
                break;
            case Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Multiply
                or Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical when bothConstant:
                _machine.Move(destination, Loc.Imm(instruction.Op.Evaluate(args[0].Constant, args[1].Constant)));
                break;
            case Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Multiply:
                _machine.Arithmetic(instruction.Op, destination, LocOf(args[0]), LocOf(args[1]));
                break;
            case Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical:
                _machine.Shift(instruction.Op, destination, LocOf(args[0]), LocOf(args[1]));
                break;
            case Opcode.MultiplyHigh when bothConstant:
                _machine.Move(destination, Loc.Imm(instruction.Op.Evaluate(args[0].Constant, args[1].Constant)));
                break;
            case Opcode.MultiplyHigh:
                _machine.MultiplyHigh(destination, LocOf(args[0]), LocOf(args[1]));
                break;
            case Opcode.Divide or Opcode.Remainder:
                EmitDivision(instruction.Op == Opcode.Remainder, destination, args[0], args[1], instruction.DivisionFacts);
                break;
            case var comparison when comparison.IsComparison():
                if (bothConstant) _machine.Move(destination, Loc.Imm(instruction.Op.Evaluate(args[0].Constant, args[1].Constant)));
                else _machine.SetCondition(destination, _machine.Compare(instruction.Op, LocOf(args[0]), LocOf(args[1])));
                break;
            case Opcode.Select when args[0].IsConstant:
                _machine.Move(destination, LocOf(args[args[0].Constant != 0 ? 1 : 2]));
                break;
            case Opcode.Select:
            {
                var condition = _fused[args[0].Register.Index] ? _pendingCondition : _machine.CompareWithZero(LocOf(args[0])).Invert();
                _machine.Select(destination, condition, LocOf(args[1]), LocOf(args[2]));
                break;
            }
            case Opcode.LoadGlobal:
                _machine.LoadGlobal(destination, _data.Global(instruction.Symbol!));
                break;
            case Opcode.StoreGlobal:
                _machine.StoreGlobal(_data.Global(instruction.Symbol!), LocOf(args[0]));
                break;
            case Opcode.GlobalAddress:
                _machine.DataAddress(destination, _data.Global(instruction.Symbol!), loadSlot: false);
                break;
            case Opcode.StringAddress:
                _machine.DataAddress(destination, _data.String(instruction.Symbol!), loadSlot: false);
                break;
            case Opcode.ImportAddress:
                _machine.DataAddress(destination, _data.ImportSlot(instruction.Symbol!), loadSlot: true);
                break;
            case Opcode.FunctionAddress:
                _machine.FunctionAddress(destination, FunctionLabel(instruction.Symbol!));
                break;
            case Opcode.Alloca:
                _machine.FrameBlockAddress(destination, instruction.Destination!.Value);
                break;
            case Opcode.LoadWord or Opcode.LoadByte when TryFoldLoad(instruction):
                break;   // its reader, next, takes it as a memory operand
            case Opcode.LoadWord or Opcode.LoadByte:
                _machine.LoadIndexed(instruction.Op == Opcode.LoadWord, destination, LocOf(args[0]), LocOf(args[1]), args.Length > 2 ? args[2].Constant : 0);
                break;
            case Opcode.StoreWord or Opcode.StoreByte:
                _machine.StoreIndexed(instruction.Op == Opcode.StoreWord, LocOf(args[0]), LocOf(args[1]), LocOf(args[2]), args.Length > 3 ? args[3].Constant : 0);
                break;
            case Opcode.Call or Opcode.CallImport or Opcode.CallIndirect:
                EmitCall(instruction, dead ? default : destination);
                break;
            default:
                throw new InvalidOperationException($"the code generator has no lowering for {instruction.Op}");
        }
    }

    /// <summary>
    /// A division and the remainder of the same operands side by side, in either order (what
    /// <c>DivisionPairing</c> arranges), as one division, when both results are used and the first
    /// does not overwrite the operands the second reads.
    /// </summary>
    private bool TryDivideWithRemainder(BasicBlock block, int b, int i)
    {
        if (!DivisionPair.At(block.Instructions, i)) return false;
        var (first, second) = (block.Instructions[i], block.Instructions[i + 1]);
        if (_allocation.IsDeadDefinition(b, i) || _allocation.IsDeadDefinition(b, i + 1)) return false;
        var (division, remainder) = first.Op == Opcode.Divide ? (first, second) : (second, first);
        var args = first.Arguments;
        // Both read the same operands at the same point: what either was proved holds for both.
        return _machine.DivideWithRemainder(LocOf(_allocation[division.Destination!.Value]), LocOf(_allocation[remainder.Destination!.Value]), LocOf(args[0]), LocOf(args[1]),
                                            division.DivisionFacts | remainder.DivisionFacts);
    }

    /// <summary>The IR's total division; divisors 0, 1 and -1 known at compile time need no division at all.</summary>
    private void EmitDivision(bool remainder, Loc destination, Operand left, Operand right, DivisionFacts facts)
    {
        if (right.IsConstant && right.Constant is 0 or 1 or -1)
        {
            var divisor = right.Constant;
            if (remainder || divisor == 0) _machine.Move(destination, Loc.Imm(0));
            else if (divisor == 1) _machine.Move(destination, LocOf(left));
            else _machine.Negate(destination, LocOf(left));
            return;
        }
        _machine.Divide(remainder, destination, LocOf(left), LocOf(right), facts);
    }

    // ---- calls --------------------------------------------------------------------------------

    /// <summary>
    /// How many of a call's <paramref name="argumentCount"/> arguments travel in registers: as
    /// many as there are argument registers, except that a convention passing variadic arguments
    /// on the stack (Apple arm64) stops at a variadic callee's fixed ones. The rest go on the
    /// stack in order, one 8-byte slot each (fixed ones beyond the registers, then the variadic ones).
    /// </summary>
    private int RegisterArgumentCount(Instruction instruction, int argumentCount)
    {
        var count = Math.Min(argumentCount, _registers.Arguments.Length);
        if (_machine.Convention.Variadic == VariadicArguments.OnStack && instruction.FixedArguments is { } fixedCount)
            count = Math.Min(count, fixedCount);
        return count;
    }

    /// <param name="tail">A sibling call (<see cref="SiblingCall"/>): the frame is left and the callee jumped to.</param>
    private void EmitCall(Instruction instruction, Loc destination, bool tail = false)
    {
        var indirect = instruction.Op == Opcode.CallIndirect;
        var arguments = indirect ? instruction.Arguments.AsSpan(1) : instruction.Arguments.AsSpan();
        var argumentRegisters = _registers.Arguments;
        var registerCount = RegisterArgumentCount(instruction, arguments.Length);
        var stackArguments = arguments.Length - registerCount;
        if (stackArguments > 0)
        {
            var stack = new Loc[stackArguments];
            for (var i = 0; i < stackArguments; i++) stack[i] = LocOf(arguments[registerCount + i]);
            _machine.PassStackArguments(stack);
        }

        // The callee first: the argument moves below may overwrite its register.
        if (indirect) _machine.Load(_machine.IndirectCallee, LocOf(instruction.Arguments[0]));

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
        ParallelMove.Sequence(destinations[..moves], sources[..moves], _machine.CycleScratch, _moveRegister ??= _machine.MoveRegister);
        for (var i = 0; i < registerCount; i++)
        {
            var source = LocOf(arguments[i]);
            if (!source.IsReg) _machine.Load(argumentRegisters[i], source);
        }

        if (tail)
        {
            // The callee tests its own early exit before its prologue; nothing here needs the result.
            _machine.TailCallFunction(FunctionLabel(instruction.Symbol!));
            return;
        }
        switch (instruction.Op)
        {
            case Opcode.Call when _machine.TestsEarlyExitsAtCallSites && _calleeExits.TryGetValue(instruction.Symbol!, out var exit):
            {
                // The callee's early exit, tested here: the return register = its value, skip the call when it holds.
                var test = exit.Tests[0];
                var skip = _machine.NewLabel();
                var value = OnEntry(test.Value);
                if (value.Is(_registers.Return) || Array.IndexOf(_registers.Arguments, _registers.Return) < 0)
                {
                    _machine.Load(_registers.Return, value);
                    _machine.JumpIf(ExitsOnEntry(test), skip);
                    _machine.CallFunction(FunctionLabel(instruction.Symbol!));
                }
                else
                {
                    // The return register is also an argument (AArch64's x0): the value goes there only once the exit holds.
                    var call = _machine.NewLabel();
                    _machine.JumpIf(ExitsOnEntry(test).Invert(), call);
                    _machine.Load(_registers.Return, value);
                    _machine.Jump(skip);
                    _machine.PlaceLabel(call);
                    _machine.CallFunction(FunctionLabel(instruction.Symbol!));
                }
                _machine.PlaceLabel(skip);
                break;
            }
            case Opcode.Call:
                _machine.CallFunction(FunctionLabel(instruction.Symbol!));
                break;
            case Opcode.CallImport:
                _machine.CallImport(_data.ImportSlot(instruction.Symbol!));
                break;
            default:
                _machine.CallIndirect();
                break;
        }
        _machine.AfterCall(stackArguments);
        if (destination.Kind != OperandKind.None) _machine.Move(destination, Loc.Reg(_registers.Return));
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
                    : _machine.CompareWithZero(LocOf(branch.Condition)).Invert();
                var ifTrue = _resolved[IndexOf(branch.IfTrue)];
                var ifFalse = _resolved[IndexOf(branch.IfFalse)];
                if (ifTrue == next)
                {
                    _machine.JumpIf(condition.Invert(), _blockLabels[ifFalse]);
                }
                else
                {
                    _machine.JumpIf(condition, _blockLabels[ifTrue]);
                    if (ifFalse != next) _machine.Jump(_blockLabels[ifFalse]);
                }
                break;
            }
            case Return ret:
                _machine.Load(_registers.Return, LocOf(ret.Value));
                if (_beforePrologue) _machine.ReturnWithoutFrame();
                else _machine.Epilogue();
                break;
            default:
                throw new InvalidOperationException($"unknown terminator {block.Terminator}");
        }
    }

    private void JumpTo(int block, int next)
    {
        var target = _resolved[block];
        if (target != next) _machine.Jump(_blockLabels[target]);
    }

    /// <summary>The block's position in the function (<see cref="Liveness.Compute"/> numbered them, first thing in <see cref="Emit"/>).</summary>
    private static int IndexOf(BasicBlock block) => block.Index;
}

