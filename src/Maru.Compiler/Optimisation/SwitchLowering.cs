using System.Runtime.InteropServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// A many-way <c>cond</c> on one value, <c>(cond ((= c 32) ...) ((= c 10) ...) ((and (&gt;= c 48) (&lt;= c 57)) ...) ...)</c>,
/// lowers to a chain of blocks, each testing the same register against constants and either leaving
/// for its case or going on to the next test: n tests run for the last case and for the default.
/// This pass finds such chains, however the programmer ordered or nested them (each link a block
/// holding nothing but one test of the same register, entered only from the link before, the
/// chain going on along either edge), works out which case every 64-bit value reaches (first match
/// wins: a sweep over the tests' interval bounds, taking the earliest test holding at each point),
/// and replaces the chain by a balanced binary tree of comparisons over the resulting disjoint
/// intervals (a split tests <c>x &lt; pivot</c>; a leaf of at most <see cref="MaxLinearLeaf"/>
/// intervals tests them in the programmer's order, an interval as one equality, one signed bound, or
/// <c>(x - lo) &lt;=u (hi - lo)</c>; an interval the bounds already known on the path make certain
/// needs no test). About log2(n) + 1 tests instead of up to n, for every value.
/// Tests understood: = != &lt; &lt;= &gt; &gt;= of the register with a constant, the unsigned range
/// checks <see cref="RangeChecks"/> writes (also after an added or subtracted constant), a
/// logical not, and a branch on the register itself.
/// Chains of fewer than <see cref="MinTests"/> tests stay as written.
/// Requires: Plain form (after SSA destruction: no phis, so edges can move freely), each test's
/// result read only by its branch. Guarantees: Plain form; the same target for every value.
/// </summary>
internal static class SwitchLowering
{
    /// <summary>Chains shorter than this stay: a tree saves nothing on two or three tests (measured: docs/performance.md).</summary>
    internal const int MinTests = 4;

    /// <summary>A tree node with at most this many intervals tests them one after the other.</summary>
    internal const int MaxLinearLeaf = 3;

    /// <summary>One link: the block, the instructions of its test (the last <see cref="Length"/> of the block), where it goes.</summary>
    private readonly record struct Link(BasicBlock Block, int Length, VReg X, Interval A, Interval B, BasicBlock Exit, BasicBlock Next, SourceLocation Location);

    /// <summary>A signed interval; Lo &gt; Hi is empty.</summary>
    private readonly record struct Interval(long Lo, long Hi)
    {
        public static readonly Interval Empty = new(1, 0);
        public bool IsEmpty => Lo > Hi;
    }

    /// <summary>
    /// Values [Lo, Hi] go to Target; Order is the first test that sends them there (the leaf's test
    /// order). A bit test (Mask non-zero) sends only the values Lo + k with bit k of Mask set, the
    /// rest of [Lo, Hi] to the default.
    /// </summary>
    private readonly record struct Case(long Lo, long Hi, BasicBlock Target, int Order, ulong Mask = 0);

