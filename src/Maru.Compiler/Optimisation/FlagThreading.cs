using System.Numerics;
using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Jump threading of flags: a variable set to constants and tested by branches (an interpreter's
/// <c>running</c>, a search's <c>found</c>) is, after SSA destruction, copied around through the
/// join blocks of the branches that did not change it and tested again at the loop's bottom after
/// every step. A forward analysis finds, at every point, which of those registers are known to be
/// zero or known to be non-zero: a constant copy sets that, a copy copies it, the true edge of a
/// branch on v says v (and every register still equal to v by a copy in that block) is non-zero,
/// the false edge that it is zero; a block's knowledge is what all its incoming edges agree on
/// (iterated to the fixed point, so it holds on every path). A branch whose condition is known
/// becomes a jump: the step that left the flag alone goes straight back into the loop, the one
/// that cleared it straight out. Where the flag is unknown only because paths meet in join blocks
/// that hold nothing but copies, each path that knows it gets its own copies of the joins' copies
/// and jumps past them (<see cref="ThreadJoins"/>, bounded). Copies nothing reads any more are then deleted.
/// The same finds a loop variable known non-zero where a copy of it is tested again (an inlined
/// copy of the function re-testing its argument). Only registers of a copy web (registers joined
/// by copies; a phi's copies after SSA destruction) that a branch tests are tracked, at most 64
/// (one machine word per block and fact), so the pass stays linear in the function's size.
/// Requires: Plain form. Guarantees: Plain form; the same executions.
/// </summary>
internal static class FlagThreading
{
    private const int MaxTracked = 64;

    public static void Run(IrFunction function)
    {
        var count = function.RegisterCount;
        var slot = Scratch<int>.Rent(count);   // register -> 1 + its tracked bit, 0 when untracked
        try
        {
            if (Track(function, slot) == 0) return;
            var graph = FlowGraph.Of(function, withDominators: false);
            var blocks = function.Blocks;
            var n = blocks.Count;
            // Per block (Index): the facts after its instructions, and the registers equal to its branch's condition at its end.
            var nonZeroOut = Scratch<ulong>.Rent(n);
            var zeroOut = Scratch<ulong>.Rent(n);
            var equalOut = Scratch<ulong>.Rent(n);
            var visited = Scratch<bool>.Rent(n);
            try
            {
                Solve(graph, slot, nonZeroOut, zeroOut, equalOut, visited);
                var changed = false;
                foreach (var block in graph.ReversePostorder)
                {
                    if (block.Terminator is not Branch { Condition.IsConstant: false } branch || branch.IfTrue == branch.IfFalse) continue;
                    var bit = slot[branch.Condition.Register.Index] - 1;
                    if (bit < 0) continue;
                    var mask = 1UL << bit;
                    var (nonZero, zero) = ((nonZeroOut[block.Index] & mask) != 0, (zeroOut[block.Index] & mask) != 0);
                    if (nonZero == zero) continue;   // unknown (or a path that cannot run: left alone)
                    block.Terminator = new Jump(nonZero ? branch.IfTrue : branch.IfFalse);
                    changed = true;
                }
                changed |= ThreadJoins(graph, slot, nonZeroOut, zeroOut);
                if (!changed) return;
            }
            finally
            {
                Scratch<ulong>.Return(nonZeroOut);
                Scratch<ulong>.Return(zeroOut);
                Scratch<ulong>.Return(equalOut);
                Scratch<bool>.Return(visited);
            }
            ControlFlow.RemoveUnreachableBlocks(function);
            BranchThreading.RemoveUnreadDefinitions(function);
        }
        finally
        {
            Scratch<int>.Return(slot);
        }
    }

    private const int MaxChainBlocks = 16;
    private const int MaxChainCopies = 64;
    private const int MaxDuplicatedCopies = 1024;

    /// <summary>
    /// A block that jumps into a chain of join blocks holding only copies, the last of which
    /// branches on a flag, where the flag is known at the jump (the join is unknown only because
    /// other paths meet there): the block gets its own copies of the chain's copies and jumps
    /// where the branch would go. All threads are chosen on the unchanged blocks, then made.
    /// </summary>
    private static bool ThreadJoins(FlowGraph graph, int[] slot, ulong[] nonZeroOut, ulong[] zeroOut)
    {
        List<(BasicBlock From, List<BasicBlock> Chain, BasicBlock To)>? threads = null;
        var duplicated = 0;
        foreach (var from in graph.ReversePostorder)
        {
            if (from.Terminator is not Jump { Target: var at }) continue;
            var (nonZero, zero) = (nonZeroOut[from.Index], zeroOut[from.Index]);
            var chain = new List<BasicBlock>();
            var copies = 0;
            BasicBlock? to = null;
            while (chain.Count < MaxChainBlocks && at != from && at.Instructions.TrueForAll(i => i.Op == Opcode.Copy))
            {
                copies += at.Instructions.Count;
                if (copies > MaxChainCopies) break;
                Transfer(at, slot, ref nonZero, ref zero);
                chain.Add(at);
                if (at.Terminator is Jump jump)
                {
                    at = jump.Target;
                    continue;
                }
                if (at.Terminator is Branch { Condition.IsConstant: false } branch && branch.IfTrue != branch.IfFalse
                    && slot[branch.Condition.Register.Index] is > 0 and var bit)
                {
                    var mask = 1UL << (bit - 1);
                    var (isNonZero, isZero) = ((nonZero & mask) != 0, (zero & mask) != 0);
                    if (isNonZero != isZero) to = isNonZero ? branch.IfTrue : branch.IfFalse;
                }
                break;
            }
            if (to is null || duplicated + copies > MaxDuplicatedCopies) continue;
            duplicated += copies;
            (threads ??= new()).Add((from, chain, to));
        }
        if (threads is null) return false;
        foreach (var (from, chain, to) in threads)
        {
            foreach (var block in chain)
                foreach (var copy in CollectionsMarshal.AsSpan(block.Instructions))
                    from.Instructions.Add(new Instruction(Opcode.Copy, copy.Destination, [copy.Arguments[0]], null, copy.Location));
            from.Terminator = new Jump(to);
        }
        return true;
    }

    /// <summary>Chooses the tracked registers (fills <paramref name="slot"/>); returns how many.</summary>
    private static int Track(IrFunction function, int[] slot)
    {
        var count = function.RegisterCount;
        var parent = Scratch<int>.Rent(count);
        var flags = Scratch<byte>.Rent(count);   // per web root: 1 tested by a branch, 2 written by a copy
        try
        {
            for (var r = 0; r < count; r++) parent[r] = r;
            int Find(int r)
            {
                while (parent[r] != r) r = parent[r] = parent[parent[r]];
                return r;
            }
            var hasCopy = false;
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction is { Op: Opcode.Copy, Destination: { } d, Arguments: [{ IsConstant: false } source] })
                    {
                        var (a, b) = (Find(d.Index), Find(source.Register.Index));
                        if (a != b) parent[Math.Max(a, b)] = Math.Min(a, b);   // the smaller root wins: the same webs every time
                        hasCopy = true;
                    }
                    else if (instruction.Op == Opcode.Copy) hasCopy = true;
            if (!hasCopy) return 0;
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            {
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction is { Op: Opcode.Copy, Destination: { } d }) flags[Find(d.Index)] |= 2;
                if (block.Terminator is Branch { Condition.IsConstant: false } branch) flags[Find(branch.Condition.Register.Index)] |= 1;
            }
            // Registers of the qualifying webs, in register order (deterministic), while bits last.
            var tracked = 0;
            var webSize = Scratch<int>.Rent(count);
            try
            {
                for (var r = 0; r < count; r++)
                    if (flags[Find(r)] == 3) webSize[Find(r)]++;
                for (var r = 0; r < count; r++)
                {
                    var root = Find(r);
                    if (flags[root] != 3) continue;
                    if (root != r) continue;   // the root is its web's smallest register: met first
                    if (tracked + webSize[root] > MaxTracked) flags[root] = 0;   // the whole web or none of it
                    else tracked += webSize[root];
                }
                var next = 0;
                for (var r = 0; r < count; r++)
                    if (flags[Find(r)] == 3) slot[r] = ++next;
                return next;
            }
            finally
            {
                Scratch<int>.Return(webSize);
            }
        }
        finally
        {
            Scratch<byte>.Return(flags);
            Scratch<int>.Return(parent);
        }
    }

    /// <summary>Iterates the block facts to their fixed point (from "everything known" down, so loops settle on what every path gives).</summary>
    private static void Solve(FlowGraph graph, int[] slot, ulong[] nonZeroOut, ulong[] zeroOut, ulong[] equalOut, bool[] visited)
    {
        var predecessors = graph.Predecessors;
        var order = graph.ReversePostorder;
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var block in order)
            {
                ulong nonZero = ~0UL, zero = ~0UL;
                var any = false;
                if (block == graph.Entry) (nonZero, zero, any) = (0, 0, true);
                foreach (var from in predecessors[block.Index])
                {
                    if (!visited[from.Index]) continue;   // not yet reached in this round: assume everything (optimistic start)
                    var (nz, z) = (nonZeroOut[from.Index], zeroOut[from.Index]);
                    if (from.Terminator is Branch { Condition.IsConstant: false } test && test.IfTrue != test.IfFalse && slot[test.Condition.Register.Index] > 0)
                    {
                        if (test.IfTrue == block) nz |= equalOut[from.Index];
                        else z |= equalOut[from.Index];
                    }
                    (nonZero, zero, any) = (nonZero & nz, zero & z, true);
                }
                if (!any) continue;
                var equal = Transfer(block, slot, ref nonZero, ref zero);
                if (!visited[block.Index] || nonZeroOut[block.Index] != nonZero || zeroOut[block.Index] != zero || equalOut[block.Index] != equal)
                {
                    (nonZeroOut[block.Index], zeroOut[block.Index], equalOut[block.Index], visited[block.Index]) = (nonZero, zero, equal, true);
                    changed = true;
                }
            }
        }
    }

    /// <summary>The block's instructions applied to the facts; returns the registers equal to its branch's condition at its end.</summary>
    private static ulong Transfer(BasicBlock block, int[] slot, ref ulong nonZero, ref ulong zero)
    {
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
        {
            if (instruction.Destination is not { } d || slot[d.Index] == 0) continue;
            var mask = 1UL << (slot[d.Index] - 1);
            (nonZero, zero) = (nonZero & ~mask, zero & ~mask);
            if (instruction.Op != Opcode.Copy) continue;
            var source = instruction.Arguments[0];
            if (source.IsConstant)
            {
                if (source.Constant != 0) nonZero |= mask;
                else zero |= mask;
            }
            else if (slot[source.Register.Index] is > 0 and var s)
            {
                var from = 1UL << (s - 1);
                if ((nonZero & from) != 0) nonZero |= mask;
                if ((zero & from) != 0) zero |= mask;
            }
        }
        if (block.Terminator is not Branch { Condition.IsConstant: false } branch || slot[branch.Condition.Register.Index] == 0) return 0;
        // The registers still equal to the condition at the end: copies of it or its sources, neither written since (backwards).
        var equal = 1UL << (slot[branch.Condition.Register.Index] - 1);
        var written = 0UL;
        var instructions = block.Instructions;
        for (var i = instructions.Count - 1; i >= 0; i--)
        {
            if (instructions[i].Destination is not { } d || slot[d.Index] == 0) continue;
            var mask = 1UL << (slot[d.Index] - 1);
            if (instructions[i] is { Op: Opcode.Copy, Arguments: [{ IsConstant: false } source] } && slot[source.Register.Index] > 0)
            {
                var from = 1UL << (slot[source.Register.Index] - 1);
                // d = copy s with neither written after it: d and s are equal at the end.
                if ((written & (mask | from)) == 0)
                {
                    if ((equal & mask) != 0) equal |= from;
                    else if ((equal & from) != 0) equal |= mask;
                }
            }
            written |= mask;
        }
        return equal;
    }
}
