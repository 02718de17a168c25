using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Arms that do the same thing become one block: two blocks jumping to the same join, with the same
/// instructions (equal up to the names of what they define) and the same values for the join's phis,
/// are one; the second's predecessors go to the first. A <c>cond</c> whose tests <c>(= c 32)</c>,
/// <c>(= c 9)</c>, <c>(= c 10)</c> lead to equal bodies so has one target for all of them, which
/// <see cref="SwitchLowering"/> then tests as one range or one bit test (as gcc merges equal
/// <c>case</c> bodies). Needs the nest of joins a nested <c>cond</c> lowers to flattened into one
/// join first (<see cref="SimplifyControlFlow"/>).
/// A block merged away must define nothing read outside itself except by the join's phis on its edge
/// (its definitions are replaced by the kept block's); neither block has phis or is the entry.
/// Candidates are bucketed by a hash of their contents, so the pass is linear in the function's size.
/// Requires: SSA. Guarantees: SSA; the same effects in the same order on every path.
/// </summary>
internal static class TailMerging
{
    /// <summary>Longer blocks are not compared (their equality is rare and the comparison is per instruction anyway).</summary>
    internal const int MaxInstructions = 64;

    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count < 3 || !MayMerge(blocks)) return;
        var graph = FlowGraph.Of(function, withDominators: false);
        var count = blocks.Count;
        // Own predecessor lists, kept right as edges move (the flow graph's go stale at the first merge).
        var predecessors = new List<BasicBlock>?[count];
        for (var i = 0; i < count; i++)
        {
            var list = graph.Predecessors[i];
            if (list.Length > 0) predecessors[i] = [.. list];
        }
        int[]? uses = null;
        HashSet<BasicBlock>? removed = null;
        var buckets = new Dictionary<long, List<BasicBlock>>();
        for (var c = 0; c < count; c++)
        {
            var join = blocks[c];
            if (predecessors[c] is not { Count: >= 2 } incoming) continue;
            buckets.Clear();
            foreach (var arm in incoming)
            {
                if (JoinOf(arm, blocks[0]) != join || removed?.Contains(arm) == true) continue;
                var key = Hash(arm, join);
                if (!buckets.TryGetValue(key, out var bucket)) buckets[key] = bucket = new List<BasicBlock>(2);
                bucket.Add(arm);
            }
            foreach (var bucket in buckets.Values)
            {
                if (bucket.Count < 2) continue;
                uses ??= ReadCounts(function);
                for (var i = 0; i < bucket.Count; i++)
                {
                    var kept = bucket[i];
                    if (removed?.Contains(kept) == true) continue;
                    for (var j = i + 1; j < bucket.Count; j++)
                    {
                        var gone = bucket[j];
                        if (removed?.Contains(gone) == true || !Same(kept, gone, join, uses)) continue;
                        Merge(kept, gone, join, predecessors);
                        (removed ??= new()).Add(gone);
                    }
                }
            }
        }
        if (uses is not null) Scratch<int>.Return(uses);
        if (removed is not null) blocks.RemoveAll(removed.Contains);
    }

    /// <summary>
    /// Whether two candidate arms jump to one join with one <see cref="Shape"/>: arms <see cref="Same"/>
    /// calls equal have one, so without such a pair nothing merges, and the function is left as it is
    /// without building the flow graph or the predecessor lists. Unreachable blocks count too (a pair
    /// among them only means the full pass runs and finds nothing to do).
    /// </summary>
    private static bool MayMerge(List<BasicBlock> blocks)
    {
        // Open addressing on (join, hash): the blocks' ids are unique in the function.
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * blocks.Count));
        var keys = Scratch<long>.Rent(size);
        var used = Scratch<bool>.Rent(size);
        var pair = false;
        for (var i = 1; i < blocks.Count && !pair; i++)
        {
            var arm = blocks[i];
            if (JoinOf(arm, blocks[0]) is not { } join) continue;
            var key = Shape(arm) * 31 + join.Id;
            var slot = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> 40) & (size - 1);
            while (used[slot] && keys[slot] != key) slot = (slot + 1) & (size - 1);
            if (used[slot]) pair = true;
            used[slot] = true;
            keys[slot] = key;
        }
        Scratch<long>.Return(keys);
        Scratch<bool>.Return(used);
        return pair;
    }

    /// <summary>
    /// What <see cref="Same"/> requires equal, without naming registers (no search for definitions,
    /// unlike <see cref="Hash"/>): the operations, symbols' lengths, operand counts and constants.
    /// </summary>
    private static long Shape(BasicBlock arm)
    {
        long hash = arm.Instructions.Count;
        foreach (var instruction in CollectionsMarshal.AsSpan(arm.Instructions))
        {
            hash = hash * 0x1f + (long)instruction.Op * 0x3d + (instruction.Symbol?.Length ?? -1) * 7 + instruction.Arguments.Length;
            foreach (var argument in instruction.Arguments)
                hash = hash * 0x25 + (argument.IsConstant ? argument.Constant : long.MinValue);
        }
        return hash;
    }

    /// <summary>
    /// The join <paramref name="arm"/> may be merged into, or null when it is no candidate: an arm is a
    /// block other than the entry, without phis, of at most <see cref="MaxInstructions"/>, that jumps
    /// to another block. (The one statement of the rule for the prescan and the pass: it reads no
    /// <see cref="BasicBlock.Index"/>, which is stale before the flow graph is built.)
    /// </summary>
    private static BasicBlock? JoinOf(BasicBlock arm, BasicBlock entry) =>
        arm != entry && arm.Terminator is Jump { Target: var join } && join != arm && arm.Phis.Count == 0
        && arm.Instructions.Count <= MaxInstructions ? join : null;

    /// <summary>A hash of the block's instructions and of the join's phi inputs on its edge, its own definitions named by position.</summary>
    private static long Hash(BasicBlock arm, BasicBlock join)
    {
        var hash = new HashCode();
        hash.Add(arm.Instructions.Count);
        foreach (var instruction in CollectionsMarshal.AsSpan(arm.Instructions))
        {
            hash.Add(instruction.Op);
            hash.Add(instruction.Symbol);
            foreach (var argument in instruction.Arguments) hash.Add(Name(arm, argument));
        }
        foreach (var phi in CollectionsMarshal.AsSpan(join.Phis)) hash.Add(Name(arm, phi.ValueFrom(arm)!.Value));
        return hash.ToHashCode();

        static long Name(BasicBlock arm, Operand operand)
        {
            if (operand.IsConstant) return operand.Constant * 31 + 1;
            for (var k = 0; k < arm.Instructions.Count; k++)
                if (arm.Instructions[k].Destination == operand.Register) return -k - 1;   // defined here: by position
            return (long)operand.Register.Index << 1;
        }
    }

    /// <summary>Whether <paramref name="gone"/> does what <paramref name="kept"/> does, up to the names of their own definitions, and defines nothing read elsewhere.</summary>
    private static bool Same(BasicBlock kept, BasicBlock gone, BasicBlock join, int[] uses)
    {
        var a = kept.Instructions;
        var b = gone.Instructions;
        if (a.Count != b.Count) return false;
        // gone's definition -> kept's, by position (blocks are short: a linear search).
        for (var k = 0; k < a.Count; k++)
        {
            var (x, y) = (a[k], b[k]);
            if (x.Op != y.Op || x.Symbol != y.Symbol || x.FixedArguments != y.FixedArguments || x.Arguments.Length != y.Arguments.Length
                || x.Destination.HasValue != y.Destination.HasValue) return false;
            for (var n = 0; n < x.Arguments.Length; n++)
                if (!Matches(x.Arguments[n], y.Arguments[n], k)) return false;
        }
        foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
            if (!Matches(phi.ValueFrom(kept)!.Value, phi.ValueFrom(gone)!.Value, a.Count)) return false;
        // What gone defines must not be read outside it and the join's phis on its edge.
        for (var k = 0; k < b.Count; k++)
        {
            if (b[k].Destination is not { } defined) continue;
            var local = 0;
            foreach (var instruction in b)
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant && argument.Register == defined) local++;
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
                if (phi.ValueFrom(gone) is { IsConstant: false } value && value.Register == defined) local++;
            if (local != uses[defined.Index]) return false;
        }
        return true;

        // Operands of instruction `before` (or the phis, before = Count): equal constants; the same
        // outside register (not one kept defines); or the two blocks' definitions at one position before.
        bool Matches(Operand x, Operand y, int before)
        {
            if (x.IsConstant || y.IsConstant) return x.Equals(y);
            var p = DefinedAt(a, x.Register, before);
            var q = DefinedAt(b, y.Register, before);
            if (p >= 0 || q >= 0) return p == q;
            // Neither defined earlier here; a register defined later in kept (or in gone) would be an older value: refuse.
            return x.Register == y.Register && DefinedAt(a, x.Register, a.Count) < 0 && DefinedAt(b, y.Register, b.Count) < 0;
        }

        static int DefinedAt(List<Instruction> instructions, VReg register, int before)
        {
            for (var k = 0; k < before; k++)
                if (instructions[k].Destination == register) return k;
            return -1;
        }
    }

    /// <summary>Every edge into <paramref name="gone"/> goes to <paramref name="kept"/>; the join forgets gone's edge.</summary>
    private static void Merge(BasicBlock kept, BasicBlock gone, BasicBlock join, List<BasicBlock>?[] predecessors)
    {
        var into = predecessors[kept.Index] ??= new List<BasicBlock>();
        foreach (var predecessor in predecessors[gone.Index] ?? [])
        {
            var terminator = FlowGraph.Retarget(predecessor.Terminator!, gone, kept);
            if (terminator is Branch { IfTrue: var t, IfFalse: var f } && t == f) terminator = new Jump(t);
            predecessor.Terminator = terminator;
            if (!into.Contains(predecessor)) into.Add(predecessor);
        }
        predecessors[gone.Index] = null;
        predecessors[join.Index]!.Remove(gone);
        foreach (var phi in CollectionsMarshal.AsSpan(join.Phis)) phi.RemovePredecessor(gone);
    }

    /// <summary>How often each register is read (instructions, phis, terminators), in a rented array: give it back to <see cref="Scratch{T}"/>.</summary>
    internal static int[] ReadCounts(IrFunction function)
    {
        var uses = Scratch<int>.Rent(function.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs)
                    if (!input.Value.IsConstant) uses[input.Value.Register.Index]++;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) uses[argument.Register.Index]++;
            switch (block.Terminator)
            {
                case Branch { Condition.IsConstant: false } branch: uses[branch.Condition.Register.Index]++; break;
                case Return { Value.IsConstant: false } ret: uses[ret.Value.Register.Index]++; break;
            }
        }
        return uses;
    }
}
