using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Calls inside a call-graph cycle: a small member is inlined into the member of its cycle that
/// the pipeline finishes last, and the self calls that brings become loops (with an accumulator
/// when the results are combined). Every function keeps its own result at O0 and O1, on x86-64
/// and (one qemu batch) on AArch64.
/// </summary>
[TestClass]
public sealed class MutualRecursionTests
{
    private const string EvenOdd = """
        (define-function is-even (n) (if (= n 0) 1 (is-odd (- n 1))))
        (define-function is-odd (n) (if (= n 0) 0 (is-even (- n 1))))
        (define-function parity (n) (+ (* 10 (is-even n)) (is-odd n)))
        """;

    // a -> b -> c -> a, entered at c (run calls it), results in tail position.
    private const string ThreeWay = """
        (define-function a (n k) (if (<= n 0) k (b (- n 1) (+ k 1))))
        (define-function b (n k) (if (<= n 0) (* k 2) (c (- n 1) (+ k 2))))
        (define-function c (n k) (if (<= n 0) (* k 3) (a (- n 1) (^ k 3))))
        (define-function run (n) (c n 0))
        """;

    // Results combined after the calls (not tail calls): sums through two and three functions.
    private const string Accumulating = """
        (define-function f (n) (if (<= n 0) 0 (+ n (g (- n 1)))))
        (define-function g (n) (if (<= n 0) 1 (+ (* 2 n) (f (- n 1)))))
        (define-function p (n) (if (<= n 0) 5 (+ 1 (q (- n 1)))))
        (define-function q (n) (if (<= n 0) 6 (+ (r (- n 1)) 2)))
        (define-function r (n) (if (<= n 0) 7 (+ 3 (p (- n 1)))))
        """;

    // Hofstadter's female and male sequences: each call's argument is another call's result.
    private const string Nested = """
        (define-function female (n) (if (= n 0) 1 (- n (male (female (- n 1))))))
        (define-function male (n) (if (= n 0) 0 (- n (female (male (- n 1))))))
        (define-function ev (n) (if (= n 0) 1 (- n (od (- n 1)))))
        (define-function od (n) (if (= n 0) 0 (- (* 2 n) (ev (- n 1)))))
        """;

    // A recursive-descent evaluator of + * and parentheses over single digits.
    private const string Descent = """
        (define src 0)
        (define pos 0)
        (define-function peek () (string-at src pos))
        (define-function advance () (set pos (+ pos 1)))
        (define-function expr () (let ((v (term))) (while (= (peek) 43) (advance) (set v (+ v (term)))) v))
        (define-function term () (let ((v (factor))) (while (= (peek) 42) (advance) (set v (* v (factor)))) v))
        (define-function factor () (if (= (peek) 40) (let ((v 0)) (advance) (set v (expr)) (advance) v) (let ((d (- (peek) 48))) (advance) d)))
        (define-function parse (which)
          (set pos 0)
          (set src (if (= which 0) "1+2*3" (if (= which 1) "(1+2)*3+((4*5)+6)*(7+8*9)" "((((((9))))))*(2+(3*(4+(5*(6+7)))))")))
          (expr))
        """;

    private static long EvenOddModel(long n) => 10 * (n % 2 == 0 ? 1 : 0) + (n % 2);

    private static long ThreeWayModel(long n)
    {
        var k = 0L;
        var at = 2;   // c
        for (; n > 0; n--)
        {
            k = at switch { 0 => k + 1, 1 => k + 2, _ => k ^ 3 };
            at = (at + 1) % 3;
        }
        return at switch { 0 => k, 1 => k * 2, _ => k * 3 };
    }

    private static long FModel(long n, bool startAtF = true)
    {
        var sum = 0L;
        var inF = startAtF;
        for (; n > 0; n--, inF = !inF) sum += inF ? n : 2 * n;
        return sum + (inF ? 0 : 1);
    }

    private static long PModel(long n)
    {
        var sum = 0L;
        var at = 0;
        for (; n > 0; n--, at = (at + 1) % 3) sum += at switch { 0 => 1, 1 => 2, _ => 3 };
        return sum + at switch { 0 => 5, 1 => 6, _ => 7 };
    }

