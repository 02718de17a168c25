using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// If-conversion: a branch that only chooses between cheap values becomes selects (cmov on x86-64,
/// csel on AArch64). Every function is executed at O0 and O1 and compared with a C# model, on
/// x86-64 and (one qemu batch) on AArch64: every comparison kind, signed and unsigned (a range
/// check makes an unsigned test), equal operands, negative numbers, the 64-bit edges and wrap-around.
/// </summary>
[TestClass]
public sealed class IfConversionTests
{
    private const string Tests = """
        (define-function min2 (a b) (if (< a b) a b))
        (define-function max2 (a b) (if (> a b) a b))
        (define-function le-pick (a b) (if (<= a b) (+ a 5) (- b 3)))
        (define-function ge-pick (a b) (if (>= a b) (^ a b) (& a b)))
        (define-function eq-pick (a b) (if (= a b) 7 -3))
        (define-function ne-pick (a b) (if (!= a b) a 0))
        (define-function abs1 (x) (if (< x 0) (- 0 x) x))
        (define-function sign (x) (if (< x 0) -1 (if (> x 0) 1 0)))
        (define-function clamp (x lo hi) (if (< x lo) lo (if (> x hi) hi x)))
        (define-function sat-add (a b) (let ((s (+ a b))) (if (> s 127) 127 (if (< s -128) -128 s))))
        (define-function cinc (n x) (if (> x 10) (+ n 1) n))
        (define-function min3 (a b c) (if (< a b) (if (< a c) a c) (if (< b c) b c)))
        (define-function in-range (x a b) (if (and (>= x 10) (<= x 20)) a b))
        (define-function out-range (x a b) (if (or (< x -5) (> x 5)) a b))
        (define-function wide (x) (if (< x 0) 9223372036854775807 -9223372036854775808))
        (define-function truth (x a b) (if x a b))
        (define-function reads-test (a b) (if (< a b) (+ a (< a b)) b))
        (define-function spread (a b) (let ((lo a) (hi b)) (if (> a b) (let () (set lo b) (set hi a))) (- (* hi 1000) lo)))
        (define-function wrap (a b) (if (< (+ a b) a) (- a b) (+ a b)))
        (define-function count-below (n k) (let ((c 0) (x 7)) (for (i 0 n) (set x (+ (* x 1103515245) 12345)) (when (< (& (>> x 16) 255) k) (set c (+ c 1)))) c))
        (define-function search (n key) (let ((lo 0) (hi n)) (while (< (+ lo 1) hi) (let ((mid (>> (+ lo hi) 1))) (if (<= (* mid 3) key) (set lo mid) (set hi mid)))) lo))
        """;

    private static readonly string[] Unary = ["abs1", "sign", "wide"];
    private static readonly string[] Binary = ["min2", "max2", "le-pick", "ge-pick", "eq-pick", "ne-pick", "sat-add", "cinc", "reads-test", "spread", "wrap"];
    private static readonly string[] Ternary = ["clamp", "min3", "in-range", "out-range", "truth"];

    private static readonly long[] Values = [.. Samples, 4, 5, 6, 9, 10, 11, 19, 20, 21, 126, 127, 128, -127, -128, -129];

    private static IEnumerable<(string Function, long[] Arguments)> Calls()
    {
        foreach (var name in Unary)
            foreach (var x in Values) yield return (name, [x]);
        foreach (var name in Binary)
            foreach (var a in Samples)
                foreach (var b in Samples) yield return (name, [a, b]);
        foreach (var name in Ternary)
            foreach (var a in Values)
                foreach (var (b, c) in new[] { (1L, 2L), (-5L, 5L), (long.MinValue, long.MaxValue), (3L, 3L), (long.MaxValue, -1L) })
                    yield return (name, [a, b, c]);
        foreach (var (n, k) in new[] { (0L, 10L), (100L, 128L), (1000L, 0L), (1000L, 256L), (777L, 37L) }) yield return ("count-below", [n, k]);
        foreach (var (n, key) in new[] { (1000L, 0L), (1000L, 1500L), (1000L, -7L), (1000L, 1_000_000L), (3L, 4L) }) yield return ("search", [n, key]);
    }

