using System.Runtime.InteropServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Short-circuit tests of one value against two constants become one unsigned comparison:
/// <c>(and (&gt;= c 48) (&lt;= c 57))</c> is <c>(c - 48) &lt;=u 9</c>, <c>(or (&lt; x 0) (&gt; x k))</c>
/// is <c>x &gt;u k</c> (lexers' character classes, bounds checks). Lowering makes such a test a
/// diamond in SSA: block A tests x against one constant and either goes straight to a merge M
/// (the result is then a constant 0 or 1 there) or on to block B, which holds nothing but a test of
/// the same x against another constant and jumps to M; M's phi takes B's test. Whatever the two
/// signed or equality tests are, the values of x for which the phi is 1 (or, when A supplies 1,
/// for which it is 0) are the intersection of two intervals, one interval [lo, hi], and
/// x in [lo, hi] is (x - lo) &lt;=u (hi - lo) with wrapping subtraction. A computes that, jumps to
/// M, and B goes away; what was a compare-and-branch, a compare and a phi is a subtraction and a
/// compare the backend fuses with the branch on the phi (cmp/ja). Exact for every 64-bit x.
/// Requires: SSA after copy propagation and Simplify (constants on the right of comparisons).
/// Guarantees: SSA; M's other phis are unchanged (a diamond whose phis differ between A and B is left alone).
/// </summary>
internal static class RangeChecks
{
    /// <summary>The most predecessors a merge may have for the branch form to look at its phis (bounds the work per test).</summary>
    private const int MaxMergeInputs = 256;

