using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Control-flow simplification, repeated until nothing changes: branches on constants or to one
/// block twice become jumps; unreachable blocks go; an empty block that only jumps on is bypassed
/// (its predecessors go straight to its target, or return directly when the target only returns),
/// also, in SSA, a block of phis read only by its target's phis on the edge from it (one join of a
/// nested <c>cond</c>'s ladder: the target's phis take the values straight from its predecessors, so
/// every arm of the nest reaches one join and arms alike can merge, <see cref="TailMerging"/>);
/// a block reached by a single jump is merged into the block jumping to it.
/// Works on SSA (phis follow the edges; merged phis become copies) and on plain IR.
/// Requires: terminated blocks. Guarantees: none of the patterns above remains.
/// </summary>
internal static class SimplifyControlFlow
{
    // Predecessor lists kept per thread between rounds and functions (cleared, so they hold no blocks
    // between runs); a huge function's are not kept.
    private const int MaxRetainedLists = 1 << 12;
    [ThreadStatic] private static List<BasicBlock>[]? _lists;
    [ThreadStatic] private static List<BasicBlock>? _copy;
    [ThreadStatic] private static int _used;

    public static void Run(IrFunction function)
    {
        var changed = true;
        var first = true;
        // Chain merging's tables, rented once for every round (no round adds blocks: each clears what it uses).
        var predecessorCounts = Scratch<int>.Rent(function.Blocks.Count);
        var merged = Scratch<bool>.Rent(function.Blocks.Count);
        while (changed)
        {
            changed = FoldBranches(function);
            // After the first round every block is reachable unless a branch just folded: bypassing
            // removes what it leaves unreachable at once, and merging a chain keeps what is reached.
            // Before it, they are when the shared flow graph still describes the function.
            if (first ? !FlowGraph.Describes(function) : changed) FlowGraph.RemoveUnreachableBlocks(function);
            first = false;
            if (BypassEmptyBlocks(function))
            {
                // A bypassed block still jumps to its old target: gone before chains merge, which
                // would otherwise take it for the only predecessor of a join bypassed with its phis.
                FlowGraph.RemoveUnreachableBlocks(function);
                changed = true;
            }
            changed |= MergeChains(function, predecessorCounts, merged);
        }
        Scratch<bool>.Return(merged);
        Scratch<int>.Return(predecessorCounts);
        if (_lists is { } lists)
        {
            if (lists.Length > MaxRetainedLists) _lists = null;
            else for (var i = 0; i < _used; i++) lists[i].Clear();
            _used = 0;
        }
        _copy?.Clear();
    }