    private static long Model(string name, long[] a) => unchecked(name switch
    {
        "min2" => Math.Min(a[0], a[1]),
        "max2" => Math.Max(a[0], a[1]),
        "le-pick" => a[0] <= a[1] ? a[0] + 5 : a[1] - 3,
        "ge-pick" => a[0] >= a[1] ? a[0] ^ a[1] : a[0] & a[1],
        "eq-pick" => a[0] == a[1] ? 7 : -3,
        "ne-pick" => a[0] != a[1] ? a[0] : 0,
        "abs1" => a[0] < 0 ? -a[0] : a[0],
        "sign" => Math.Sign(a[0]),
        "clamp" => a[0] < a[1] ? a[1] : a[0] > a[2] ? a[2] : a[0],
        "sat-add" => (a[0] + a[1]) is var s && s > 127 ? 127 : s < -128 ? -128 : s,
        "cinc" => a[1] > 10 ? a[0] + 1 : a[0],
        "min3" => Math.Min(a[0], Math.Min(a[1], a[2])),
        "in-range" => a[0] is >= 10 and <= 20 ? a[1] : a[2],
        "out-range" => a[0] is < -5 or > 5 ? a[1] : a[2],
        "wide" => a[0] < 0 ? long.MaxValue : long.MinValue,
        "truth" => a[0] != 0 ? a[1] : a[2],
        "reads-test" => a[0] < a[1] ? a[0] + 1 : a[1],
        "spread" => a[0] > a[1] ? a[0] * 1000 - a[1] : a[1] * 1000 - a[0],
        "wrap" => a[0] + a[1] < a[0] ? a[0] - a[1] : a[0] + a[1],
        "count-below" => CountBelow(a[0], a[1]),
        "search" => Search(a[0], a[1]),
        _ => throw new ArgumentException(name),
    });

    private static long CountBelow(long n, long k)
    {
        long c = 0, x = 7;
        for (long i = 0; i < n; i++)
        {
            x = unchecked(x * 1103515245 + 12345);
            if (((x >> 16) & 255) < k) c++;
        }
        return c;
    }