    private static long Ev(long n) => n == 0 ? 1 : n - Od(n - 1);

    private static long Od(long n) => n == 0 ? 0 : 2 * n - Ev(n - 1);

    [TestMethod]
    public void EvenAndOddBecomeOneLoopAndBothStillAnswer()
    {
        var module = Optimise(EvenOdd);
        var even = Function(module, "is-even");
        Assert.IsFalse(Calls(even, "is-odd") || Calls(even, "is-even"), IrPrinter.Print(even));
        Assert.IsTrue(even.Blocks.Any(InLoop), IrPrinter.Print(even));
        Assert.IsTrue(Calls(Function(module, "is-odd"), "is-even"), "is-odd stays a function of its own, calling the loop");
        var results = AssertSameAtBothLevels(EvenOdd, "parity", [.. Enumerable.Range(0, 40).Select(n => new long[] { n })]);
        CollectionAssert.AreEqual(Enumerable.Range(0, 40).Select(n => EvenOddModel(n)).ToArray(), results);
        AssertSameAtBothLevels(EvenOdd, "is-odd", [0], [1], [2], [77]);
        using var o1 = CompiledLibrary.Compile(EvenOdd, OptimisationLevel.O1);
        Assert.AreEqual(EvenOddModel(10_000_001), o1.Call("parity", 10_000_001));
    }

    [TestMethod]
    public void AThreeFunctionCycleBecomesALoopInItsEntry()
    {
        var module = Optimise(ThreeWay);
        var c = Function(module, "c");
        Assert.IsFalse(Calls(c, "a") || Calls(c, "b") || Calls(c, "c"), IrPrinter.Print(c));
        Assert.IsTrue(c.Blocks.Any(InLoop), IrPrinter.Print(c));
        var arguments = Enumerable.Range(0, 30).Select(n => new long[] { n }).ToArray();
        var results = AssertSameAtBothLevels(ThreeWay, "run", arguments);
        CollectionAssert.AreEqual(arguments.Select(a => ThreeWayModel(a[0])).ToArray(), results);
        foreach (var name in new[] { "a", "b", "c" })
            AssertSameAtBothLevels(ThreeWay, name, [0, 5], [1, 5], [2, -7], [3, 0], [10, 100]);
        using var o1 = CompiledLibrary.Compile(ThreeWay, OptimisationLevel.O1);
        Assert.AreEqual(ThreeWayModel(10_000_000), o1.Call("run", 10_000_000));
    }

    [TestMethod]
    public void NonTailMutualRecursionWithAccumulatorsRunsInConstantStack()
    {
        var module = Optimise(Accumulating);
        // f and p are the entries the walk starts from (first in the module): they absorb their cycles.
        foreach (var (name, cycle) in new[] { ("f", new[] { "f", "g" }), ("p", new[] { "p", "q", "r" }) })
        {
            var function = Function(module, name);
            Assert.IsFalse(cycle.Any(member => Calls(function, member)), IrPrinter.Print(function));
        }
        var arguments = Enumerable.Range(-1, 30).Select(n => new long[] { n }).ToArray();
        CollectionAssert.AreEqual(arguments.Select(a => FModel(a[0])).ToArray(), AssertSameAtBothLevels(Accumulating, "f", arguments));
        CollectionAssert.AreEqual(arguments.Select(a => FModel(a[0], startAtF: false)).ToArray(), AssertSameAtBothLevels(Accumulating, "g", arguments));
        CollectionAssert.AreEqual(arguments.Select(a => PModel(a[0])).ToArray(), AssertSameAtBothLevels(Accumulating, "p", arguments));
        AssertSameAtBothLevels(Accumulating, "q", [0], [1], [2], [3], [29]);
        AssertSameAtBothLevels(Accumulating, "r", [0], [1], [2], [3], [29]);
        // Ten million levels: as calls, ~0.5 GB of stack; on the test's own thread only a loop survives.
        using var o1 = CompiledLibrary.Compile(Accumulating, OptimisationLevel.O1);
        Assert.AreEqual(FModel(10_000_000), o1.Call("f", 10_000_000));
        Assert.AreEqual(PModel(10_000_000), o1.Call("p", 10_000_000));
    }

