using System.Runtime.InteropServices;
using Maru.Compiler.Ir;
using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Loop versioning on an invariant divisor. Maru's division is total (x / 0 = 0, x % 0 = 0,
/// MIN / -1 = MIN), so a division by a register carries a run-time check of what
/// <see cref="ValueRanges"/> could not prove (x86-64: lea/cmp/ja for 0 and -1, test/jne or cmp/jne
/// for one of them; AArch64 only a remainder's zero test). When the divisor is not defined inside a
/// loop, the check decides the same way in every iteration: one test before the loop
/// (<c>(d + 1) &gt;u 1</c>, d is neither 0 nor -1; or <c>d != 0</c>, <c>d != -1</c> for one of them)
/// chooses between a copy of the loop whose divisions by d carry the facts (no check) and the
/// original loop, which keeps its checks and runs only for a divisor that needs them. Each path runs
/// the same operations on the same values as before, so results are unchanged, 0 and -1 included.
/// Loops are taken outermost first, so one test before the outermost loop where d is invariant
/// serves the nested loops; a loop is copied once, on its first divisor needing a check (the
/// target says which facts save work, <see cref="ITargetCosts.DivisionChecks"/>), and only up to
/// <see cref="MaxLoopInstructions"/> instructions, <see cref="MaxCopiedInstructions"/> per function.
/// Registers only the loop touches get fresh names in the copy (a comparison stays single-definition
/// and single-use, fused into its branch; loads stay foldable); the others, loop-invariant or live
/// after the loop, keep their names in both copies, so the exits need nothing.
/// Requires: Plain form, after ValueRanges (its facts are final; nothing later merges the copies) and
/// before loop rotation (which would copy an inlined callee's test into the blocks before it, where
/// no single test dominates the loop any more).
/// Guarantees: Plain form; the same executions.
/// </summary>
internal static class DivisorVersioning
{
    public const int MaxLoopInstructions = 64;
    public const int MaxCopiedInstructions = 512;

