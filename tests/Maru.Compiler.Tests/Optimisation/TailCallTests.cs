using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class TailCallTests
{
    private const string Sum = "(define-function sum (n acc) (if (= n 0) acc (sum (- n 1) (+ acc n))))";

    [TestMethod]
    public void ASelfTailCallBecomesALoop()
    {
        var sum = Function(Optimise(Sum), "sum");
        Assert.IsFalse(Calls(sum, "sum"), IrPrinter.Print(sum));
        Assert.IsTrue(sum.Blocks.Any(InLoop));
    }

    [TestMethod]
    public void TailRecursionToTenMillionRunsInConstantStack()
    {
        using var library = CompiledLibrary.Compile(Sum, OptimisationLevel.O1);
        // On the test's own thread: at O0 this depth would need ~0.5 GB of stack.
        Assert.AreEqual(10_000_000L * 10_000_001 / 2, library.Call("sum", 10_000_000, 0));
    }

    [TestMethod]
    public void TailCallsThroughNestedIfsAndReturnAndSwappedArguments()
    {
        const string source = """
            (define-function gcd (a b) (if (= b 0) a (gcd b (% a b))))
            (define-function count (n k) (if (> n 100) (return k)) (if (= (% n 2) 0) (count (+ n 3) (+ k 1)) (if (= n 7) 77 (count (+ n 1) k))))
            (define-function swap (a b n) (if (= n 0) (- a b) (swap b a (- n 1))))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "gcd", "count", "swap" })
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
        AssertSameAtBothLevels(source, "gcd", [48, 18], [17, 5], [0, 9], [-48, 18]);
        AssertSameAtBothLevels(source, "count", [0, 0], [6, 0], [1, 5], [200, 3]);
        AssertSameAtBothLevels(source, "swap", [10, 3, 0], [10, 3, 1], [10, 3, 7], [10, 3, 8]);
    }

    [TestMethod]
    public void CallsNotInTailPositionStay()
    {
        // A quotient of the result is neither one associative op nor affine in it: no accumulator.
        const string source = "(define-function depth (n) (if (= n 0) 5 (- 1 (/ (depth (- n 1)) 2))))";
        Assert.IsTrue(Calls(Function(Optimise(source), "depth"), "depth"));
        AssertSameAtBothLevels(source, "depth", [0], [1], [2], [7]);
    }

    private const string Fib = "(define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))";

    [TestMethod]
    public void FibKeepsOneRecursiveCallTheOtherBecomesALoopWithAnAccumulator()
    {
        var fib = Function(Optimise(Fib), "fib");
        Assert.AreEqual(1, Instructions(fib).Count(i => i.Op == Opcode.Call && i.Symbol == "fib"), IrPrinter.Print(fib));
        Assert.IsTrue(fib.Blocks.Any(InLoop), IrPrinter.Print(fib));
        var results = AssertSameAtBothLevels(Fib, "fib", [.. Enumerable.Range(-3, 28).Select(n => new long[] { n })]);
        Assert.AreEqual(17711L, results[^3]);   // fib 22
        Assert.AreEqual(long.MinValue, AssertSameAtBothLevels(Fib, "fib", [long.MinValue])[0]);
    }

    [TestMethod]
    public void AccumulationByMultiplicationWrapsLikeTheRecursion()
    {
        const string source = """
            (define-function fact (n) (if (< n 2) 1 (* n (fact (- n 1)))))
            (define-function pow (b e) (if (= e 0) 1 (* (pow b (- e 1)) b)))
            """;
        var module = Optimise(source);
        Assert.IsFalse(Calls(Function(module, "fact"), "fact"), IrPrinter.Print(Function(module, "fact")));
        Assert.IsFalse(Calls(Function(module, "pow"), "pow"), IrPrinter.Print(Function(module, "pow")));
        AssertSameAtBothLevels(source, "fact", [0], [1], [5], [20], [21], [25], [66], [200], [-5]);
        AssertSameAtBothLevels(source, "pow", [3, 0], [3, 40], [3, 41], [-7, 63], [long.MaxValue, 3], [long.MinValue, 1], [6700417, 9]);
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        Assert.AreEqual(unchecked(2432902008176640000L * 21), o1.Call("fact", 21), "21! wraps around");
    }

    [TestMethod]
    public void AccumulationOnEitherSideThroughChainsAndSharedReturns()
    {
        const string source = """
            (define-function sum-right (n) (if (<= n 0) 0 (+ (sum-right (- n 1)) n)))
            (define-function chain (n k) (if (<= n 0) k (+ 1 (+ (* n n) (chain (- n 1) (+ k 3))))))
            (define-function early (n) (if (< n 0) (return 1000)) (if (= n 0) 7 (if (= (% n 3) 0) (early (- n 2)) (+ n (early (- n 1))))))
            (define-function wrap (n) (if (= n 0) 0 (+ 4611686018427387904 (wrap (- n 1)))))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "sum-right", "chain", "early", "wrap" })
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
        AssertSameAtBothLevels(source, "sum-right", [0], [1], [100], [-4]);
        AssertSameAtBothLevels(source, "chain", [0, 5], [1, 5], [10, -2], [3037, 1], [20000, 9]);
        AssertSameAtBothLevels(source, "early", [-1], [0], [1], [2], [3], [10], [100], [1001]);
        AssertSameAtBothLevels(source, "wrap", [0], [1], [2], [3], [4], [5]);
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        Assert.AreEqual(5050L, o1.Call("sum-right", 100));
        Assert.AreEqual(long.MinValue, o1.Call("wrap", 2));
        Assert.AreEqual(10_000_000L * 10_000_001 / 2, o1.Call("sum-right", 10_000_000), "a loop now: no stack to run out of");
    }

    [TestMethod]
    public void DoublyRecursiveSumsNestedAnyWayKeepOneCall()
    {
        // The two calls sit in differently parenthesised sums, with known values computed after
        // the last call (they move before it) and a subtraction of a known value.
        const string source = """
            (define-function f1 (n) (if (< n 2) n (+ (+ (f1 (- n 2)) 1) (+ (f1 (- n 1)) (* n 3)))))
            (define-function f2 (n) (if (< n 2) n (+ (* 2 n) (+ (f2 (- n 1)) (- (f2 (- n 2)) 7)))))
            (define-function f3 (n) (if (< n 2) 1 (+ (f3 (- n 1)) (+ (f3 (- n 2)) (+ (* n n) (/ n 3))))))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "f1", "f2", "f3" })
        {
            var function = Function(module, name);
            Assert.AreEqual(1, Instructions(function).Count(i => i.Op == Opcode.Call && i.Symbol == name), IrPrinter.Print(function));
            AssertSameAtBothLevels(source, name, [.. Enumerable.Range(-2, 26).Select(n => new long[] { n })]);
        }
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        long F1(long n) => n < 2 ? n : F1(n - 2) + 1 + F1(n - 1) + n * 3;
        Assert.AreEqual(F1(20), o1.Call("f1", 20));
    }

    [TestMethod]
    public void BitwiseChainsAccumulateToo()
    {
        const string source = """
            (define-function x (n) (if (< n 1) 5 (^ (& n 12345) (x (- n 1)))))
            (define-function a (n) (if (< n 1) -1 (& (| n 3) (a (- n 1)))))
            (define-function o (n) (if (< n 1) 0 (| (o (- n 1)) (<< 1 (% n 60)))))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "x", "a", "o" })
        {
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
            AssertSameAtBothLevels(source, name, [-3], [0], [1], [2], [7], [59], [60], [61], [1000]);
        }
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        Assert.AreEqual(Enumerable.Range(1, 1000).Aggregate(5L, (acc, n) => acc ^ (n & 12345)), o1.Call("x", 1000));
        Assert.AreEqual((1L << 60) - 1, o1.Call("o", 1000));
    }

    [TestMethod]
    public void ALoadAfterTheCallKeepsItsCallWhileAffineCombinationsLoop()
    {
        // x - f(...) and f(...) * 2 + 1 are affine in the result (a loop with two accumulators); a load after the call is not.
        const string source = """
            (define table 0)
            (define malloc (extern 'malloc))
            (define-function s (n) (if (< n 1) 3 (- n (s (- n 1)))))
            (define-function l (n) (if (< n 1) 3 (+ 1 (* 2 (l (- n 1))))))
            (define-function m (n) (if (< n 1) 0 (+ (m (- n 1)) (oop-at table (& n 3)))))
            (define-function run-m (n) (set table (malloc 32)) (set-oop-at table 0 1) (set-oop-at table 1 10) (set-oop-at table 2 100) (set-oop-at table 3 1000) (m n))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "s", "l" })
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
        Assert.IsTrue(Calls(Function(module, "m"), "m"), IrPrinter.Print(Function(module, "m")));
        AssertSameAtBothLevels(source, "s", [0], [1], [2], [9]);
        AssertSameAtBothLevels(source, "l", [0], [1], [2], [62], [63], [64]);
        AssertSameAtBothLevels(source, "run-m", [0], [1], [2], [9]);
    }

    [TestMethod]
    public void MixedOpsUseOneAccumulatorOrTwoAffineOnesAndTheOtherSitesKeepTheirCall()
    {
        // + and * sites: both affine (no call left); & and + sites: one op, one call stays.
        const string source = "(define-function m (n) (if (<= n 0) 1 (if (= (% n 2) 0) (+ n (m (- n 1))) (* 3 (m (- n 1))))))"
            + "(define-function k (n) (if (<= n 0) 1 (if (= (% n 2) 0) (+ n (k (- n 1))) (& 1023 (k (- n 1))))))";
        var module = Optimise(source);
        Assert.IsFalse(Calls(Function(module, "m"), "m"), IrPrinter.Print(Function(module, "m")));
        var k = Function(module, "k");
        Assert.AreEqual(1, Instructions(k).Count(i => i.Op == Opcode.Call && i.Symbol == "k"), IrPrinter.Print(k));
        AssertSameAtBothLevels(source, "k", [.. Enumerable.Range(-2, 60).Select(n => new long[] { n })]);
        AssertSameAtBothLevels(source, "m", [.. Enumerable.Range(-2, 60).Select(n => new long[] { n })]);
    }

    [TestMethod]
    public void SideEffectsAroundTheCallKeepTheirOrder()
    {
        // tick's effects must happen in the original order: before the recursion in g, after it in h.
        const string source = """
            (define counter 0)
            (define-function tick () (set counter (+ (* counter 3) 1)) counter)
            (define-function g (n) (if (= n 0) 0 (+ (tick) (g (- n 1)))))
            (define-function h (n) (if (= n 0) 0 (+ (h (- n 1)) (* (tick) n))))
            (define-function k (n) (if (= n 0) counter (* (+ (tick) n) (k (- n 1)))))
            (define-function run-g (n) (set counter 5) (let ((r (g n))) (+ (* r 1000003) counter)))
            (define-function run-h (n) (set counter 5) (let ((r (h n))) (+ (* r 1000003) counter)))
            (define-function run-k (n) (set counter 5) (let ((r (k n))) (+ (* r 1000003) counter)))
            """;
        var module = Optimise(source);
        Assert.IsFalse(Calls(Function(module, "g"), "g"), IrPrinter.Print(Function(module, "g")));
        Assert.IsTrue(Calls(Function(module, "h"), "h"), IrPrinter.Print(Function(module, "h")));
        foreach (var name in new[] { "run-g", "run-h", "run-k" })
            AssertSameAtBothLevels(source, name, [0], [1], [2], [5], [40]);
    }

    [TestMethod]
    public void FunctionsWithAddressTakenLocalsKeepTheirCalls()
    {
        const string source = "(define-function f (n p) (let ((x n)) (if (= n 0) (if p (oop-at p 0) 0) (f (- n 1) (address-of x)))))";
        Assert.IsTrue(Calls(Function(Optimise(source), "f"), "f"));
        AssertSameAtBothLevels(source, "f", [0, 0], [1, 0], [5, 0]);
    }

    private const string Affine = """
        (define-function alt (n) (if (<= n 0) 0 (- n (alt (- n 1)))))
        (define-function poly (n x) (if (= n 0) 1 (+ (* x (poly (- n 1) x)) n)))
        (define-function twice (n) (if (<= n 0) 3 (+ (<< (twice (- n 1)) 1) n)))
        (define-function negs (n k) (if (<= n 0) k (- (* -3 (negs (- n 2) (+ k 1))) k)))
        (define-function mixed (n)
          (cond
            ((<= n 0) 7)
            ((& n 1) (+ n (mixed (- n 1))))
            (else (* (mixed (- n 1)) (+ n 5)))))
        (define-function inner (n)
          (if (<= n 0) 1 (let ((r (alt (- n 1)))) (- (* 5 (inner (- n 1))) r))))
        """;

    /// <summary>The functions of <see cref="Affine"/> as plain recursion in C# (64-bit wrap-around).</summary>
    private static long AffineReference(string function, long a, long b) => unchecked(function switch
    {
        "alt" => a <= 0 ? 0 : a - AffineReference("alt", a - 1, 0),
        "poly" => a == 0 ? 1 : b * AffineReference("poly", a - 1, b) + a,
        "twice" => a <= 0 ? 3 : (AffineReference("twice", a - 1, 0) << 1) + a,
        "negs" => a <= 0 ? b : -3 * AffineReference("negs", a - 2, b + 1) - b,
        "mixed" => a <= 0 ? 7 : (a & 1) != 0 ? a + AffineReference("mixed", a - 1, 0) : AffineReference("mixed", a - 1, 0) * (a + 5),
        "inner" => a <= 0 ? 1 : 5 * AffineReference("inner", a - 1, 0) - AffineReference("alt", a - 1, 0),
        _ => throw new ArgumentException(function),
    });

    [TestMethod]
    public void RecursionAffineInItsResultBecomesALoopWithTwoAccumulators()
    {
        var module = Optimise(Affine);
        foreach (var name in new[] { "alt", "poly", "twice", "negs", "mixed", "inner" })
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        foreach (var n in new long[] { -5, 0, 1, 2, 3, 10, 63, 64, 200 })
        {
            cases.Add(("alt", [n], AffineReference("alt", n, 0)));
            cases.Add(("twice", [n], AffineReference("twice", n, 0)));
            cases.Add(("mixed", [n], AffineReference("mixed", n, 0)));
            cases.Add(("inner", [Math.Min(n, 40)], AffineReference("inner", Math.Min(n, 40), 0)));
            foreach (var x in new long[] { 0, 1, -1, 3, long.MaxValue, long.MinValue })
            {
                cases.Add(("poly", [n < 0 ? 0 : n, x], AffineReference("poly", n < 0 ? 0 : n, x)));
                cases.Add(("negs", [n, x], AffineReference("negs", n, x)));
            }
        }
        CompiledLibrary.AssertCallsAtO0AndO1(Affine, cases);
        Arm64Batch.AssertCalls(Affine, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }
}