    [TestMethod]
    public void NestedAndNonTailMutualCallsKeepTheirResults()
    {
        static (long[] F, long[] M) Hofstadter(int count)
        {
            var (f, m) = (new long[count], new long[count]);
            f[0] = 1;
            for (var n = 1; n < count; n++)
            {
                m[n] = n - f[m[n - 1]];   // first: f[n] may read m[n]
                f[n] = n - m[f[n - 1]];
            }
            return (f, m);
        }
        var arguments = Enumerable.Range(0, 40).Select(n => new long[] { n }).ToArray();
        var (female, male) = Hofstadter(40);
        CollectionAssert.AreEqual(female, AssertSameAtBothLevels(Nested, "female", arguments));
        CollectionAssert.AreEqual(male, AssertSameAtBothLevels(Nested, "male", arguments));
        CollectionAssert.AreEqual(arguments.Select(a => Ev(a[0])).ToArray(), AssertSameAtBothLevels(Nested, "ev", arguments));
        CollectionAssert.AreEqual(arguments.Select(a => Od(a[0])).ToArray(), AssertSameAtBothLevels(Nested, "od", arguments));
    }

    [TestMethod]
    public void ARecursiveDescentEvaluatorKeepsItsResults()
    {
        var results = AssertSameAtBothLevels(Descent, "parse", [0], [1], [2]);
        CollectionAssert.AreEqual(new long[] { 7, 9 + 26 * 79, 9 * (2 + 3 * (4 + 5 * 13)) }, results);
    }

    [TestMethod]
    public void ARingOfThreeThousandFunctionsCompilesAndRuns()
    {
        // f0 -> f1 -> ... -> f2999 -> f0: one component of 3,000 members, each small enough to inline.
        // (Its compile time against 10,000: build/bench.sh --scaling-only, "n functions in call cycles".)
        const int count = 3_000;
        var source = string.Join("\n", Enumerable.Range(0, count).Select(i =>
            $"(define-function f{i} (n s) (if (<= n 0) (+ s {i}) (f{(i + 1) % count} (- n 1) (+ s (* n {i % 7})))))"));
        static long Model(long n, int at = 0)
        {
            var s = 0L;
            for (; n > 0; n--, at = (at + 1) % count) s += n * (at % 7);
            return s + at;
        }
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        foreach (var n in new long[] { 0, 1, 6, 2_999, 3_000, 123_457 })
            Assert.AreEqual(Model(n), o1.Call("f0", n, 0), $"f0 {n}");
        foreach (var at in new[] { 1, 1234, 2996, 2999 })
            Assert.AreEqual(Model(1_000, at), o1.Call($"f{at}", 1_000, 0), $"f{at}");
    }

    [TestMethod]
    public void EveryShapeAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(string.Join("\n", EvenOdd, ThreeWay, Accumulating, Nested, Descent), MutualCases);

    private static IEnumerable<Arm64Case> MutualCases(OptimisationLevel level)
    {
        foreach (var n in new long[] { 0, 1, 2, 7, 30 })
        {
            yield return new("parity", [n], EvenOddModel(n));
            yield return new("run", [n], ThreeWayModel(n));
            yield return new("f", [n], FModel(n));
            yield return new("g", [n], FModel(n, startAtF: false));
            yield return new("p", [n], PModel(n));
            yield return new("ev", [n], Ev(n));
        }
        yield return new("female", [30], 19);
        yield return new("male", [30], 19);
        yield return new("parse", [1], 9 + 26 * 79);
        if (level != OptimisationLevel.O1) yield break;
        // As calls (16 bytes a frame at least) these would need more than the loader's 1 GiB stack.
        yield return new("f", [100_000_000], FModel(100_000_000));
        yield return new("p", [100_000_000], PModel(100_000_000));
        yield return new("run", [10_000_000], ThreeWayModel(10_000_000));
        yield return new("parity", [10_000_001], EvenOddModel(10_000_001));
    }
}