    public static void Run(IrFunction function, ITargetCosts costs)
    {
        if (!HasCheckedDivision(function, costs)) return;
        if (NaturalLoop.GraphWithLoops(function) is not { } graph) return;
        var loops = NaturalLoop.FindAll(graph);
        if (loops.Count == 0) return;

        var blockCount = function.Blocks.Count;
        var member = new int[blockCount];
        // Reads and writes of every register in the whole function, kept up to date as copies are added.
        var touches = new int[function.RegisterCount];
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks)) Count(block, touches, 1);
        for (var p = 0; p < function.ParameterCount; p++) touches[p]++;   // defined on entry, outside every loop

        var handled = new HashSet<Instruction>();   // divisions already versioned by an enclosing loop's test
        var placements = new List<(BasicBlock Anchor, BasicBlock Block)>();
        var copied = 0;
        var stamp = 0;
        for (var l = loops.Count - 1; l >= 0; l--)   // largest (outermost) first
        {
            var loop = loops[l];
            loop.Mark(member, ++stamp);
            // Not a loop through the entry block: its frame blocks (Alloca) must stay the entry's alone.
            if (loop.Header == graph.Entry) continue;
            var size = 0;
            foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks)) size += block.Instructions.Count;
            if (size > MaxLoopInstructions || copied + size > MaxCopiedInstructions) continue;
            if (Candidate(loop, member, stamp, handled, costs) is not ({ } divisor, var needed) || TestedAbove(graph, loop.Header, divisor)) continue;
            // Every division by the divisor in this loop is decided by the test: inner loops of the
            // original (the slow version) need no test of their own.
            foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (IsDivisionBy(instruction, divisor)) handled.Add(instruction);
            Array.Resize(ref touches, Math.Max(touches.Length, function.RegisterCount));
            Version(function, graph, loop, member, stamp, divisor, needed, ref touches, placements);
            copied += size;
        }
        if (placements.Count == 0) return;
        BlockPlacement.InsertBefore(function, placements);
    }

    private static bool HasCheckedDivision(IrFunction function, ITargetCosts costs)
    {
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (Missing(instruction, costs) != DivisionFacts.None) return true;
        return false;
    }

    /// <summary>The facts a division by a register lacks that would save the target a check.</summary>
    private static DivisionFacts Missing(Instruction instruction, ITargetCosts costs) =>
        instruction.Op is Opcode.Divide or Opcode.Remainder && !instruction.Arguments[1].IsConstant
            ? costs.DivisionChecks(instruction.Op) & ~instruction.DivisionFacts
            : DivisionFacts.None;

    private static bool IsDivisionBy(Instruction instruction, VReg divisor) =>
        instruction.Op is Opcode.Divide or Opcode.Remainder && instruction.Arguments[1] is { IsConstant: false } d && d.Register == divisor;

    /// <summary>The first divisor the loop does not define whose divisions lack facts, and the facts they all lack together.</summary>
    private static (VReg? Divisor, DivisionFacts Needed) Candidate(NaturalLoop loop, int[] member, int stamp, HashSet<Instruction> handled, ITargetCosts costs)
    {
        VReg? divisor = null;
        var needed = DivisionFacts.None;
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (handled.Contains(instruction) || Missing(instruction, costs) is var missing && missing == DivisionFacts.None) continue;
                var d = instruction.Arguments[1].Register;
                if (divisor is { } chosen ? chosen != d : DefinedIn(loop, d)) continue;
                divisor = d;
                needed |= missing;
            }
        return (divisor, needed);
    }

    /// <summary>
    /// A block dominating the header (within <see cref="MaxDominatorWalk"/> steps) already branches on
    /// this pass's test of the divisor: a callee versioned before it was inlined. Its fast copy got the
    /// facts back from <see cref="ValueRanges"/>; its slow copy runs only for 0 or -1 and is left alone.
    /// </summary>
    private static bool TestedAbove(FlowGraph graph, BasicBlock header, VReg divisor)
    {
        var dominator = graph.ImmediateDominator;
        var block = header;
        for (var step = 0; step < MaxDominatorWalk && block != graph.Entry; step++)
        {
            block = dominator[block.Index];
            if (block.Terminator is not Branch { Condition: { IsConstant: false } condition } || block.Instructions.Count == 0) continue;
            var test = block.Instructions[^1];
            if (test.Destination != condition.Register) continue;
            if (test is { Op: Opcode.NotEqual, Arguments: [{ IsConstant: false } d, { IsConstant: true, Constant: -1 or 0 }] } && d.Register == divisor) return true;
            if (test is { Op: Opcode.Above, Arguments: [{ IsConstant: false } t, { IsConstant: true, Constant: 1 }] } && block.Instructions.Count >= 2
                && block.Instructions[^2] is { Op: Opcode.Add, Arguments: [{ IsConstant: false } e, { IsConstant: true, Constant: 1 }] } sum
                && sum.Destination == t.Register && e.Register == divisor) return true;
        }
        return false;
    }

    private const int MaxDominatorWalk = 16;

    private static bool DefinedIn(NaturalLoop loop, VReg register)
    {
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination == register) return true;
        return false;
    }

    private static void Count(BasicBlock block, int[] touches, int by)
    {
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
        {
            foreach (var argument in instruction.Arguments)
                if (!argument.IsConstant) touches[argument.Register.Index] += by;
            if (instruction.Destination is { } d) touches[d.Index] += by;
        }
        if (block.Terminator is Branch { Condition: { IsConstant: false } c }) touches[c.Register.Index] += by;
        else if (block.Terminator is Return { Value: { IsConstant: false } v }) touches[v.Register.Index] += by;
    }

    private static void Version(IrFunction function, FlowGraph graph, NaturalLoop loop, int[] member, int stamp, VReg divisor, DivisionFacts needed,
        ref int[] touches, List<(BasicBlock Anchor, BasicBlock Block)> placements)
    {
        // Registers only this loop touches: all their reads and writes are inside.
        var inside = new Dictionary<int, int>();
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) inside[argument.Register.Index] = inside.GetValueOrDefault(argument.Register.Index) + 1;
                if (instruction.Destination is { } d) inside[d.Index] = inside.GetValueOrDefault(d.Index) + 1;
            }
            if (block.Terminator is Branch { Condition: { IsConstant: false } c }) inside[c.Register.Index] = inside.GetValueOrDefault(c.Register.Index) + 1;
            else if (block.Terminator is Return { Value: { IsConstant: false } v }) inside[v.Register.Index] = inside.GetValueOrDefault(v.Register.Index) + 1;
        }
        var renamed = new Dictionary<int, VReg>();
        foreach (var (register, count) in inside)
            if (count == touches[register]) renamed[register] = function.NewRegister();
        Operand Rename(Operand operand) =>
            !operand.IsConstant && renamed.TryGetValue(operand.Register.Index, out var fresh) ? fresh : operand;

        var copies = new Dictionary<BasicBlock, BasicBlock>(loop.Blocks.Count);
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks)) copies[block] = function.NewUnplacedBlock();
        BasicBlock Target(BasicBlock block) => copies.TryGetValue(block, out var copy) ? copy : block;
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
        {
            var copy = copies[block];
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                var arguments = new Operand[instruction.Arguments.Length];
                for (var a = 0; a < arguments.Length; a++) arguments[a] = Rename(instruction.Arguments[a]);
                VReg? destination = instruction.Destination is { } d ? Rename(d).Register : null;
                // The copy runs only when the test before the loop found the divisor neither 0 nor -1
                // (or whichever of them the facts lacked); it is not defined in the loop, so that holds throughout.
                var facts = instruction.DivisionFacts;
                if (IsDivisionBy(instruction, divisor)) facts |= needed;
                copy.Instructions.Add(new Instruction(instruction.Op, destination, arguments, instruction.Symbol, instruction.Location)
                {
                    FixedArguments = instruction.FixedArguments,
                    DivisionFacts = facts,
                });
            }
            copy.Terminator = block.Terminator switch
            {
                Jump jump => new Jump(Target(jump.Target)),
                Branch branch => new Branch(Rename(branch.Condition), Target(branch.IfTrue), Target(branch.IfFalse)),
                Return ret => new Return(Rename(ret.Value)),
                _ => throw new InvalidOperationException("a block without a terminator"),
            };
        }
        // Registers shared by both versions are touched by the copy too.
        Array.Resize(ref touches, Math.Max(touches.Length, function.RegisterCount));
        foreach (var (register, count) in inside)
            if (!renamed.ContainsKey(register)) touches[register] += count;

        // The test: every edge entering the loop goes through it.
        var header = loop.Header;
        var test = function.NewUnplacedBlock();
        var location = header.Instructions.Count > 0 ? header.Instructions[0].Location : FirstLocation(loop);
        Operand condition;
        if (needed == (DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow))
        {
            var shifted = function.NewRegister();
            var outside = function.NewRegister();
            test.Instructions.Add(new Instruction(Opcode.Add, shifted, [divisor, Operand.Of(1)], null, location));
            test.Instructions.Add(new Instruction(Opcode.Above, outside, [shifted, Operand.Of(1)], null, location));
            condition = outside;
        }
        else
        {
            var differs = function.NewRegister();
            var excluded = needed == DivisionFacts.DivisorNonzero ? 0 : -1;
            test.Instructions.Add(new Instruction(Opcode.NotEqual, differs, [divisor, Operand.Of(excluded)], null, location));
            condition = differs;
        }
        test.Terminator = new Branch(condition, copies[header], header);
        foreach (var predecessor in graph.Predecessors[header.Index])
            if (member[predecessor.Index] != stamp) predecessor.Terminator = FlowGraph.Retarget(predecessor.Terminator!, header, test);
        placements.Add((header, test));
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks)) placements.Add((header, copies[block]));
    }

    private static SourceLocation FirstLocation(NaturalLoop loop)
    {
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            if (block.Instructions.Count > 0) return block.Instructions[0].Location;
        return default;
    }
}