    /// <summary>A run of at least this many intervals of one target within 64 values is one bit test.</summary>
    internal const int MinBitTestCases = 3;

    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count < MinTests || !MayHaveChain(blocks)) return;
        var graph = FlowGraph.Of(function, withDominators: false);
        var count = function.RegisterCount;
        var uses = Scratch<int>.Rent(count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) uses[argument.Register.Index]++;
            if (block.Terminator is Branch { Condition.IsConstant: false } b) uses[b.Condition.Register.Index]++;
            else if (block.Terminator is Return { Value.IsConstant: false } r) uses[r.Value.Register.Index]++;
        }
        var consumed = Scratch<bool>.Rent(blocks.Count);
        List<List<Link>>? chains = null;
        var links = new List<Link>();
        foreach (var head in graph.ReversePostorder)
        {
            if (consumed[head.Index] || Parse(head, uses, count, x: null) is not { } first) continue;
            links.Clear();
            var link = Continue(first, graph, uses, count, consumed);
            links.Add(link);
            while (link.Next is { } next && Parse(next, uses, count, link.X) is { Length: var length } candidate && length == next.Instructions.Count
                   && graph.Predecessors[next.Index] is [var only] && only == link.Block && next != head && !consumed[next.Index])
            {
                consumed[next.Index] = true;
                link = Continue(candidate, graph, uses, count, consumed);
                links.Add(link);
            }
            consumed[head.Index] = true;
            if (links.Count >= 2) (chains ??= new()).Add([.. links]);
        }
        Scratch<bool>.Return(consumed);
        Scratch<int>.Return(uses);
        if (chains is null) return;

        Dictionary<VReg, Instruction?>? definitions = null;
        var removed = new HashSet<BasicBlock>();
        var added = new Dictionary<BasicBlock, List<BasicBlock>>();
        foreach (var chain in chains)
        {
            var head = chain[0].Block;
            var intervals = Cases(chain, out var otherwise);
            var lookup = Lookup.Plan(intervals, otherwise, KnownRange(function, chain[0].X, ref definitions));
            if (lookup is null ? chain.Count < MinTests : chain.Count < MinLookupTests && !lookup.Whole) continue;
            head.Instructions.RemoveRange(head.Instructions.Count - chain[0].Length, chain[0].Length);
            for (var i = 1; i < chain.Count; i++) removed.Add(chain[i].Block);
            var created = new List<BasicBlock>();
            if (lookup is not null) lookup.Emit(function, chain[0].X, head, chain[0].Location, created);
            else
            {
                var cases = BitTests(intervals);
                new TreeBuilder(function, chain[0].X, otherwise, chain[0].Location, created).Build(head, cases, 0, cases.Count, long.MinValue, long.MaxValue);
            }
            added[head] = created;
        }
        var order = new List<BasicBlock>(blocks.Count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (removed.Contains(block)) continue;
            order.Add(block);
            if (added.TryGetValue(block, out var created)) order.AddRange(created);
        }
        blocks.Clear();
        blocks.AddRange(order);
    }

    /// <summary>
    /// Whether some test block goes on to a block that is only a test of a register the first one may
    /// test too: without such a pair there is no chain of two links, and no flow graph or use counts
    /// are needed (most functions). A superset of what <see cref="Parse"/> accepts (use counts aside).
    /// </summary>
    private static bool MayHaveChain(List<BasicBlock> blocks)
    {
        Span<VReg> first = stackalloc VReg[3];
        Span<VReg> next = stackalloc VReg[3];
        foreach (var head in CollectionsMarshal.AsSpan(blocks))
        {
            if (head.Terminator is not Branch branch) continue;
            var firstCount = -1;
            for (var s = 0; s < 2; s++)
            {
                var successor = s == 0 ? branch.IfTrue : branch.IfFalse;
                if (successor == head || successor.Instructions.Count > 2) continue;
                var nextCount = Tested(successor, next);
                if (nextCount == 0) continue;
                if (firstCount < 0) firstCount = Tested(head, first);
                for (var i = 0; i < nextCount; i++)
                    if (first[..firstCount].Contains(next[i])) return true;
            }
        }
        return false;
    }

    /// <summary>The registers <see cref="Parse"/> could take the block's test to be of, whatever the use counts (none when it ends in no test).</summary>
    private static int Tested(BasicBlock block, Span<VReg> into)
    {
        if (block.Terminator is not Branch { Condition: { IsConstant: false } condition } branch || block.Phis.Count != 0
            || branch.IfTrue == branch.IfFalse) return 0;
        var n = 0;
        into[n++] = condition.Register;
        var at = block.Instructions.Count - 1;
        if (at < 0 || block.Instructions[at] is not { Destination: { } d } test || d != condition.Register) return n;
        if (test.Op == Opcode.LogicalNot && test.Arguments is [{ IsConstant: false } operand]) into[n++] = operand.Register;
        else if (test.Arguments is [{ IsConstant: false } left, { IsConstant: true }])
        {
            into[n++] = left.Register;
            if (at > 0 && block.Instructions[at - 1] is { Op: Opcode.Add or Opcode.Subtract, Destination: { } shifted, Arguments: [{ IsConstant: false } source, { IsConstant: true }] }
                && shifted == left.Register) into[n++] = source.Register;
        }
        return n;
    }

    /// <summary>Decides which edge of a parsed test goes on (the false one when both could), filling in Exit and Next.</summary>
    private static Link Continue(Link link, FlowGraph graph, int[] uses, int count, bool[] consumed)
    {
        var branch = (Branch)link.Block.Terminator!;
        bool Goes(BasicBlock next) => next != link.Block && !consumed[next.Index] && graph.Predecessors[next.Index] is [_]
                                      && Parse(next, uses, count, link.X) is { Length: var length } && length == next.Instructions.Count;
        if (branch.IfTrue != branch.IfFalse && !Goes(branch.IfFalse) && Goes(branch.IfTrue))
        {
            // The chain goes on when the test holds: the exit takes the values where it fails.
            var (a, b) = Complement(link.A, link.B);
            return link with { A = a, B = b, Exit = branch.IfFalse, Next = branch.IfTrue };
        }
        return link with { Exit = branch.IfTrue, Next = branch.IfFalse };
    }

    /// <summary>
    /// The test ending <paramref name="block"/> (of register <paramref name="x"/> when given): the
    /// values for which its branch goes to IfTrue, as at most two intervals, and how many of the
    /// block's last instructions compute it; null when the block does not end in such a test.
    /// </summary>
    private static Link? Parse(BasicBlock block, int[] uses, int count, VReg? x)
    {
        if (block.Terminator is not Branch { Condition: { IsConstant: false } condition } branch || block.Phis.Count != 0
            || branch.IfTrue == branch.IfFalse) return null;
        var location = block.Instructions.Count > 0 ? block.Instructions[^1].Location : SourceLocation.None;   // a listing reads the file name: never a default location
        var at = block.Instructions.Count - 1;
        if (at < 0 || block.Instructions[at].Destination != condition.Register || uses[condition.Register.Index] != 1)
        {
            // A branch on the register itself: it holds for every value but 0.
            if (x is { } wanted && wanted != condition.Register) return null;
            var (a, b) = Complement(new Interval(0, 0), Interval.Empty);
            return new Link(block, 0, condition.Register, a, b, branch.IfTrue, branch.IfFalse, location);
        }
        var test = block.Instructions[at];
        if (test.Arguments is [{ IsConstant: false } operand] && test.Op == Opcode.LogicalNot)
            return Matches(operand.Register, x) ? new Link(block, 1, operand.Register, new Interval(0, 0), Interval.Empty, branch.IfTrue, branch.IfFalse, location) : null;
        if (test.Arguments is not [{ IsConstant: false } left, { IsConstant: true } right] || !test.Op.IsComparison()) return null;
        var k = right.Constant;
        // (x + d) compared, the addition read only here: the values of x are the compared ones moved by -d.
        var offset = 0L;
        var length = 1;
        var tested = left.Register;
        if (at > 0 && block.Instructions[at - 1] is { Op: Opcode.Add or Opcode.Subtract, Destination: { } shifted, Arguments: [{ IsConstant: false } source, { IsConstant: true } d] }
            && shifted == left.Register && uses[shifted.Index] == 1 && source.Register != shifted)
        {
            offset = block.Instructions[at - 1].Op == Opcode.Add ? d.Constant : unchecked(-d.Constant);
            tested = source.Register;
            length = 2;
        }
        if (!Matches(tested, x) || tested == test.Destination) return null;
        (Interval A, Interval B)? set = test.Op switch
        {
            // Unsigned: (x + offset) in [ulo, uhi] unsigned, i.e. x in [ulo - offset, uhi - offset] wrapping.
            Opcode.BelowOrEqual => Unsigned(0, (ulong)k, offset),
            Opcode.Below => k == 0 ? (Interval.Empty, Interval.Empty) : Unsigned(0, (ulong)k - 1, offset),
            Opcode.Above => (ulong)k == ulong.MaxValue ? (Interval.Empty, Interval.Empty) : Unsigned((ulong)k + 1, ulong.MaxValue, offset),
            Opcode.AboveOrEqual => Unsigned((ulong)k, ulong.MaxValue, offset),
            Opcode.Equal => Unsigned((ulong)k, (ulong)k, offset),
            Opcode.NotEqual => Complement(Unsigned((ulong)k, (ulong)k, offset)),
            // Signed orders on a moved value wrap differently: only on the register itself.
            _ when offset != 0 => null,
            Opcode.Less => (k == long.MinValue ? Interval.Empty : new Interval(long.MinValue, k - 1), Interval.Empty),
            Opcode.LessOrEqual => (new Interval(long.MinValue, k), Interval.Empty),
            Opcode.Greater => (k == long.MaxValue ? Interval.Empty : new Interval(k + 1, long.MaxValue), Interval.Empty),
            Opcode.GreaterOrEqual => (new Interval(k, long.MaxValue), Interval.Empty),
            _ => null,
        };
        if (set is not var (first, second)) return null;
        return new Link(block, length, tested, first, second, branch.IfTrue, branch.IfFalse, location);

        static bool Matches(VReg register, VReg? x) => x is null || x == register;
    }

    /// <summary>The signed x with (x + offset) in the unsigned [ulo, uhi], wrapping: one interval, or two across the signed boundary.</summary>
    private static (Interval, Interval) Unsigned(ulong ulo, ulong uhi, long offset)
    {
        var lo = unchecked((long)(ulo - (ulong)offset));
        var hi = unchecked(lo + (long)(uhi - ulo));
        return hi >= lo ? (new Interval(lo, hi), Interval.Empty) : (new Interval(lo, long.MaxValue), new Interval(long.MinValue, hi));
    }

    private static (Interval, Interval) Complement((Interval A, Interval B) set) => Complement(set.A, set.B);

    /// <summary>Every value outside a and b (disjoint): at most two intervals again, since a pair of ours always touches an end.</summary>
    private static (Interval, Interval) Complement(Interval a, Interval b)
    {
        if (a.IsEmpty) (a, b) = (b, a);
        if (a.IsEmpty) return (new Interval(long.MinValue, long.MaxValue), Interval.Empty);
        if (!b.IsEmpty && b.Lo < a.Lo) (a, b) = (b, a);
        // Gaps: before a, between a and b, after the last.
        Span<Interval> gaps = stackalloc Interval[3];
        var n = 0;
        if (a.Lo > long.MinValue) gaps[n++] = new Interval(long.MinValue, a.Lo - 1);
        var last = a;
        if (!b.IsEmpty)
        {
            if (b.Lo > a.Hi + 1) gaps[n++] = new Interval(a.Hi + 1, b.Lo - 1);
            last = b;
        }
        if (last.Hi < long.MaxValue) gaps[n++] = new Interval(last.Hi + 1, long.MaxValue);
        return n switch
        {
            0 => (Interval.Empty, Interval.Empty),
            1 => (gaps[0], Interval.Empty),
            2 => (gaps[0], gaps[1]),
            _ => throw new InvalidOperationException("a test's set is at most two intervals touching an end"),
        };
    }

    /// <summary>
    /// Which target each value reaches, first test first: the disjoint intervals in ascending order
    /// with their targets (adjacent ones of one target merged; the default's dropped). A sweep over
    /// the sorted interval bounds keeps the tests holding at the current point, the earliest winning.
    /// </summary>
    private static List<Case> Cases(List<Link> chain, out BasicBlock otherwise)
    {
        var canonical = new Dictionary<string, BasicBlock>();
        otherwise = Canonical(chain[^1].Next, canonical);
        var events = new List<(long At, bool Start, int Test)>(chain.Count * 4);
        for (var t = 0; t < chain.Count; t++)
            foreach (var interval in (ReadOnlySpan<Interval>)[chain[t].A, chain[t].B])
            {
                if (interval.IsEmpty) continue;
                events.Add((interval.Lo, true, t));
                if (interval.Hi != long.MaxValue) events.Add((interval.Hi + 1, false, t));
            }
        events.Sort((p, q) => p.At.CompareTo(q.At) is var c && c != 0 ? c : p.Test.CompareTo(q.Test) is var d && d != 0 ? d : p.Start.CompareTo(q.Start));
        var active = new SortedSet<int>();
        var holding = new int[chain.Count];
        var cases = new List<Case>();
        for (var e = 0; e < events.Count;)
        {
            var at = events[e].At;
            for (; e < events.Count && events[e].At == at; e++)
            {
                var (_, start, test) = events[e];
                if (start ? holding[test]++ == 0 : --holding[test] == 0)
                {
                    if (start) active.Add(test);
                    else active.Remove(test);
                }
            }
            var end = e < events.Count ? events[e].At - 1 : long.MaxValue;
            if (active.Count == 0) continue;
            var winner = active.Min;
            var target = Canonical(chain[winner].Exit, canonical);
            if (target == otherwise) continue;
            if (cases.Count > 0 && cases[^1] is { Target: var previous } last && previous == target && last.Hi != long.MaxValue && last.Hi + 1 == at)
                cases[^1] = last with { Hi = end };
            else
                cases.Add(new Case(at, end, target, winner));
        }
        return cases;
    }

    /// <summary>
    /// One block for all exits that do the same: a few copies and a jump to one block (what
    /// splitting the edges of an <c>or</c>'s tests into its merge leaves, one per test), so their
    /// intervals merge. The others stay for their other predecessors, or go as unreachable.
    /// </summary>
    private static BasicBlock Canonical(BasicBlock block, Dictionary<string, BasicBlock> canonical)
    {
        if (block.Terminator is not Jump { Target: var target } || block.Instructions.Count is 0 or > 4 || block.Phis.Count != 0) return block;
        var key = new System.Text.StringBuilder().Append(target.Id);
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
        {
            if (instruction.Op != Opcode.Copy) return block;
            key.Append(';').Append(instruction.Destination!.Value.Index).Append('=').Append(instruction.Arguments[0].IsConstant ? "#" : "%")
               .Append(instruction.Arguments[0].IsConstant ? instruction.Arguments[0].Constant : instruction.Arguments[0].Register.Index);
        }
        var text = key.ToString();
        if (canonical.TryGetValue(text, out var first)) return first;
        canonical[text] = block;
        return block;
    }

    /// <summary>
    /// Runs of at least <see cref="MinBitTestCases"/> consecutive intervals of one target spanning
    /// at most 64 values (a character class: blanks, a few punctuation marks) become one bit test:
    /// <c>(1 &lt;&lt; (x - lo)) &amp; mask</c> after a range check, two tests instead of one per interval.
    /// </summary>
    private static List<Case> BitTests(List<Case> cases)
    {
        List<Case>? result = null;
        for (var i = 0; i < cases.Count;)
        {
            var end = i + 1;
            while (end < cases.Count && cases[end].Target == cases[i].Target && unchecked((ulong)(cases[end].Hi - cases[i].Lo)) < 64) end++;
            if (end - i < MinBitTestCases)
            {
                result?.AddRange(cases.GetRange(i, end - i));
                i = end;
                continue;
            }
            result ??= cases.GetRange(0, i);
            var (lo, mask, order) = (cases[i].Lo, 0UL, int.MaxValue);
            for (var k = i; k < end; k++)
            {
                for (var v = cases[k].Lo; ; v++)
                {
                    mask |= 1UL << (int)unchecked(v - lo);
                    if (v == cases[k].Hi) break;
                }
                order = Math.Min(order, cases[k].Order);
            }
            result.Add(new Case(lo, cases[end - 1].Hi, cases[i].Target, order, mask));
            i = end;
        }
        return result ?? cases;
    }

    /// <summary>
    /// The values x can take when its only definition says so: <c>x = y &amp; m</c> with m &gt;= 0 is in
    /// [0, m], a comparison in [0, 1]; null when x has another definition or is a parameter.
    /// </summary>
    private static (long Lo, long Hi)? KnownRange(IrFunction function, VReg x, ref Dictionary<VReg, Instruction?>? definitions)
    {
        if (x.Index < function.ParameterCount) return null;
        if (definitions is null)
        {
            // Every register's only definition (null for several), once per function.
            definitions = new Dictionary<VReg, Instruction?>();
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction.Destination is { } d) definitions[d] = definitions.ContainsKey(d) ? null : instruction;
        }
        return definitions.GetValueOrDefault(x) switch
        {
            { Op: Opcode.And, Arguments: [_, { IsConstant: true, Constant: >= 0 and var mask }] } => (0, mask),
            { Op: Opcode.And, Arguments: [{ IsConstant: true, Constant: >= 0 and var mask }, _] } => (0, mask),
            { Op: var op } when op.IsComparison() || op == Opcode.LogicalNot => (0, 1),
            { Op: Opcode.LoadByte } => (0, 255),
            _ => null,
        };
    }

    /// <summary>A chain this long already becomes a lookup (<see cref="Lookup"/>) when its targets allow (two tests when the lookup needs no range check); a tree needs <see cref="MinTests"/>.</summary>
    internal const int MinLookupTests = 3;

    /// <summary>
    /// A switch whose every target, the default included where a value of the covered range reaches
    /// it, only copies into the same registers in the same order (constants that differ between
    /// targets, or the same operand in all) and jumps to one join: a <c>cond</c> whose arms yield
    /// constants, such as a state machine's next state or a byte's class. When each varying value
    /// fits, for every x of [lo, hi], in a field of w bits with (hi - lo + 1) * w &lt;= 64, the table is
    /// one 64-bit constant K: one range check, then <c>((K &gt;&gt; ((x - lo) * w)) &amp; (2^w - 1)) + min</c>,
    /// no branch per case (a table that is a straight line, a*(x - lo) + b, needs no K). Values outside
    /// [lo, hi] go to the default as before.
    /// </summary>
    private sealed class Lookup
    {
        private long _lo;
        /// <summary>x cannot lie outside [lo, lo + last]: no range check.</summary>
        private bool _whole;

        public bool Whole => _whole;
        private ulong _last;
        private BasicBlock _otherwise = null!;
        private BasicBlock _join = null!;
        private List<Instruction> _copies = null!;
        /// <summary>Per copy: null when every target copies the same operand, else how to compute its value.</summary>
        private (long Min, int Width, long Packed, long Slope)?[] _plans = null!;

        public static Lookup? Plan(List<Case> cases, BasicBlock otherwise, (long Lo, long Hi)? known)
        {
            if (cases.Count == 0 || !Bounded(ref cases, ref otherwise)) return null;
            var (lo, hi) = (cases[0].Lo, cases[^1].Hi);
            // x is known to lie in a small range holding the cases (x = y & 7): the table covers all of it, no range check.
            var whole = known is var (knownLo, knownHi) && knownLo <= lo && hi <= knownHi && unchecked((ulong)(knownHi - knownLo)) < 64;
            if (whole) (lo, hi) = known!.Value;
            var last = unchecked((ulong)(hi - lo));
            if (last >= 64) return null;
            var span = (int)last + 1;
            var holes = cases[0].Lo != lo || cases[^1].Hi != hi;
            for (var i = 1; i < cases.Count; i++) holes |= cases[i - 1].Hi + 1 != cases[i].Lo;
            // The shape every target must have: copies only, then a jump to one join.
            var model = cases[0].Target;
            if (!IsCopyBlock(model, out var join)) return null;
            var copies = model.Instructions;
            var blocks = new BasicBlock[span];
            for (var i = 0; i < span; i++) blocks[i] = otherwise;
            foreach (var c in cases)
                for (var v = c.Lo; ; v++)
                {
                    blocks[(int)unchecked((ulong)(v - lo))] = c.Target;
                    if (v == c.Hi) break;
                }
            var varying = false;
            var plans = new (long Min, int Width, long Packed, long Slope)?[copies.Count];
            foreach (var block in (IEnumerable<BasicBlock>)(holes ? [.. blocks, otherwise] : blocks))
            {
                if (!IsCopyBlock(block, out var to) || to != join || block.Instructions.Count != copies.Count) return null;
                for (var k = 0; k < copies.Count; k++)
                {
                    var (mine, theirs) = (block.Instructions[k], copies[k]);
                    if (mine.Destination != theirs.Destination) return null;
                    if (mine.Arguments[0].Equals(theirs.Arguments[0])) continue;
                    if (!mine.Arguments[0].IsConstant || !theirs.Arguments[0].IsConstant) return null;
                    plans[k] = default((long, int, long, long));
                    varying = true;
                }
            }
            if (!varying) return null;
            // Each varying value as a field of the packed constant (or a straight line).
            var values = new long[span];
            for (var k = 0; k < copies.Count; k++)
            {
                if (plans[k] is null) continue;
                for (var i = 0; i < span; i++) values[i] = blocks[i].Instructions[k].Arguments[0].Constant;
                var slope = span > 1 ? unchecked(values[1] - values[0]) : 0;
                var straight = true;
                for (var i = 0; i < span && straight; i++) straight = values[i] == unchecked(values[0] + slope * i);
                if (straight)
                {
                    plans[k] = (values[0], 0, 0, slope);
                    continue;
                }
                var (min, max) = (values.Min(), values.Max());
                var width = 64 - System.Numerics.BitOperations.LeadingZeroCount(unchecked((ulong)(max - min)));
                if ((long)width * span > 64) return null;
                var packed = 0UL;
                for (var i = 0; i < span; i++) packed |= unchecked((ulong)(values[i] - min)) << (i * width);
                plans[k] = (min, width, unchecked((long)packed), 0);
            }
            return new Lookup { _lo = lo, _last = last, _otherwise = otherwise, _join = join, _copies = copies, _plans = plans, _whole = whole };
        }

        /// <summary>
        /// When the cases reach a 64-bit end (the chain's last test left the values it did not
        /// decide to a case, the rest of the line to a target such as an <c>else</c>), that end's target
        /// is the default and the old default a case over the gaps between the others.
        /// </summary>
        private static bool Bounded(ref List<Case> cases, ref BasicBlock otherwise)
        {
            // Only when both ends go to one target (one end alone is an ordinary case: its span decides).
            var outer = cases[0].Target;
            if (cases[0].Lo != long.MinValue || cases[^1].Hi != long.MaxValue || cases[^1].Target != outer) return true;
            var (start, end) = (1, cases.Count - 1);
            if (start >= end) return false;
            var inner = new List<Case>(2 * (end - start));
            var cursor = cases[0].Hi + 1;
            for (var i = start; i < end; i++)
            {
                if (cases[i].Lo > cursor) inner.Add(new Case(cursor, cases[i].Lo - 1, otherwise, int.MaxValue));
                inner.Add(cases[i]);
                cursor = cases[i].Hi + 1;   // below the high end's case: no overflow
            }
            if (cursor < cases[^1].Lo) inner.Add(new Case(cursor, cases[^1].Lo - 1, otherwise, int.MaxValue));
            (cases, otherwise) = (inner, outer);
            return true;
        }

        /// <summary>head: d = x - lo, then d &lt;=u hi - lo to a new block computing the values and doing the copies, else to the default.</summary>
        public void Emit(IrFunction function, VReg x, BasicBlock head, SourceLocation location, List<BasicBlock> created)
        {
            Operand index = x;
            if (_lo != 0) index = Compute(head, Opcode.Subtract, x, Operand.Of(_lo));
            var lookup = function.NewUnplacedBlock();
            created.Add(lookup);
            head.Terminator = _whole ? new Jump(lookup) : new Branch(Compute(head, Opcode.BelowOrEqual, index, Operand.Of((long)_last)), lookup, _otherwise);
            // Every value first (x may be a copy's destination), then the copies in their order.
            var results = new Operand[_copies.Count];
            for (var k = 0; k < _copies.Count; k++)
            {
                if (_plans[k] is not var (min, width, packed, slope))
                {
                    results[k] = _copies[k].Arguments[0];
                    continue;
                }
                if (width == 0)
                {
                    // A straight line: min + slope * d.
                    Operand line = slope == 0 ? Operand.Of(0) : slope == 1 ? index : Compute(lookup, Opcode.Multiply, index, Operand.Of(slope));
                    results[k] = min == 0 ? line : line.IsConstant ? Operand.Of(min) : Compute(lookup, Opcode.Add, line, Operand.Of(min));
                    continue;
                }
                Operand shift = width == 1 ? index
                    : System.Numerics.BitOperations.IsPow2(width) ? Compute(lookup, Opcode.ShiftLeft, index, Operand.Of(System.Numerics.BitOperations.Log2((uint)width)))
                    : Compute(lookup, Opcode.Multiply, index, Operand.Of(width));
                var field = Compute(lookup, Opcode.ShiftRight, Operand.Of(packed), shift);
                Operand value = width == 64 ? field : Compute(lookup, Opcode.And, field, Operand.Of(unchecked((long)((1UL << width) - 1))));
                results[k] = min == 0 ? value : Compute(lookup, Opcode.Add, value, Operand.Of(min));
            }
            for (var k = 0; k < _copies.Count; k++)
                lookup.Instructions.Add(new Instruction(Opcode.Copy, _copies[k].Destination, [results[k]], null, location));
            lookup.Terminator = new Jump(_join);

            VReg Compute(BasicBlock block, Opcode op, Operand a, Operand b)
            {
                var destination = function.NewRegister();
                block.Instructions.Add(new Instruction(op, destination, [a, b], null, location));
                return destination;
            }
        }

        private static bool IsCopyBlock(BasicBlock block, out BasicBlock join)
        {
            join = null!;
            if (block.Terminator is not Jump { Target: var target } || block.Phis.Count != 0) return false;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Op != Opcode.Copy) return false;
            join = target;
            return true;
        }
    }

    /// <summary>Writes the tree of tests: each node fills the block it is given and creates the blocks below it.</summary>
    private sealed class TreeBuilder(IrFunction function, VReg x, BasicBlock otherwise, SourceLocation location, List<BasicBlock> created)
    {
        /// <summary>Fills <paramref name="block"/> with the tests sending every x in [lo, hi] to its case among cases[from..to).</summary>
        public void Build(BasicBlock block, List<Case> cases, int from, int to, long lo, long hi)
        {
            var n = to - from;
            if (n == 0)
            {
                block.Terminator = new Jump(otherwise);
                return;
            }
            if (n <= MaxLinearLeaf)
            {
                Linear(block, cases.GetRange(from, n), lo, hi);
                return;
            }
            var mid = from + n / 2;
            var pivot = cases[mid].Lo;   // > lo: the cases are ascending and disjoint, and case `from` starts at or above lo
            var (left, right) = (NewBlock(), NewBlock());
            block.Terminator = new Branch(Compare(block, Opcode.Less, pivot), left, right);
            Build(left, cases, from, mid, lo, pivot - 1);
            Build(right, cases, mid, to, pivot, hi);
        }

        /// <summary>A few cases, one test each in the order the programmer wrote them; the last needs none when the rest of [lo, hi] is its own.</summary>
        private void Linear(BasicBlock block, List<Case> leaf, long lo, long hi)
        {
            var tiles = Tiles(leaf, lo, hi);
            leaf.Sort((a, b) => a.Order.CompareTo(b.Order));
            for (var i = 0; i < leaf.Count; i++)
            {
                var c = leaf[i];
                if (i == leaf.Count - 1 && tiles)
                {
                    block.Terminator = new Jump(c.Target);
                    return;
                }
                var next = i == leaf.Count - 1 ? otherwise : NewBlock();
                if (c.Mask != 0)
                {
                    BitTest(block, c, lo, hi, next);
                    if (next == otherwise) return;
                    block = next;
                    continue;
                }
                block.Terminator = new Branch(InInterval(block, c.Lo, c.Hi, lo, hi), c.Target, next);
                if (next == otherwise) return;
                block = next;
            }
        }

        /// <summary>Whether the cases cover [lo, hi] with no gap (then the default is unreachable here).</summary>
        private static bool Tiles(List<Case> leaf, long lo, long hi)
        {
            // leaf is ascending (a slice of the sorted cases); a bit test leaves holes.
            if (leaf.Exists(c => c.Mask != 0) || leaf[0].Lo != lo || leaf[^1].Hi != hi) return false;
            for (var i = 1; i < leaf.Count; i++)
                if (leaf[i - 1].Hi + 1 != leaf[i].Lo) return false;
            return true;
        }

        /// <summary>
        /// The bit test of case <paramref name="c"/> (a range check first unless [lo, hi] is inside its
        /// 64 values): x in its set goes to its target, anything else to <paramref name="next"/>.
        /// </summary>
        private void BitTest(BasicBlock block, Case c, long lo, long hi, BasicBlock next)
        {
            Operand offset = x;
            if (c.Lo != 0)
            {
                var shifted = function.NewRegister();
                block.Instructions.Add(new Instruction(Opcode.Subtract, shifted, [x, Operand.Of(c.Lo)], null, location));
                offset = shifted;
            }
            if (!(lo >= c.Lo && hi <= c.Hi))
            {
                var inside = function.NewRegister();
                block.Instructions.Add(new Instruction(Opcode.BelowOrEqual, inside, [offset, Operand.Of(unchecked(c.Hi - c.Lo))], null, location));
                var bits = NewBlock();
                block.Terminator = new Branch(inside, bits, next);
                block = bits;
            }
            var bit = function.NewRegister();
            block.Instructions.Add(new Instruction(Opcode.ShiftLeft, bit, [Operand.Of(1), offset], null, location));
            var selected = function.NewRegister();
            block.Instructions.Add(new Instruction(Opcode.And, selected, [bit, Operand.Of(unchecked((long)c.Mask))], null, location));
            block.Terminator = new Branch(selected, c.Target, next);
        }

        /// <summary>The test lo' &lt;= x &lt;= hi' knowing lo &lt;= x &lt;= hi: one comparison where a bound is already known.</summary>
        private VReg InInterval(BasicBlock block, long caseLo, long caseHi, long lo, long hi)
        {
            if (caseLo == caseHi) return Compare(block, Opcode.Equal, caseLo);
            if (caseLo == lo) return Compare(block, Opcode.LessOrEqual, caseHi);
            if (caseHi == hi) return Compare(block, Opcode.GreaterOrEqual, caseLo);
            var shifted = function.NewRegister();
            block.Instructions.Add(new Instruction(Opcode.Subtract, shifted, [x, Operand.Of(caseLo)], null, location));
            var test = function.NewRegister();
            block.Instructions.Add(new Instruction(Opcode.BelowOrEqual, test, [shifted, Operand.Of(unchecked(caseHi - caseLo))], null, location));
            return test;
        }

        private VReg Compare(BasicBlock block, Opcode op, long constant)
        {
            var test = function.NewRegister();
            block.Instructions.Add(new Instruction(op, test, [x, Operand.Of(constant)], null, location));
            return test;
        }

        private BasicBlock NewBlock()
        {
            var block = function.NewUnplacedBlock();
            created.Add(block);
            return block;
        }
    }
}
