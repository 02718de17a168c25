using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Signed intervals [lo, hi] of every SSA value, and what they make cheap. Sources of facts:
/// constants, byte loads (0..255), truth values (0..1), interval arithmetic that proves no
/// wrap-around (add, sub, mul, shifts by constants, neg), masks (<c>(&amp; x 15)</c> of any x is
/// 0..15), division and remainder (|x % y| &lt; |y|, with the dividend's sign), phis (the union of
/// their inputs), and the branches that dominate a use: past <c>(&lt; i n)</c> i is at most n's
/// largest value minus 1, past <c>(while b ...)</c>'s test b is not 0, past <c>(!= x 0)</c> likewise,
/// past a range check <c>(x - lo) &lt;=u k</c> x is in [lo, lo + k]. A loop's induction variable
/// so gets its bounds: <c>i = phi(0, i + 1)</c> under <c>(&lt; i n)</c> is [0, MAX] with no
/// wrap, and <c>(for (b 2 17) ...)</c>'s b is [2, 16] in the body.
/// The solution is an ascending fixed point over the blocks in reverse postorder (a phi whose
/// range keeps growing jumps to the type's ends after <see cref="WideningAfter"/> changes), then
/// <see cref="NarrowingRounds"/> descending rounds that take back what widening gave away where
/// the loop's test bounds it. A function that does not settle within <see cref="MaxRounds"/> is
/// left alone. Facts of a use are looked up along at most <see cref="MaxFactDepth"/> dominating
/// decided edges, so the pass stays linear in the function's size.
/// What it changes: (1) a Divide or Remainder by a register records in
/// <see cref="Instruction.DivisionFacts"/> a divisor never 0 and no MIN / -1, so the backends
/// drop the checks the total semantics need only then (x86-64's range check before idiv,
/// AArch64's zero test of the remainder); (2) a pure instruction whose value is one constant
/// becomes a copy of it, and an operand known to be one constant becomes that constant, with
/// the identities that leaves (x + 0, x - 0, ...) copies: the sign corrections of a division by
/// a constant of a dividend known non-negative go (<c>q - (q &gt;&gt; 63)</c> is q).
/// Runs only on functions that divide (by a register, or by a constant through a multiply-high
/// or a sign shift), late (after every SSA pass that copies or merges instructions), so a fact
/// is never carried to a place it was not proven for.
/// Requires: SSA. Guarantees: SSA; the same value on every path.
/// </summary>
internal static class ValueRanges
{
    public const int MaxRounds = 24;
    public const int WideningAfter = 2;
    public const int NarrowingRounds = 2;
    public const int MaxFactDepth = 12;
    public const int MaxNestedFactDepth = 6;

    private const long Min = long.MinValue, Max = long.MaxValue;

    public static void Run(IrFunction function)
    {
        if (!Worth(function)) return;
        var solver = new Solver(function);
        try
        {
            if (solver.Solve()) solver.Apply();
        }
        finally
        {
            solver.Return();
        }
    }

    /// <summary>Whether the function divides by a register, or carries a division by a constant's multiply-high or sign shift.</summary>
    private static bool Worth(IrFunction function)
    {
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                switch (instruction.Op)
                {
                    case Opcode.Divide or Opcode.Remainder when !instruction.Arguments[1].IsConstant:
                    case Opcode.MultiplyHigh:
                    case Opcode.ShiftRight or Opcode.ShiftRightLogical when instruction.Arguments[1] is { IsConstant: true, Constant: 63 }:
                        return true;
                }
        return false;
    }

    /// <summary>The values a register may hold: [Lo, Hi], without 0 when <see cref="Nonzero"/> (a hole, as for -5..-1 and 1..7 together).</summary>
    private readonly record struct Values(long Lo, long Hi, bool Nonzero)
    {
        public static readonly Values All = new(Min, Max, false);

        public static Values Of(long lo, long hi) => new(lo, hi, lo > 0 || hi < 0);

        public static Values Of(long value) => new(value, value, value != 0);

        public bool IsOne => Lo == Hi;

        /// <summary>0 is not among the values (the hole, or both ends on one side of it).</summary>
        public bool ExcludesZero => Nonzero || Lo > 0 || Hi < 0;

        /// <summary>Both sets' values.</summary>
        public Values Union(Values other) => new(Math.Min(Lo, other.Lo), Math.Max(Hi, other.Hi), ExcludesZero && other.ExcludesZero);

        /// <summary>Without 0 (the ends moved in when one of them was 0); null when nothing is left.</summary>
        public Values? WithoutZero()
        {
            var (lo, hi) = (Lo == 0 ? 1 : Lo, Hi == 0 ? -1 : Hi);
            return lo <= hi ? new Values(lo, hi, true) : null;
        }

        /// <summary>Only the values in [lo, hi]; null when nothing is left.</summary>
        public Values? Within(long lo, long hi)
        {
            lo = Math.Max(lo, Lo);
            hi = Math.Min(hi, Hi);
            if (lo > hi) return null;
            var nonzero = ExcludesZero || lo > 0 || hi < 0;
            if (nonzero && lo == 0) lo = 1;
            if (nonzero && hi == 0) hi = -1;
            return lo <= hi ? new Values(lo, hi, nonzero) : null;
        }
    }