    private static long Search(long n, long key)
    {
        long lo = 0, hi = n;
        while (lo + 1 < hi)
        {
            var mid = (lo + hi) >> 1;
            if (mid * 3 <= key) lo = mid;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Every call's result at O0 and at O1 is the model's.</summary>
    private static void AssertModelAtBothLevels(string source, IEnumerable<(string Function, long[] Arguments)> calls, Func<string, long[], long> model)
    {
        using var o0 = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(source);
        foreach (var (name, arguments) in calls)
        {
            var expected = model(name, arguments);
            Assert.AreEqual(expected, o0.Call(name, arguments), $"O0 {name}({string.Join(", ", arguments)})");
            Assert.AreEqual(expected, o1.Call(name, arguments), $"O1 {name}({string.Join(", ", arguments)})");
        }
    }

    [TestMethod]
    public void EveryChoiceKeepsItsResultAtBothLevels() => AssertModelAtBothLevels(Tests, Calls(), Model);

    [TestMethod]
    public void EveryChoiceAgreesOnArm64UnderQemu() => Arm64Batch.AssertSameAsX64(Tests, Calls());

    [TestMethod]
    public void CheapChoicesBecomeSelectsWithoutBranches()
    {
        var module = Optimise(Tests);
        foreach (var name in new[] { "min2", "max2", "le-pick", "ge-pick", "eq-pick", "ne-pick", "abs1", "sign", "clamp", "sat-add", "wide", "truth" })
        {
            var function = Function(module, name);
            Assert.HasCount(1, function.Blocks, $"{name}:\n{IrPrinter.Print(function)}");
            Assert.IsTrue(Instructions(function).Any(i => i.Op == Opcode.Select), $"{name}:\n{IrPrinter.Print(function)}");
        }
        // A min of three by nested ifs: each inner choice a select, the outer test a branch (both its arms would run a choice).
        var min3 = Function(module, "min3");
        Assert.HasCount(2, Instructions(min3).Where(i => i.Op == Opcode.Select).ToList(), IrPrinter.Print(min3));
        Assert.IsTrue(min3.Blocks.Any(b => b.Terminator is Branch), IrPrinter.Print(min3));
        // A conditional count is the count plus the comparison (setcc, add): no select, no branch.
        var cinc = Function(module, "cinc");
        Assert.HasCount(1, cinc.Blocks, IrPrinter.Print(cinc));
        Assert.IsTrue(Instructions(cinc).Any(i => i.Op == Opcode.Add && i.Arguments.Any(a => !a.IsConstant && Instructions(cinc).Any(c => c.Destination == a.Register && c.Op.IsComparison()))), IrPrinter.Print(cinc));
        // Two values chosen at once (a swap) stay a branch: two selects where the branch moves nothing.
        Assert.IsTrue(Function(module, "spread").Blocks.Any(b => b.Terminator is Branch), IrPrinter.Print(Function(module, "spread")));
        // A choice of 1 or 0 by a comparison is the comparison (or its negation): no select.
        const string flags = "(define-function differ (a b) (if (= a b) 0 1)) (define-function same (a b) (if (= a b) 1 0))";
        foreach (var name in new[] { "differ", "same" })
        {
            var function = Function(Optimise(flags), name);
            Assert.HasCount(1, function.Blocks, IrPrinter.Print(function));
            Assert.IsFalse(Instructions(function).Any(i => i.Op == Opcode.Select), IrPrinter.Print(function));
            AssertSameAtBothLevels(flags, name, [0, 0], [1, 2], [-1, -1], [long.MinValue, long.MaxValue]);
        }
    }

    [TestMethod]
    public void ABranchGuardingWorkStaysABranch()
    {
        const string source = """
            (define-function guarded (a b) (if (< a b) (* (+ a 3) (- b 5)) (/ a b)))
            (define-function loads (p i) (if (< i 10) (oop-at p i) 0))
            (define-function long-arm (a b) (if (< a b) (+ (+ (* a 3) (^ (>> b 2) (<< a 5))) (& a 12345)) b))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "guarded", "loads", "long-arm" })
            Assert.IsFalse(Instructions(Function(module, name)).Any(i => i.Op == Opcode.Select), $"{name}:\n{IrPrinter.Print(Function(module, name))}");
        using var o1 = CompiledLibrary.Compile(source);
        Assert.AreEqual(8 * 3, o1.Call("guarded", 5, 8));
        Assert.AreEqual(0, o1.Call("guarded", 5, 0), "division by zero is total");
        Assert.AreEqual(0, o1.Call("loads", 0, 11), "the load is not made when the test is false (null base)");
    }

    [TestMethod]
    public void InALoopOnlyAChoiceOfReadyValuesOrACountIsConverted()
    {
        const string source = """
            (define-function run-min (p n) (let ((m 0)) (for (i 0 n) (let ((v (oop-at p i))) (if (< v m) (set m v)))) m))
            (define-function count-below (p n k) (let ((c 0)) (for (i 0 n) (if (< (oop-at p i) k) (set c (+ c 1)))) c))
            (define-function sum-set (p n) (let ((c 0)) (for (i 0 n) (when (oop-at p i) (set c (+ c i)))) c))
            (define-function zigzag (n) (let ((s 0)) (for (i 0 n) (if (< i 512) (set s (+ s i)) (set s (- s (>> i 1))))) s))
            """;
        var module = Optimise(source, unroll: false);
        Assert.IsTrue(Instructions(Function(module, "run-min")).Any(i => i.Op == Opcode.Select), IrPrinter.Print(Function(module, "run-min")));
        var count = Function(module, "count-below");
        Assert.IsFalse(Instructions(count).Any(i => i.Op == Opcode.Select), IrPrinter.Print(count));
        Assert.AreEqual(2, count.Blocks.Count(b => b.Terminator is Branch), $"only the rotated loop's guard and latch branch:\n{IrPrinter.Print(count)}");
        foreach (var name in new[] { "sum-set", "zigzag" })
            Assert.IsFalse(Instructions(Function(module, name)).Any(i => i.Op == Opcode.Select), $"arithmetic in an arm stays behind a branch in a loop:\n{IrPrinter.Print(Function(module, name))}");
        using var o1 = CompiledLibrary.Compile(source);
        Assert.AreEqual(0, o1.Call("zigzag", 0));
        Assert.AreEqual(Enumerable.Range(0, 1000).Sum(i => i < 512 ? (long)i : -(long)(i >> 1)), o1.Call("zigzag", 1000));
    }

    private const string Decided = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function prefix-hits (n m seed)
          (let ((text (malloc (+ n 8))) (x seed) (count 0) (i 0))
            (for (k 0 n) (set x (+ (* x 6364136223846793005) 1442695040888963407)) (set-string-at text k (& (>> x 40) 1)))
            (while (<= (+ i m) n)
              (let ((j 0))
                (while (and (< j m) (= (string-at text (+ i j)) (string-at text j))) (set j (+ j 1)))
                (if (= j m) (set count (+ count 1))))
              (set i (+ i 1)))
            (free text)
            count))
        (define-function back-hits (n seed v)
          (let ((a (malloc (* 8 (+ n 1)))) (x seed) (hits 0) (k 0))
            (for (t 0 n) (set x (+ (* x 6364136223846793005) 1442695040888963407)) (set-oop-at a t (- (& (>> x 40) 7) 3)))
            (for (i 0 n)
              (set k i)
              (while (and (> k 0) (!= (oop-at a k) v)) (set k (- k 1)))
              (if (= (oop-at a k) v) (set hits (+ hits 1))))
            (free a)
            hits))
        (define-function below-hits (n seed v)
          (let ((x seed) (hits 0))
            (for (i 0 n) (set x (+ (* x 6364136223846793005) 1442695040888963407)) (if (< (& (>> x 40) 7) v) (set hits (+ hits 1))))
            hits))
        (define-function or-zero (a b) (let ((v (^ a b))) (or v 0)))
        (define-function zero-or (a b) (let ((v (- a b))) (if v 0 v)))
        (define-function rule-sum (n seed)
          (let ((x seed) (s 0))
            (for (i 0 n)
              (set x (+ (* x 6364136223846793005) 1442695040888963407))
              (let ((c (& (>> x 40) 7)) (alive (& (>> x 50) 3)))
                (set s (+ (* s 3) (or (= c 3) (and (= c 2) alive) 0)))))
            s))
        """;

    private static long Next(long x) => unchecked(x * 6364136223846793005 + 1442695040888963407);

    private static long DecidedModel(string name, long[] a)
    {
        switch (name)
        {
            case "prefix-hits":
            {
                var (n, m, x) = (a[0], a[1], a[2]);
                var text = new long[n];
                for (var k = 0; k < n; k++) text[k] = (x = Next(x)) >> 40 & 1;
                long count = 0;
                for (long i = 0; i + m <= n; i++)
                {
                    long j = 0;
                    while (j < m && text[i + j] == text[j]) j++;
                    if (j == m) count++;
                }
                return count;
            }
            case "back-hits":
            {
                var (n, x, v) = (a[0], a[1], a[2]);
                var w = new long[n + 1];
                for (var t = 0; t < n; t++) w[t] = ((x = Next(x)) >> 40 & 7) - 3;
                long hits = 0;
                for (long i = 0; i < n; i++)
                {
                    var k = i;
                    while (k > 0 && w[k] != v) k--;
                    if (w[k] == v) hits++;
                }
                return hits;
            }
            case "below-hits":
            {
                var (n, x, v) = (a[0], a[1], a[2]);
                long hits = 0;
                for (var i = 0; i < n; i++) if (((x = Next(x)) >> 40 & 7) < v) hits++;
                return hits;
            }
            case "or-zero": return a[0] ^ a[1];
            case "zero-or": return 0;
            case "rule-sum":
            {
                var (n, x) = (a[0], a[1]);
                long s = 0;
                for (var i = 0; i < n; i++)
                {
                    x = Next(x);
                    var (c, alive) = (x >> 40 & 7, x >> 50 & 3);
                    s = unchecked(s * 3 + (c == 3 ? 1 : c == 2 ? alive : 0));
                }
                return s;
            }
            default: throw new ArgumentException(name);
        }
    }

    private static IEnumerable<(string Function, long[] Arguments)> DecidedCalls()
    {
        foreach (var (n, m) in new[] { (0L, 0L), (0L, 3L), (5L, 0L), (5L, 5L), (5L, 6L), (300L, 1L), (300L, 2L), (1000L, 4L) })
            foreach (var seed in new[] { 1L, -77L })
                yield return ("prefix-hits", [n, m, seed]);
        foreach (var n in new[] { 0L, 1L, 2L, 500L })
            foreach (var v in new[] { -3L, 0L, 4L, 9L })
                yield return ("back-hits", [n, 12345, v]);
        foreach (var v in new[] { long.MinValue, 0L, 3L, 8L, long.MaxValue }) yield return ("below-hits", [400, 99, v]);
        foreach (var x in Samples)
            foreach (var y in new[] { 0L, -1L, 5L, long.MaxValue, long.MinValue })
            {
                yield return ("or-zero", [x, y]);
                yield return ("zero-or", [x, y]);
            }
        foreach (var n in new[] { 0L, 1L, 50L, 1000L }) yield return ("rule-sum", [n, 31]);
    }

    [TestMethod]
    public void ATestAnIncomingEdgeDecidesStaysABranchAndAChoiceOfTheConditionIsNoSelect()
    {
        var module = Optimise(Decided);
        static bool CountForm(IrFunction f) =>
            Instructions(f).Any(i => i.Op == Opcode.Add && i.Arguments.Any(a => !a.IsConstant && Instructions(f).Any(c => c.Destination == a.Register && c.Op.IsComparison())));
        // The loop exit that tested j < m (or a[k] != v) decides the test after it on that edge: a branch, as gcc -O2's threading leaves it.
        foreach (var name in new[] { "prefix-hits", "back-hits" })
        {
            var function = Function(module, name);
            Assert.IsFalse(CountForm(function) || Instructions(function).Any(i => i.Op == Opcode.Select), $"{name}:\n{IrPrinter.Print(function)}");
        }
        // A test nothing before it decides is still a count (setcc, add).
        Assert.IsTrue(CountForm(Function(module, "below-hits")), IrPrinter.Print(Function(module, "below-hits")));
        // (if v v 0) is v and (if v 0 v) is 0: Lisp's and/or values tested again choose nothing (rule-sum's and is its one select).
        foreach (var (name, selects) in new[] { ("or-zero", 0), ("zero-or", 0), ("rule-sum", 1) })
            Assert.IsLessThanOrEqualTo(selects, Instructions(Function(module, name)).Count(i => i.Op == Opcode.Select), $"{name}:\n{IrPrinter.Print(Function(module, name))}");
        AssertModelAtBothLevels(Decided, DecidedCalls(), DecidedModel);
        Arm64Batch.AssertSameAsX64(Decided, DecidedCalls());
    }

    [TestMethod]
    public void AFunctionOfThousandsOfChoicesKeepsThemBranchFree()
    {
        // 2,500 sequential choices (more blocks than any limit by size would allow), alternating a clamp of a
        // running value, a conditional count and a choice of two computed values: each is converted, the joins
        // are left to control-flow simplification, and the answers (wrap-around, negative values) are kept.
        const int count = 2500;
        var source = new System.Text.StringBuilder("(define-function many (x y) (let ((a x) (c 0))\n");
        for (var i = 0; i < count; i++)
            source.Append((i % 3) switch
            {
                0 => $" (if (> a {i * 7}) (set a (- a {i})))\n",
                1 => $" (if (< y a) (set c (+ c 1)))\n",
                _ => $" (set a (if (< (+ a y) {i}) (+ a {i}) (^ a y)))\n",
            });
        source.Append(" (+ a (* c 1000003))))");
        var text = source.ToString();
        var many = Function(Optimise(text), "many");
        Assert.IsFalse(many.Blocks.Any(b => b.Terminator is Branch), $"{many.Blocks.Count} blocks, some still branch");
        Assert.IsTrue(Instructions(many).Count(i => i.Op == Opcode.Select) >= count / 3, "the choices are selects");
        static long Model(long x, long y)
        {
            long a = x, c = 0;
            for (var i = 0; i < count; i++)
                unchecked
                {
                    switch (i % 3)
                    {
                        case 0: if (a > i * 7) a -= i; break;
                        case 1: if (y < a) c++; break;
                        default: a = a + y < i ? a + i : a ^ y; break;
                    }
                }
            return unchecked(a + c * 1000003);
        }
        var calls = new[] { (0L, 0L), (5000L, 3L), (-7L, 11L), (long.MaxValue, 1L), (long.MinValue, -1L), (1_000_000L, -250_000L), (123456789L, 987654321L) }
            .Select(p => ("many", new[] { p.Item1, p.Item2 })).ToList();
        AssertModelAtBothLevels(text, calls, (_, arguments) => Model(arguments[0], arguments[1]));
        Arm64Batch.AssertSameAsX64(text, calls);
    }

    [TestMethod]
    public void AManyWayTestOfOneValueIsLeftToSwitchLowering()
    {
        const string source = """
            (define-function kind (c) (cond ((= c 1) 10) ((= c 2) 20) ((= c 3) 30) ((= c 4) 40) (else 50)))
            """;
        var function = Function(Optimise(source), "kind");
        Assert.IsFalse(Instructions(function).Any(i => i.Op == Opcode.Select), IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "kind", [.. Values.Select(v => new[] { v })]);
    }
}