    public static void Run(IrFunction function)
    {
        var count = function.RegisterCount;
        Instruction?[]? definition = null;
        var graph = FlowGraph.Of(function, withDominators: false);
        List<BasicBlock>? removed = null;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            if (BranchForm(function, block, graph, ref definition, count))
            {
                (removed ??= new()).Add(block);
                continue;
            }
            // B: one test, one predecessor, straight to M.
            if (block.Phis.Count != 0 || block.Instructions.Count != 1 || block.Terminator is not Jump { Target: var merge }
                || merge == block || graph.Predecessors[block.Index] is not [var from] || from == block
                || from.Terminator is not Branch { Condition: { IsConstant: false } condition } branch
                || !(branch.IfTrue == block && branch.IfFalse == merge || branch.IfTrue == merge && branch.IfFalse == block)
                || block.Instructions[0] is not { Destination: { } tested } second
                || Test(second) is not var (x, secondOp, secondConstant))
                continue;
            definition ??= Definitions(function, count);
            if (condition.Register.Index >= count || Test(definition[condition.Register.Index]) is not var (y, firstOp, firstConstant) || y != x)
                continue;
            // The phi that takes B's test, a constant 0 or 1 from A; every other phi the same from both.
            Phi? result = null;
            var constant = 0L;
            var mergeable = true;
            foreach (var phi in CollectionsMarshal.AsSpan(merge.Phis))
            {
                var (fromA, fromB) = (phi.ValueFrom(from), phi.ValueFrom(block));
                if (fromA is null || fromB is null) { mergeable = false; break; }
                if (fromA.Value.Equals(fromB.Value)) continue;
                if (result is null && fromB.Value.Equals(Operand.Of(tested)) && fromA.Value is { IsConstant: true, Constant: 0 or 1 } k)
                    (result, constant) = (phi, k.Constant);
                else { mergeable = false; break; }
            }
            if (!mergeable || result is null) continue;
            // A goes straight to M when its test is `direct`: x outside that set reaches B's test.
            var direct = branch.IfTrue == merge;
            var reachesB = Interval(firstOp, firstConstant, holds: !direct);
            // The set where the result differs from A's constant: B's test holds (constant 0) or fails (constant 1).
            var decided = Interval(secondOp, secondConstant, holds: constant == 0);
            if (reachesB is not { } r || decided is not { } d) continue;
            var (lo, hi) = (Math.Max(r.Lo, d.Lo), Math.Min(r.Hi, d.Hi));
            var value = lo > hi
                ? Operand.Of(constant)   // B never changes the result
                : Operand.Of(InRange(function, from, x, lo, hi, inside: constant == 0, second.Location));
            result.Inputs[result.Inputs.FindIndex(input => input.Predecessor == from)] = new PhiInput(from, value);
            foreach (var phi in CollectionsMarshal.AsSpan(merge.Phis)) phi.RemovePredecessor(block);
            from.Terminator = new Jump(merge);
            block.Terminator = new Jump(block);   // unreachable now; dropped below
            (removed ??= new()).Add(block);
        }
        if (definition is not null)
        {
            Array.Clear(definition, 0, count);
            Scratch<Instruction?>.Return(definition);
        }
        if (removed is not null) function.Blocks.RemoveAll(removed.Contains);
    }

    /// <summary>
    /// The same two tests as branches (an and/or that is an if's or a while's condition): A
    /// branches on its test of x to B or to S; B holds nothing but a test of x and branches on it
    /// to S or to O. The x that reach O form one interval [lo, hi]: A tests that (B's test moves
    /// to A, in case its value is read elsewhere) and branches to O or S; B goes. S's phis must
    /// take the same value from A and B; O's take from A what they took from B.
    /// </summary>
    private static bool BranchForm(IrFunction function, BasicBlock block, FlowGraph graph, ref Instruction?[]? definition, int count)
    {
        if (block.Phis.Count != 0 || block.Instructions.Count != 1 || block.Terminator is not Branch { Condition: { IsConstant: false } condition } second
            || graph.Predecessors[block.Index] is not [var from] || from == block
            || from.Terminator is not Branch { Condition: { IsConstant: false } firstCondition } first
            || block.Instructions[0] is not { Destination: { } tested } test || condition.Register != tested
            || Test(test) is not var (x, secondOp, secondConstant))
            return false;
        if ((first.IfTrue == block) == (first.IfFalse == block)) return false;
        var shared = first.IfTrue == block ? first.IfFalse : first.IfTrue;
        var other = second.IfTrue == shared ? second.IfFalse : second.IfFalse == shared ? second.IfTrue : null;
        if (other is null || other == shared || other == block || shared == block || other == from) return false;
        definition ??= Definitions(function, count);
        if (firstCondition.Register.Index >= count || Test(definition[firstCondition.Register.Index]) is not var (y, firstOp, firstConstant) || y != x)
            return false;
        var reachesB = Interval(firstOp, firstConstant, holds: first.IfTrue == block);
        var toOther = Interval(secondOp, secondConstant, holds: second.IfTrue == other);
        if (reachesB is not { } r || toOther is not { } d) return false;
        var (lo, hi) = (Math.Max(r.Lo, d.Lo), Math.Min(r.Hi, d.Hi));
        if (lo > hi) return false;
        // The phi scan last, and only at a merge of few predecessors: a chain of n tests into one merge
        // (an or of n operands) would otherwise scan its n-input phis once per test, n^2 in all.
        if (shared.Phis.Count != 0 && graph.Predecessors[shared.Index].Length > MaxMergeInputs) return false;
        foreach (var phi in CollectionsMarshal.AsSpan(shared.Phis))
            if (phi.ValueFrom(from) is not { } a || phi.ValueFrom(block) is not { } b || !a.Equals(b)) return false;
        from.Instructions.Add(test);
        var inRange = InRange(function, from, x, lo, hi, inside: true, test.Location);
        from.Terminator = new Branch(Operand.Of(inRange), other, shared);
        foreach (var phi in CollectionsMarshal.AsSpan(shared.Phis)) phi.RemovePredecessor(block);
        foreach (var phi in CollectionsMarshal.AsSpan(other.Phis)) phi.ReplacePredecessor(block, from);
        block.Instructions.Clear();
        block.Terminator = new Jump(block);   // unreachable now; dropped at the end
        return true;
    }

    /// <summary>A comparison of a register with a constant (Simplify put the constant on the right).</summary>
    private static (VReg X, Opcode Op, long C)? Test(Instruction? instruction) =>
        instruction is { Op: var op, Arguments: [{ IsConstant: false } x, { IsConstant: true } c] }
        && op is Opcode.Equal or Opcode.NotEqual or Opcode.Less or Opcode.LessOrEqual or Opcode.Greater or Opcode.GreaterOrEqual
            ? (x.Register, op, c.Constant)
            : null;

    /// <summary>The signed values x for which (x op c) == holds, as one interval; null when that is not one (x != c holding) or empty.</summary>
    private static (long Lo, long Hi)? Interval(Opcode op, long c, bool holds)
    {
        if (!holds) op = op.Negated();
        return op switch
        {
            Opcode.Equal => (c, c),
            Opcode.Less when c != long.MinValue => (long.MinValue, c - 1),
            Opcode.LessOrEqual => (long.MinValue, c),
            Opcode.Greater when c != long.MaxValue => (c + 1, long.MaxValue),
            Opcode.GreaterOrEqual => (c, long.MaxValue),
            _ => null,
        };
    }

    /// <summary>Appends to <paramref name="block"/> the test of lo &lt;= x &lt;= hi (or its negation); returns its register.</summary>
    private static VReg InRange(IrFunction function, BasicBlock block, VReg x, long lo, long hi, bool inside, SourceLocation location)
    {
        var test = function.NewRegister();
        Instruction Compare(Opcode op, Operand a, long c) => new(op, test, [a, Operand.Of(c)], null, location);
        if (lo == long.MinValue && hi == long.MaxValue)
            block.Instructions.Add(new Instruction(Opcode.Copy, test, [Operand.Of(inside ? 1 : 0)], null, location));
        else if (lo == long.MinValue)   // one bound: a signed test is enough
            block.Instructions.Add(Compare(inside ? Opcode.LessOrEqual : Opcode.Greater, x, hi));
        else if (hi == long.MaxValue)
            block.Instructions.Add(Compare(inside ? Opcode.GreaterOrEqual : Opcode.Less, x, lo));
        else if (lo == hi)
            block.Instructions.Add(Compare(inside ? Opcode.Equal : Opcode.NotEqual, x, lo));
        else
        {
            Operand offset = x;
            if (lo != 0)
            {
                var shifted = function.NewRegister();
                block.Instructions.Add(new Instruction(Opcode.Subtract, shifted, [x, Operand.Of(lo)], null, location));
                offset = shifted;
            }
            block.Instructions.Add(Compare(inside ? Opcode.BelowOrEqual : Opcode.Above, offset, unchecked(hi - lo)));
        }
        return test;
    }

    private static Instruction?[] Definitions(IrFunction function, int count)
    {
        var definition = Scratch<Instruction?>.Rent(count);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
        return definition;
    }
}