    private sealed class Solver
    {
        private readonly FlowGraph _graph;
        private readonly int _count;
        private readonly Values[] _values;
        private readonly bool[] _known;        // has values (else: not reached yet, the empty set)
        private readonly byte[] _changes;      // a phi's changes, for widening
        private readonly Instruction?[] _definition;
        // Decided edges: a block entered only over one edge of a two-way branch carries that edge's fact.
        private readonly int[] _factOwner;     // by block: the nearest dominating block (itself included) with a fact, or -1
        private readonly int[] _factParent;    // by block with a fact: the next one up, or -1
        private readonly VReg[] _factCondition;
        private readonly bool[] _factHolds;

        public Solver(IrFunction function)
        {
            _graph = FlowGraph.Of(function);
            _count = function.RegisterCount;
            _values = Scratch<Values>.Rent(_count);
            _known = Scratch<bool>.Rent(_count);
            _changes = Scratch<byte>.Rent(_count);
            _definition = Scratch<Instruction?>.Rent(_count);
            var defined = Scratch<bool>.Rent(_count);
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            {
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis)) defined[phi.Destination.Index] = true;
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction.Destination is { } d)
                    {
                        _definition[d.Index] = instruction;
                        defined[d.Index] = true;
                    }
            }
            // Parameters and anything without a definition here: every value.
            for (var r = 0; r < _count; r++)
                if (!defined[r]) Set(r, Values.All);
            Scratch<bool>.Return(defined);

            var blockCount = function.Blocks.Count;
            _factOwner = Scratch<int>.Rent(blockCount);
            _factParent = Scratch<int>.Rent(blockCount);
            _factCondition = Scratch<VReg>.Rent(blockCount);
            _factHolds = Scratch<bool>.Rent(blockCount);
            _factOwner.AsSpan(0, blockCount).Fill(-1);
            _factParent.AsSpan(0, blockCount).Fill(-1);
            var dominator = _graph.ImmediateDominator;
            foreach (var block in _graph.ReversePostorder)
            {
                var i = block.Index;
                var above = block == _graph.Entry ? -1 : _factOwner[dominator[i].Index];
                _factOwner[i] = above;
                if (block == _graph.Entry || OnlyEntry(block) is not { } from) continue;
                if (from.Terminator is not Branch { Condition: { IsConstant: false } condition } branch || branch.IfTrue == branch.IfFalse) continue;
                _factCondition[i] = condition.Register;
                _factHolds[i] = branch.IfTrue == block;
                _factParent[i] = above;
                _factOwner[i] = i;
            }
        }

        /// <summary>
        /// The block's one predecessor it does not dominate, when the others are its back edges (a loop
        /// header entered once) or there are none: what that edge decided holds in every block it
        /// dominates, since the values a branch tests were made before it and every path that
        /// leaves the block's region comes back through that edge.
        /// </summary>
        private BasicBlock? OnlyEntry(BasicBlock block)
        {
            BasicBlock? entry = null;
            foreach (var predecessor in _graph.Predecessors[block.Index])
            {
                if (_graph.Dominates(block, predecessor)) continue;
                if (entry is not null) return null;
                entry = predecessor;
            }
            return entry;
        }

        public void Return()
        {
            Scratch<Values>.Return(_values);
            Scratch<bool>.Return(_known);
            Scratch<byte>.Return(_changes);
            Array.Clear(_definition, 0, _count);
            Scratch<Instruction?>.Return(_definition);
            Scratch<int>.Return(_factOwner);
            Scratch<int>.Return(_factParent);
            Scratch<VReg>.Return(_factCondition);
            Scratch<bool>.Return(_factHolds);
        }

        private void Set(int r, Values values)
        {
            _values[r] = values;
            _known[r] = true;
        }

        /// <summary>Ascending rounds with widening, then narrowing ones; false when it did not settle.</summary>
        public bool Solve()
        {
            var settled = false;
            for (var round = 0; round < MaxRounds && !settled; round++)
                settled = !Round(widen: true);
            if (!settled) return false;
            for (var round = 0; round < NarrowingRounds; round++)
                if (!Round(widen: false)) break;
            return true;
        }

        /// <summary>One pass over the reachable blocks; whether any register's values changed.</summary>
        private bool Round(bool widen)
        {
            var changed = false;
            foreach (var block in _graph.ReversePostorder)
            {
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                {
                    Values? union = null;
                    foreach (var input in phi.Inputs)
                        if (OnEdge(input.Value, input.Predecessor, block) is { } values)
                            union = union is { } u ? u.Union(values) : values;
                    if (union is not { } next) continue;
                    var r = phi.Destination.Index;
                    if (_known[r] && _values[r] == next) continue;
                    if (widen && _known[r])
                    {
                        // Ascending: only grow; after a few changes the moving ends jump to the limits.
                        var old = _values[r];
                        next = next.Union(old);
                        if (next == old) continue;
                        if (++_changes[r] > WideningAfter)
                            next = new Values(next.Lo < old.Lo ? Min : next.Lo, next.Hi > old.Hi ? Max : next.Hi, next.Nonzero);
                    }
                    Set(r, next);
                    changed = true;
                }
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    if (instruction.Destination is not { } d) continue;
                    var values = Evaluate(instruction, block);
                    var r = d.Index;
                    if (_known[r] && _values[r] == values) continue;
                    Set(r, values);
                    changed = true;
                }
            }
            return changed;
        }

        /// <summary>A phi input's values on the edge from <paramref name="from"/> to <paramref name="to"/>; null while it has none.</summary>
        private Values? OnEdge(Operand value, BasicBlock from, BasicBlock to)
        {
            if (value.IsConstant) return Values.Of(value.Constant);
            var r = value.Register.Index;
            if (!_known[r]) return null;
            var values = _values[r];
            if (from.Terminator is Branch { Condition: { IsConstant: false } condition } branch && branch.IfTrue != branch.IfFalse)
                values = Refine(r, values, condition.Register, branch.IfTrue == to, from.Index, nested: false);
            return RefineAt(r, values, from.Index, nested: false);
        }

        /// <summary>An operand's values where <paramref name="block"/> uses it (every value when it has none yet).</summary>
        private Values At(Operand operand, BasicBlock block)
        {
            if (operand.IsConstant) return Values.Of(operand.Constant);
            var r = operand.Register.Index;
            if (r >= _count || !_known[r]) return Values.All;
            return RefineAt(r, _values[r], block.Index, nested: false);
        }

        /// <summary>
        /// r's values narrowed by the decided edges that dominate <paramref name="block"/>. A fact
        /// comparing r with another register narrows that one first by the same edges (one level:
        /// its own comparisons with others then use their values without facts).
        /// </summary>
        private Values RefineAt(int r, Values values, int block, bool nested)
        {
            var f = _factOwner[block];
            var limit = nested ? MaxNestedFactDepth : MaxFactDepth;
            for (var depth = 0; f >= 0 && depth < limit; depth++, f = _factParent[f])
                values = Refine(r, values, _factCondition[f], _factHolds[f], f, nested);
            return values;
        }

        /// <summary>
        /// What the decided edges dominating <paramref name="block"/> say about a divisor outside any
        /// interval: <c>(d + 1) &gt;u 1</c> held (d is neither -1 nor 0, the test
        /// <see cref="DivisorVersioning"/> puts before a loop copy, kept when that function is inlined)
        /// or <c>d != -1</c> held. Two holes an interval cannot hold, asked only for a division.
        /// </summary>
        private DivisionFacts TestedDivisor(VReg divisor, int block)
        {
            var f = _factOwner[block];
            for (var depth = 0; f >= 0 && depth < MaxFactDepth; depth++, f = _factParent[f])
            {
                if (_factCondition[f].Index >= _count || _definition[_factCondition[f].Index] is not { } test) continue;
                var op = _factHolds[f] ? test.Op : test.Op.IsComparison() ? test.Op.Negated() : test.Op;
                switch (op)
                {
                    case Opcode.Above when test.Arguments is [{ IsConstant: false } t, { IsConstant: true, Constant: 1 }]
                                            && t.Register.Index < _count && _definition[t.Register.Index] is { Op: Opcode.Add } sum
                                            && sum.Arguments is [{ IsConstant: false } d, { IsConstant: true, Constant: 1 }] && d.Register == divisor:
                        return DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow;
                    case Opcode.NotEqual when test.Arguments is [{ IsConstant: false } d, { IsConstant: true, Constant: -1 }] && d.Register == divisor:
                        return DivisionFacts.NoOverflow;
                }
            }
            return DivisionFacts.None;
        }

        /// <summary>What knowing that <paramref name="condition"/> is nonzero (holds) or zero says about register r; an impossible answer keeps what was known.</summary>
        private Values Refine(int r, Values values, VReg condition, bool holds, int block, bool nested)
        {
            Values? refined = null;
            if (condition.Index == r) refined = holds ? values.WithoutZero() : values.Within(0, 0);
            else if (condition.Index < _count && _definition[condition.Index] is { } test)
            {
                var args = test.Arguments;
                switch (test.Op)
                {
                    case Opcode.LogicalNot when args[0] is { IsConstant: false } x && x.Register.Index == r:
                        refined = holds ? values.Within(0, 0) : values.WithoutZero();
                        break;
                    case Opcode.Equal or Opcode.NotEqual or Opcode.Less or Opcode.LessOrEqual or Opcode.Greater or Opcode.GreaterOrEqual:
                    {
                        var op = holds ? test.Op : test.Op.Negated();
                        Operand other;
                        if (args[0] is { IsConstant: false } a && a.Register.Index == r) other = args[1];
                        else if (args[1] is { IsConstant: false } b && b.Register.Index == r)
                        {
                            other = args[0];
                            op = op.Mirrored();
                        }
                        else break;
                        if (!other.IsConstant && other.Register.Index == r) break;
                        var o = Plain(other);
                        if (!nested && !other.IsConstant) o = RefineAt(other.Register.Index, o, block, nested: true);
                        if (NoWrapBound(r, other, op) is var (low, high)) values = values.Within(low, high) ?? values;
                        refined = op switch
                        {
                            Opcode.Less when o.Hi != Min => values.Within(Min, o.Hi - 1),
                            Opcode.LessOrEqual => values.Within(Min, o.Hi),
                            Opcode.Greater when o.Lo != Max => values.Within(o.Lo + 1, Max),
                            Opcode.GreaterOrEqual => values.Within(o.Lo, Max),
                            Opcode.Equal => values.Within(o.Lo, o.Hi) is { } v && o.ExcludesZero ? v.WithoutZero() : values.Within(o.Lo, o.Hi),
                            Opcode.NotEqual when o.IsOne && o.Lo == 0 => values.WithoutZero(),
                            Opcode.NotEqual when o.IsOne && o.Lo == values.Lo => values.Within(values.Lo + 1, Max),
                            Opcode.NotEqual when o.IsOne && o.Lo == values.Hi => values.Within(Min, values.Hi - 1),
                            _ => null,
                        };
                        break;
                    }
                    case Opcode.Below or Opcode.BelowOrEqual or Opcode.Above or Opcode.AboveOrEqual
                        when args[1] is { IsConstant: true } limit && !args[0].IsConstant:
                    {
                        // x <u k (or <=u) with 0 < k: x in [0, k - 1] ([0, k]); also x = y + c, y in [-c, k - 1 - c].
                        var op = holds ? test.Op : test.Op.Negated();
                        if (op is not (Opcode.Below or Opcode.BelowOrEqual) || limit.Constant < 0) break;
                        var top = op == Opcode.Below ? limit.Constant - 1 : limit.Constant;
                        if (top < 0) break;
                        var tested = args[0].Register;
                        Int128 offset = 0;
                        if (tested.Index != r)
                        {
                            if (tested.Index >= _count || _definition[tested.Index] is not { } sum
                                || sum.Op is not (Opcode.Add or Opcode.Subtract)
                                || sum.Arguments[0] is not { IsConstant: false } y || y.Register.Index != r
                                || sum.Arguments[1] is not { IsConstant: true } c) break;
                            offset = sum.Op == Opcode.Add ? -(Int128)c.Constant : c.Constant;
                        }
                        var (l, h) = (offset, top + offset);
                        if (l < Min || h > Max) break;   // the sum wrapped somewhere in there: no interval
                        refined = values.Within((long)l, (long)h);
                        break;
                    }
                }
            }
            return refined ?? values;
        }

        /// <summary>
        /// y - k &lt; y (k &gt; 0) holds exactly when the subtraction did not wrap, so then y - k is at
        /// most MAX - k; likewise y + k &gt; y (k &gt; 0) puts y + k at least MIN + k. What a loop
        /// unroller's guard <c>lim = n - 3; lim &lt; n</c> proves about lim.
        /// </summary>
        private (long Lo, long Hi)? NoWrapBound(int r, Operand other, Opcode op)
        {
            if (other.IsConstant || _definition[r] is not { Arguments: [{ IsConstant: false } y, { IsConstant: true } k] } sum || y.Register != other.Register)
                return null;
            Int128 step = sum.Op switch
            {
                Opcode.Add => k.Constant,
                Opcode.Subtract => -(Int128)k.Constant,
                _ => 0,
            };
            if (step < 0 && op is Opcode.Less or Opcode.LessOrEqual) return (Min, (long)(Max + step));
            if (step > 0 && op is Opcode.Greater or Opcode.GreaterOrEqual) return ((long)(Min + step), Max);
            return null;
        }

        /// <summary>A value's values without facts of a place (every value when it has none yet).</summary>
        private Values Plain(Operand operand)
        {
            if (operand.IsConstant) return Values.Of(operand.Constant);
            var r = operand.Register.Index;
            return r < _count && _known[r] ? _values[r] : Values.All;
        }

        private Values Evaluate(Instruction instruction, BasicBlock block)
        {
            var args = instruction.Arguments;
            switch (instruction.Op)
            {
                case Opcode.Copy:
                    return At(args[0], block);
                case Opcode.LoadByte:
                    return Values.Of(0, 255);
                case Opcode.LogicalNot:
                {
                    var v = At(args[0], block);
                    if (v.ExcludesZero) return Values.Of(0);
                    return v.IsOne ? Values.Of(1) : Values.Of(0, 1);   // one value, not nonzero: 0
                }
                case Opcode.Negate:
                {
                    var v = At(args[0], block);
                    return v.Lo == Min ? Values.All with { Nonzero = v.Nonzero } : new Values(-v.Hi, -v.Lo, v.Nonzero);
                }
                case Opcode.ShiftRight or Opcode.Add when Quotient(instruction, out var x, out var multiplier, out var shift):
                {
                    // A division by a constant's multiply-high: floor(x * M / 2^(64+s)) grows with x.
                    var v = At(x, block);
                    return Values.Of(FloorQuotient(v.Lo, multiplier, shift), FloorQuotient(v.Hi, multiplier, shift));
                }
                case Opcode.Subtract when RemainderDividend(instruction) is var (x, divisor, truncated)
                                          && (truncated || At(x, block).Lo >= 0):
                    // x - trunc(x / d) * d is x % d: |r| < d with x's sign (an interval difference would lose both);
                    // the floor quotient without its sign correction is trunc only for x >= 0.
                    return Binary(Opcode.Remainder, At(x, block), Values.Of(divisor));
                case var op when op.IsBinary():
                    return Binary(op, At(args[0], block), At(args[1], block));
                case Opcode.Select:
                {
                    var c = At(args[0], block);
                    if (c.ExcludesZero) return At(args[1], block);
                    return c.IsOne ? At(args[2], block) : At(args[1], block).Union(At(args[2], block));   // one value, not nonzero: 0
                }
                default:
                    return Values.All;
            }
        }

        /// <summary>
        /// Whether <paramref name="instruction"/> is the floor quotient Simplify's division by a
        /// constant computes: <c>mulh x, M</c> (M &gt;= 0) or <c>add (mulh x, M), x</c> (M &lt; 0, the
        /// multiplier 2^64 + M), optionally shifted right by a constant s; then its value is
        /// floor(x * multiplier / 2^(64+s)) for every x.
        /// </summary>
        private bool Quotient(Instruction instruction, out Operand x, out Int128 multiplier, out int shift)
        {
            (x, multiplier, shift) = (default, 0, 0);
            var inner = instruction;
            if (instruction is { Op: Opcode.ShiftRight, Arguments: [{ IsConstant: false } t, { IsConstant: true } s] })
            {
                if (s.Constant is <= 0 or >= 63 || Defined(t) is not { } shifted) return false;
                shift = (int)s.Constant;
                inner = shifted;
            }
            if (inner is { Op: Opcode.MultiplyHigh, Arguments: [{ IsConstant: false } a, var m] } && ConstantOf(m) is >= 0 and var positive)
            {
                (x, multiplier) = (a, positive);
                return true;
            }
            if (inner is not { Op: Opcode.Add, Arguments: [{ IsConstant: false } p, { IsConstant: false } q] }) return false;
            if (WrappedMultiplier(p, q) is { } first) (x, multiplier) = (q, first);
            else if (WrappedMultiplier(q, p) is { } second) (x, multiplier) = (p, second);
            else return false;
            return true;
        }

        /// <summary>2^64 + M when <paramref name="high"/> is <c>mulh x, M</c> with M &lt; 0 and x the register <paramref name="added"/>.</summary>
        private Int128? WrappedMultiplier(Operand high, Operand added) =>
            Defined(high) is { Op: Opcode.MultiplyHigh, Arguments: [{ IsConstant: false } b, var n] }
            && ConstantOf(n) is < 0 and var negative && b.Register == added.Register
                ? (Int128)negative + ((Int128)1 << 64)
                : null;

        /// <summary>The constant an operand is: itself, or a register copied from one (LICM leaves such copies before loops).</summary>
        private long? ConstantOf(Operand operand) =>
            operand.IsConstant ? operand.Constant
            : Defined(operand) is { Op: Opcode.Copy, Arguments: [{ IsConstant: true } k] } ? k.Constant
            : null;

        private static long FloorQuotient(long x, Int128 multiplier, int shift) => (long)((x * multiplier) >> (64 + shift));

        /// <summary>
        /// <c>x - q * d</c> where q is x / d truncated as Simplify divides by a constant d &gt;= 2 (the
        /// floor quotient of <see cref="DivisionMagic"/>'s multiplier for d, corrected by its sign):
        /// the dividend and d, or null.
        /// </summary>
        private (Operand Dividend, long Divisor, bool Truncated)? RemainderDividend(Instruction instruction)
        {
            if (instruction.Arguments is not [{ IsConstant: false } x, { IsConstant: false } product]
                || Defined(product) is not { Op: Opcode.Multiply, Arguments: [var f, var g] }) return null;
            var (q, d) = ConstantOf(g) is { } gk ? (f, gk) : ConstantOf(f) is { } fk ? (g, fk) : (default, 0L);
            if (d < 3 || q.IsConstant || Defined(q) is not { } quotient) return null;
            // trunc(x / d) = floor - (floor >> 63) of the same floor value; or the floor value alone
            var truncated = quotient is { Op: Opcode.Subtract, Arguments: [{ IsConstant: false } floor, { IsConstant: false } sign] }
                && Defined(sign) is { Op: Opcode.ShiftRight, Arguments: [{ IsConstant: false } signOf, { IsConstant: true, Constant: 63 }] }
                && signOf.Register == floor.Register;
            var floorQuotient = truncated ? Defined(quotient.Arguments[0]) : quotient;
            if (floorQuotient is null || !Quotient(floorQuotient, out var dividend, out var multiplier, out var shift)
                || dividend.Register != x.Register)
                return null;
            var (m, s) = DivisionMagic.Signed(d);
            var expected = m >= 0 ? (Int128)m : (Int128)m + ((Int128)1 << 64);
            return expected == multiplier && s == shift ? (x, d, truncated) : null;
        }

        private Instruction? Defined(Operand operand) =>
            !operand.IsConstant && operand.Register.Index < _count ? _definition[operand.Register.Index] : null;

        private static Values Binary(Opcode op, Values a, Values b)
        {
            switch (op)
            {
                case Opcode.Add: return Fit((Int128)a.Lo + b.Lo, (Int128)a.Hi + b.Hi);
                case Opcode.Subtract: return Fit((Int128)a.Lo - b.Hi, (Int128)a.Hi - b.Lo);
                case Opcode.Multiply:
                {
                    // No wrap-around: a product of nonzero factors is nonzero.
                    var product = Corners(a, b, static (x, y) => x * y);
                    return product != Values.All && a.ExcludesZero && b.ExcludesZero ? product with { Nonzero = true } : product;
                }
                case Opcode.MultiplyHigh: return Corners(a, b, static (x, y) => (x * y) >> 64);
                case Opcode.Divide:
                    if (b.Lo >= 1 || b.Hi <= -2) return Corners(a, b, static (x, y) => x / y);
                    if (a.Lo == Min) return Values.All;
                    var m = Math.Max(Math.Abs(a.Lo), Math.Abs(a.Hi));   // x / 0 = 0, x / -1 = -x, else |q| <= |x|
                    return Values.Of(-m, m);
                case Opcode.Remainder:
                {
                    // |x % y| < |y| and <= |x|, with x's sign (x % 0 = x % -1 = 0 fit).
                    var magnitude = Int128.Max(Magnitude(b.Lo), Magnitude(b.Hi));
                    var r = magnitude == 0 ? 0 : (long)(magnitude - 1);
                    var lo = a.Lo >= 0 ? 0 : Math.Max(a.Lo, -r);
                    var hi = a.Hi <= 0 ? 0 : Math.Min(a.Hi, r);
                    return Values.Of(lo, hi);
                }
                case Opcode.And:
                    if (a.Lo >= 0 && b.Lo >= 0) return Values.Of(0, Math.Min(a.Hi, b.Hi));
                    if (a.Lo >= 0) return Values.Of(0, a.Hi);
                    if (b.Lo >= 0) return Values.Of(0, b.Hi);
                    return Values.All;
                case Opcode.Or or Opcode.Xor:
                    if (a.Lo >= 0 && b.Lo >= 0) return Values.Of(op == Opcode.Or ? Math.Max(a.Lo, b.Lo) : 0, Fill(Math.Max(a.Hi, b.Hi)));
                    return Values.All;
                case Opcode.ShiftLeft:
                    if (!b.IsOne) return Values.All;
                    var left = (int)(b.Lo & 63);
                    return Fit((Int128)a.Lo << left, (Int128)a.Hi << left);
                case Opcode.ShiftRightLogical:
                {
                    if (!b.IsOne || (b.Lo & 63) == 0) return a.Lo >= 0 ? Values.Of(0, a.Hi) : Values.All;
                    var count = (int)(b.Lo & 63);
                    // Zeros come in from the left: [0, 2^(64-k) - 1], or the arithmetic shift's values where a >= 0.
                    return a.Lo >= 0 ? Values.Of(a.Lo >> count, a.Hi >> count) : Values.Of(0, (long)(ulong.MaxValue >> count));
                }
                case Opcode.ShiftRight:
                    if (b.IsOne) return Values.Of(a.Lo >> (int)(b.Lo & 63), a.Hi >> (int)(b.Lo & 63));
                    // Any count: the value moves toward 0 or -1, never past them.
                    return Values.Of(Math.Min(a.Lo, 0), a.Hi < 0 ? -1 : a.Hi);
                case Opcode.Equal:
                    if (a.IsOne && b.IsOne) return Values.Of(a.Lo == b.Lo ? 1 : 0);
                    return Disjoint(a, b) ? Values.Of(0) : Values.Of(0, 1);
                case Opcode.NotEqual:
                    if (a.IsOne && b.IsOne) return Values.Of(a.Lo != b.Lo ? 1 : 0);
                    return Disjoint(a, b) ? Values.Of(1) : Values.Of(0, 1);
                case Opcode.Less: return Decided(a.Hi < b.Lo, a.Lo >= b.Hi);
                case Opcode.LessOrEqual: return Decided(a.Hi <= b.Lo, a.Lo > b.Hi);
                case Opcode.Greater: return Decided(a.Lo > b.Hi, a.Hi <= b.Lo);
                case Opcode.GreaterOrEqual: return Decided(a.Lo >= b.Hi, a.Hi < b.Lo);
                default:
                    return op.IsComparison() ? Values.Of(0, 1) : Values.All;
            }
        }

        /// <summary>No value in both (a nonzero set and the single value 0 count).</summary>
        private static bool Disjoint(Values a, Values b) =>
            a.Hi < b.Lo || b.Hi < a.Lo || (a.ExcludesZero && b.IsOne && b.Lo == 0) || (b.ExcludesZero && a.IsOne && a.Lo == 0);

        private static Values Decided(bool always, bool never) => always ? Values.Of(1) : never ? Values.Of(0) : Values.Of(0, 1);

        private static Int128 Magnitude(long x) => x < 0 ? -(Int128)x : x;

        /// <summary>The smallest 2^k - 1 at least x (x >= 0): what an or or xor of values up to x can reach.</summary>
        private static long Fill(long x) => x == 0 ? 0 : (long)(ulong.MaxValue >> System.Numerics.BitOperations.LeadingZeroCount((ulong)x));

        private static Values Fit(Int128 lo, Int128 hi) => lo < Min || hi > Max ? Values.All : Values.Of((long)lo, (long)hi);

        /// <summary>The values of f over the box, for f monotone in each operand on it (its extremes lie at the corners).</summary>
        private static Values Corners(Values a, Values b, Func<Int128, Int128, Int128> f)
        {
            Int128 c1 = f(a.Lo, b.Lo), c2 = f(a.Lo, b.Hi), c3 = f(a.Hi, b.Lo), c4 = f(a.Hi, b.Hi);
            return Fit(Int128.Min(Int128.Min(c1, c2), Int128.Min(c3, c4)), Int128.Max(Int128.Max(c1, c2), Int128.Max(c3, c4)));
        }


        /// <summary>
        /// Records the division facts, then turns values known to be one constant into that constant
        /// (decided first and changed after, so no rewrite hides a test another block's facts read).
        /// </summary>
        public void Apply()
        {
            var rewrites = new List<(Instruction Instruction, Operand Value)>();
            foreach (var block in _graph.ReversePostorder)
            {
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    var args = instruction.Arguments;
                    if (instruction.Op is Opcode.Divide or Opcode.Remainder && !args[1].IsConstant)
                    {
                        var dividend = At(args[0], block);
                        var divisor = At(args[1], block);
                        var facts = DivisionFacts.None;
                        if (divisor.ExcludesZero) facts |= DivisionFacts.DivisorNonzero;
                        if (divisor.Lo > -1 || divisor.Hi < -1 || dividend.Lo > Min) facts |= DivisionFacts.NoOverflow;
                        if (facts != (DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow)) facts |= TestedDivisor(args[1].Register, block.Index);
                        instruction.DivisionFacts = facts;
                        continue;
                    }
                    if (instruction.Destination is not { } d || !IsPure(instruction.Op)) continue;
                    var r = d.Index;
                    if (_known[r] && _values[r].IsOne)
                    {
                        if (instruction.Op != Opcode.Copy || !args[0].IsConstant) rewrites.Add((instruction, Operand.Of(_values[r].Lo)));
                        continue;
                    }
                    if (!instruction.Op.IsBinary() || instruction.Op.IsComparison()) continue;
                    // An operand known to be one constant: the identities it leaves (x + 0, x * 1, ...).
                    var (a, b) = (args[0], args[1]);
                    var (av, bv) = (At(a, block), At(b, block));
                    if (!b.IsConstant && bv.IsOne && IsIdentity(instruction.Op, bv.Lo)) rewrites.Add((instruction, a));
                    else if (!a.IsConstant && av.IsOne && IsIdentity(instruction.Op, av.Lo) && IsCommutative(instruction.Op)) rewrites.Add((instruction, b));
                }
            }
            foreach (var (instruction, value) in rewrites) instruction.Rewrite(Opcode.Copy, value);
            // A branch on a register the ranges decide (a divisor test of an inlined callee's loop
            // versions, DivisorVersioning, where the caller's divisor is known): a constant condition,
            // which control-flow simplification folds after SSA destruction.
            foreach (var block in _graph.ReversePostorder)
                if (block.Terminator is Branch { Condition: { IsConstant: false } condition } branch && branch.IfTrue != branch.IfFalse
                    && At(condition, block) is var values && (values.ExcludesZero || values is { Lo: 0, Hi: 0 }))
                    block.Terminator = new Branch(Operand.Of(values.ExcludesZero ? 1 : 0), branch.IfTrue, branch.IfFalse);
        }

        private static bool IsPure(Opcode op) =>
            op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.MultiplyHigh or Opcode.Select || op.IsBinary();

        private static bool IsIdentity(Opcode op, long k) => op switch
        {
            Opcode.Add or Opcode.Subtract or Opcode.Or or Opcode.Xor or Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical => k == 0,
            Opcode.And => k == -1,
            Opcode.Multiply => k == 1,
            _ => false,
        };

        private static bool IsCommutative(Opcode op) => op is Opcode.Add or Opcode.Or or Opcode.Xor or Opcode.And or Opcode.Multiply;
    }
}
