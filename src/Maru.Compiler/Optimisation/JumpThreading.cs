using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Jump threading in SSA: a block B whose branch an incoming edge p -> B already decides sends
/// that edge straight to the decided successor T. The edge decides B's test when B compares the
/// same two values p's branch compared (the same registers, B's phi as its value from p, or loads
/// of one address with no store between: <see cref="IfConversion.SameValues"/>) and p's outcome
/// on the edge implies B's (p's `pat[q] != text[i]` failing makes B's `pat[q] == text[i]` true;
/// `x &lt; y` failing decides neither `x == y` nor `x > y`), or when B's test reads only B's phis
/// and constants and is a constant with their values from p (a flag a join's constant input
/// sets). B's own instructions then have nothing left to do on that edge: only a block whose
/// registers nothing outside it reads is threaded (its phis may feed its successors' phis, which
/// take their value from p), and it has no store or call, so nothing is copied: the edge goes to
/// T, or to a new empty block that jumps to T when p already branches to T. B keeps its other
/// edges, and one from outside the blocks it dominates. Back edges are left to loop rotation. The work is the function's size
/// once (which registers leave their block) plus a look at the few predecessors of each block.
/// Requires: SSA. Guarantees: SSA; the same executions.
/// </summary>
internal static class JumpThreading
{
    public static void Run(IrFunction function)
    {
        if (function.Blocks.Count < 3) return;
        // No dominator tree: an edge from a block earlier in reverse postorder comes from outside the blocks the
        // target dominates (a block it dominates is its descendant in the search, so later in the order).
        var graph = FlowGraph.Of(function, withDominators: false);
        var order = graph.ReversePostorder;
        var number = Scratch<int>.Rent(function.Blocks.Count);
        for (var i = 0; i < order.Length; i++) number[order[i].Index] = i;
        List<(BasicBlock Predecessor, BasicBlock Block, BasicBlock Target)>? threads = null;
        foreach (var block in order)
        {
            if (block.Terminator is not Branch { Condition: { IsConstant: false } condition } branch || branch.IfTrue == branch.IfFalse) continue;
            var predecessors = graph.Predecessors[block.Index];
            if (predecessors.Length < 2 || predecessors.Length > IfConversion.MaxDecidingPredecessors) continue;
            var test = IfConversion.TestOf(block, condition.Register);
            var writes = -1;
            foreach (var predecessor in predecessors)
            {
                if (number[predecessor.Index] >= number[block.Index]) continue;
                if (Decided(block, condition, test, predecessor) is not { } outcome) continue;
                var target = outcome ? branch.IfTrue : branch.IfFalse;
                if (target == block) continue;
                if (writes < 0) writes = block.Instructions.Exists(i => i.Op.HasSideEffects() || i.Op == Opcode.Alloca) ? 1 : 0;
                if (writes == 1) break;
                (threads ??= []).Add((predecessor, block, target));
            }
        }
        if (threads is null)
        {
            Scratch<int>.Return(number);
            return;
        }

        var leaves = RegistersLeavingTheirBlock(function);
        var placements = new List<(BasicBlock Anchor, BasicBlock Block)>();
        // Per block (by the graph's Index): its entering edges from earlier in the order. It keeps one: left with edges
        // from the blocks it dominates only (its own loop's), it would be unreachable.
        var entries = Scratch<int>.Rent(function.Blocks.Count);
        foreach (var (_, block, _) in threads)
        {
            if (entries[block.Index] != 0) continue;
            foreach (var predecessor in graph.Predecessors[block.Index])
                if (number[predecessor.Index] < number[block.Index]) entries[block.Index]++;
        }
        foreach (var (predecessor, block, target) in threads)
        {
            if (entries[block.Index] <= 1 || !Local(block, leaves) || !BranchesTo(predecessor, block)) continue;
            entries[block.Index]--;
            // An edge from a block that branches to both the target and here needs a block of its own (two phi inputs from one block).
            var via = predecessor;
            if (BranchesTo(predecessor, target))
            {
                via = function.NewUnplacedBlock();
                via.Terminator = new Jump(target);
                placements.Add((block, via));
            }
            foreach (var phi in CollectionsMarshal.AsSpan(target.Phis))
            {
                var value = ValueFrom(phi.ValueFrom(block)!.Value, block, predecessor);
                phi.Inputs.Add(new PhiInput(via, value));
                if (!value.IsConstant) leaves[value.Register.Index] = true;   // now read on an edge from elsewhere
            }
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis)) phi.RemovePredecessor(predecessor);
            predecessor.Terminator = FlowGraph.Retarget(predecessor.Terminator!, block, via == predecessor ? target : via);
        }
        Scratch<int>.Return(entries);
        Scratch<int>.Return(number);
        BlockPlacement.InsertBefore(function, placements);
    }

    private static bool BranchesTo(BasicBlock block, BasicBlock successor) =>
        block.Terminator is Branch branch ? branch.IfTrue == successor || branch.IfFalse == successor : block.Terminator is Jump jump && jump.Target == successor;

    /// <summary>What <paramref name="block"/>'s branch does when entered from <paramref name="predecessor"/>: true, false, or not decided.</summary>
    private static bool? Decided(BasicBlock block, Operand condition, Instruction? test, BasicBlock predecessor)
    {
        // A constant on the edge: the condition itself, or a comparison of phis and constants.
        if (ValueFrom(condition, block, predecessor) is { IsConstant: true } known) return known.Constant != 0;
        if (test is null) return null;
        if (test.Arguments is [var x, var y]
            && ValueFrom(x, block, predecessor) is { IsConstant: true } a && ValueFrom(y, block, predecessor) is { IsConstant: true } b)
            return test.Op.Evaluate(a.Constant, b.Constant) != 0;
        // The predecessor's own test of the same values.
        if (predecessor.Terminator is not Branch { Condition: { IsConstant: false } theirs } branch || branch.IfTrue == branch.IfFalse
            || IfConversion.TestOf(predecessor, theirs.Register) is not { } other) return null;
        if (!IfConversion.SameValues(test, block, other, predecessor, out var swapped)) return null;
        var holds = branch.IfTrue == block ? other.Op : other.Op.Negated();
        return Implies(holds, swapped ? test.Op.Mirrored() : test.Op);
    }

    // Which of u < v, u == v, u > v a comparison of (u, v) allows; signed and unsigned orders are not compared with each other.
    private const int Less = 1, Equal = 2, Greater = 4;

    private static (int Outcomes, bool? Signed) Outcomes(Opcode op) => op switch
    {
        Opcode.Equal => (Equal, null),
        Opcode.NotEqual => (Less | Greater, null),
        Opcode.Less => (Less, true),
        Opcode.LessOrEqual => (Less | Equal, true),
        Opcode.Greater => (Greater, true),
        Opcode.GreaterOrEqual => (Greater | Equal, true),
        Opcode.Below => (Less, false),
        Opcode.BelowOrEqual => (Less | Equal, false),
        Opcode.Above => (Greater, false),
        Opcode.AboveOrEqual => (Greater | Equal, false),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>Whether <c>u holds v</c> makes <c>u op v</c> true, false, or leaves it open.</summary>
    internal static bool? Implies(Opcode holds, Opcode op)
    {
        var (known, knownSigned) = Outcomes(holds);
        var (asked, askedSigned) = Outcomes(op);
        // Equality means the same in both orders; a signed and an unsigned order say nothing of each other.
        if (knownSigned is { } s && askedSigned is { } t && s != t) return null;
        if ((known & ~asked) == 0) return true;
        if ((known & asked) == 0) return false;
        return null;
    }

    /// <summary>The operand's value on the edge from <paramref name="predecessor"/>: a phi of <paramref name="block"/> gives its input from there.</summary>
    private static Operand ValueFrom(Operand operand, BasicBlock block, BasicBlock predecessor)
    {
        if (operand.IsConstant) return operand;
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            if (phi.Destination == operand.Register)
                return phi.ValueFrom(predecessor) ?? operand;
        return operand;
    }

    /// <summary>Nothing the block defines is read outside it, except its phis as its successors' phi inputs from it.</summary>
    private static bool Local(BasicBlock block, bool[] leaves)
    {
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            if (leaves[phi.Destination.Index]) return false;
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            if (instruction.Destination is { } d && leaves[d.Index]) return false;
        return true;
    }

    /// <summary>
    /// Per register: read outside the block that defines it, or as a phi's input, except a phi
    /// read by the phis of its block's successors on edges from its own block (those take the
    /// value the threaded edge brings).
    /// </summary>
    private static bool[] RegistersLeavingTheirBlock(IrFunction function)
    {
        var home = new BasicBlock?[function.RegisterCount];
        var isPhi = new bool[function.RegisterCount];
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            {
                home[phi.Destination.Index] = block;
                isPhi[phi.Destination.Index] = true;
            }
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) home[d.Index] = block;
        }
        var leaves = new bool[function.RegisterCount];
        void Read(Operand operand, BasicBlock at)
        {
            if (!operand.IsConstant && home[operand.Register.Index] != at) leaves[operand.Register.Index] = true;
        }
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in CollectionsMarshal.AsSpan(phi.Inputs))
                {
                    var value = input.Value;
                    if (value.IsConstant) continue;
                    if (home[value.Register.Index] == input.Predecessor && isPhi[value.Register.Index]) continue;
                    leaves[value.Register.Index] = true;
                }
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments) Read(argument, block);
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } used) Read(used, block);
        }
        return leaves;
    }
}