    private static bool FoldBranches(IrFunction function)
    {
        var changed = false;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            if (block.Terminator is not Branch branch) continue;
            if (branch.IfTrue == branch.IfFalse)
            {
                block.Terminator = new Jump(branch.IfTrue);
                changed = true;
            }
            else if (branch.Condition.IsConstant)
            {
                var (taken, dropped) = branch.Condition.Constant != 0 ? (branch.IfTrue, branch.IfFalse) : (branch.IfFalse, branch.IfTrue);
                foreach (var phi in CollectionsMarshal.AsSpan(dropped.Phis)) phi.RemovePredecessor(block);
                block.Terminator = new Jump(taken);
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>Predecessors of every block, by position (Index is set as a side effect).</summary>
    private static List<BasicBlock>[] Predecessors(IrFunction function)
    {
        var blocks = function.Blocks;
        var predecessors = _lists;
        if (predecessors is null || predecessors.Length < blocks.Count)
        {
            var grown = new List<BasicBlock>[Math.Max(blocks.Count, 2 * (predecessors?.Length ?? 8))];
            predecessors?.CopyTo(grown, 0);
            for (var i = predecessors?.Length ?? 0; i < grown.Length; i++) grown[i] = new List<BasicBlock>(2);
            _lists = predecessors = grown;
        }
        _used = Math.Max(_used, blocks.Count);
        for (var i = 0; i < blocks.Count; i++)
        {
            blocks[i].Index = i;
            predecessors[i].Clear();
        }
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var edges = FlowGraph.EdgesOf(block);
            for (var s = 0; s < edges.Count; s++) predecessors[edges[s].Index].Add(block);
        }
        return predecessors;
    }

    // B: (no phis, no instructions) jmp C   ==>  every predecessor P of B goes to C directly.
    private static bool BypassEmptyBlocks(IrFunction function)
    {
        if (!HasEmptyBlock(function)) return false;   // most rounds: no predecessor lists needed
        var changed = false;
        var predecessors = Predecessors(function);
        int[]? uses = null;
        for (var i = 1; i < function.Blocks.Count; i++)
        {
            var block = function.Blocks[i];
            if (block.Instructions.Count > 0) continue;
            if (block.Phis.Count > 0 && (block.Terminator is not Jump { Target: var next } || next == block
                                         || !FeedsOnlyTarget(block, next, uses ??= TailMerging.ReadCounts(function)))) continue;
            if (block.Terminator is Return ret)
            {
                // Duplicate a bare return into the blocks that jump to it.
                foreach (var predecessor in predecessors[i])
                    if (predecessor.Terminator is Jump && predecessor != block)
                    {
                        predecessor.Terminator = ret;
                        changed = true;
                    }
                continue;
            }
            if (block.Terminator is not Jump { Target: var target } || target == block) continue;
            var incoming = _copy ??= new List<BasicBlock>();
            incoming.Clear();
            incoming.AddRange(predecessors[i]);
            foreach (var predecessor in incoming)
            {
                if (!CanRedirect(predecessor, block, target, predecessors)) continue;
                foreach (var phi in CollectionsMarshal.AsSpan(target.Phis))
                    if (phi.ValueFrom(predecessor) is null) phi.Inputs.Add(new PhiInput(predecessor, Through(block, predecessor, phi.ValueFrom(block)!.Value)));
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis)) phi.RemovePredecessor(predecessor);
                predecessor.Terminator = FlowGraph.Retarget(predecessor.Terminator!, block, target);
                predecessors[i].Remove(predecessor);
                if (!predecessors[target.Index].Contains(predecessor)) predecessors[target.Index].Add(predecessor);
                changed = true;
            }
            if (predecessors[i].Count == 0)
            {
                // Unreachable now (removed next round): no longer a predecessor of its target.
                foreach (var phi in CollectionsMarshal.AsSpan(target.Phis)) phi.RemovePredecessor(block);
                predecessors[target.Index].Remove(block);
            }
        }
        if (uses is not null) Scratch<int>.Return(uses);
        return changed;
    }

    /// <summary>
    /// Is there a block <see cref="BypassEmptyBlocks"/> might bypass or duplicate: no instructions, and
    /// a jump elsewhere, or a return without phis that some other block jumps to? (A return block
    /// only branched to, such as the exit after SSA destruction, is left as it is: without this check
    /// every round built the predecessor lists for it.)
    /// </summary>
    private static bool HasEmptyBlock(IrFunction function)
    {
        var blocks = function.Blocks;
        var returns = false;
        for (var i = 1; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.Instructions.Count > 0) continue;
            if (block.Terminator is Jump jump && jump.Target != block) return true;
            if (block.Terminator is Return && block.Phis.Count == 0) returns = true;
        }
        if (!returns) return false;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
            if (block.Terminator is Jump { Target: var target } && target != block && target != blocks[0] && IsBareReturn(target)) return true;
        return false;
    }

    private static bool IsBareReturn(BasicBlock block) => block.Instructions.Count == 0 && block.Phis.Count == 0 && block.Terminator is Return;

    /// <summary>Whether every phi of <paramref name="block"/> is read only by <paramref name="target"/>'s phis on the edge from it (the counts are of all reads; moving a phi's input to another edge keeps them right).</summary>
    private static bool FeedsOnlyTarget(BasicBlock block, BasicBlock target, int[] uses)
    {
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
        {
            var reads = 0;
            foreach (var own in CollectionsMarshal.AsSpan(target.Phis))
                foreach (var input in own.Inputs)
                    if (input.Predecessor == block && !input.Value.IsConstant && input.Value.Register == phi.Destination) reads++;
            if (reads != uses[phi.Destination.Index]) return false;
        }
        return true;
    }

    /// <summary>The value that flows into the target on <paramref name="block"/>'s edge when control came from <paramref name="predecessor"/>: a phi of the block is its input from there.</summary>
    private static Operand Through(BasicBlock block, BasicBlock predecessor, Operand value)
    {
        if (value.IsConstant || block.Phis.Count == 0) return value;
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            if (phi.Destination == value.Register) return phi.ValueFrom(predecessor)!.Value;
        return value;
    }

    // When the predecessor already reaches the target on another edge, the target's phis would need
    // two values for one predecessor: only allowed when they agree (then the branch folds later).
    private static bool CanRedirect(BasicBlock predecessor, BasicBlock block, BasicBlock target, List<BasicBlock>[] predecessors)
    {
        if (predecessor == block) return false;
        if (target.Phis.Count == 0 || !predecessors[target.Index].Contains(predecessor)) return true;
        foreach (var phi in CollectionsMarshal.AsSpan(target.Phis))
            if (!phi.ValueFrom(predecessor)!.Value.Equals(Through(block, predecessor, phi.ValueFrom(block)!.Value))) return false;
        return true;
    }

    // P: ... jmp B, and B has no other predecessor  ==>  B's phis become copies, B's code joins P.
    private static bool MergeChains(IrFunction function, int[] predecessors, bool[] merged)
    {
        var changed = false;
        // Only how many predecessors each block has: a merge replaces one predecessor with another.
        var blocks = function.Blocks;
        var count = blocks.Count;
        for (var i = 0; i < count; i++) blocks[i].Index = i;
        Array.Clear(predecessors, 0, count);
        Array.Clear(merged, 0, count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var edges = FlowGraph.EdgesOf(block);
            for (var s = 0; s < edges.Count; s++) predecessors[edges[s].Index]++;
        }
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (merged[block.Index]) continue;
            while (block.Terminator is Jump { Target: var next } && next != block && next.Index != 0
                   && !merged[next.Index] && predecessors[next.Index] == 1)
            {
                foreach (var phi in CollectionsMarshal.AsSpan(next.Phis))
                    block.Instructions.Add(new Instruction(Opcode.Copy, phi.Destination, [phi.Inputs[0].Value], null, function.Location));
                block.Instructions.AddRange(next.Instructions);
                block.Terminator = next.Terminator;
                var edges = FlowGraph.EdgesOf(next);
                for (var s = 0; s < edges.Count; s++)
                {
                    var successor = edges[s];
                    foreach (var phi in CollectionsMarshal.AsSpan(successor.Phis)) phi.ReplacePredecessor(next, block);
                }
                merged[next.Index] = true;
                changed = true;
            }
        }
        if (changed)
        {
            var kept = 0;
            for (var i = 0; i < blocks.Count; i++)
                if (!merged[blocks[i].Index]) blocks[kept++] = blocks[i];
            blocks.RemoveRange(kept, blocks.Count - kept);
        }
        return changed;
    }
}
