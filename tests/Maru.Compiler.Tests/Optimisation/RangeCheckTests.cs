using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Short-circuit tests of one value against two constants (character classes, bounds checks)
/// become one unsigned comparison of the offset value: every function keeps its O0 result at O1,
/// on x86-64 and (one qemu batch) on AArch64, at the bounds, one past them, and the 64-bit edges.
/// </summary>
[TestClass]
public sealed class RangeCheckTests
{
    private const string Tests = """
        (define-function digit (c) (and (>= c 48) (<= c 57)))
        (define-function outside (x) (or (< x 0) (> x 100)))
        (define-function inside (x) (if (and (> x -10) (< x 10)) (* x 3) -1))
        (define-function negative (x) (and (>= x -100) (<= x -50)))
        (define-function reversed (x) (and (< x 100) (>= x -100)))
        (define-function large (x) (and (>= x 1000000000000) (<= x 2000000000000)))
        (define-function nearly-all (x) (and (>= x -9223372036854775807) (<= x 9223372036854775806)))
        (define-function from-min (x) (and (>= x -9223372036854775808) (< x 5)))
        (define-function empty (x) (and (> x 10) (< x 5)))
        (define-function every (x) (or (< x 5) (> x 2)))
        (define-function point (x) (and (= x 7) (>= x 0)))
        (define-function not-interval (x) (or (= x 5) (< x 0)))
        (define-function tail (x) (or (> x 9223372036854775806) (< x -9223372036854775807)))
        (define-function alpha (c) (or (and (>= c 97) (<= c 122)) (and (>= c 65) (<= c 90)) (= c 95)))
        (define-function classify (c) (cond ((digit c) 1) ((alpha c) 2) ((and (>= c 9) (<= c 13)) 3) (else 0)))
        (define-function branch-and (c) (if (and (>= c 97) (<= c 122)) (- c 97) -1))
        (define-function branch-or (x) (if (or (< x -3) (> x 3)) 1 2))
        (define-function loop-and (x) (let ((n 0)) (while (and (>= x 48) (<= x 57) (< n 3)) (set n (+ n 1))) n))
        (define-function count-digits (s n) (let ((k 0)) (for (i 0 n) (when (digit (+ s i)) (set k (+ k 1)))) k))
        """;

    private static readonly string[] Names =
        ["digit", "outside", "inside", "negative", "reversed", "large", "nearly-all", "from-min", "empty", "every", "point", "not-interval", "tail", "alpha", "classify",
         "branch-and", "branch-or", "loop-and"];

    /// <summary>The 64-bit edges, every bound above, one either side of it.</summary>
    private static readonly long[] Edges =
    [
        .. Samples, 47, 48, 49, 56, 57, 58, 99, 100, 101, -11, -10, -9, 10, 11, -101, -100, -99, -51, -50, -49,
        999_999_999_999, 1_000_000_000_000, 2_000_000_000_000, 2_000_000_000_001, 4, 5, 6, 12, 13, 14, 64, 65, 90, 91, 94, 95, 96, 97, 122, 123,
    ];

    [TestMethod]
    public void RangeChecksKeepTheirResults()
    {
        foreach (var name in Names)
            AssertSameAtBothLevels(Tests, name, [.. Edges.Select(n => new[] { n })]);
        AssertSameAtBothLevels(Tests, "count-digits", [40, 30], [-5, 100], [long.MaxValue - 20, 40], [long.MinValue, 3]);
        using var o1 = CompiledLibrary.Compile(Tests);
        Assert.AreEqual(1, o1.Call("digit", 48));
        Assert.AreEqual(0, o1.Call("digit", 47 - (1L << 32)), "no narrowing: a value 2^32 below a digit is not one");
        Assert.AreEqual(1, o1.Call("outside", long.MinValue));
        Assert.AreEqual(0, o1.Call("nearly-all", long.MinValue));
        Assert.AreEqual(1, o1.Call("nearly-all", long.MaxValue - 1));
        Assert.AreEqual(1, o1.Call("tail", long.MaxValue));
        Assert.AreEqual(10, o1.Call("count-digits", 40, 30));
    }

    [TestMethod]
    public void ADigitTestIsOneComparisonWithNoBranch()
    {
        var digit = Function(Optimise(Tests), "digit");
        Assert.HasCount(1, digit.Blocks, IrPrinter.Print(digit));
        Assert.HasCount(1, Instructions(digit).Where(i => i.Op.IsComparison()).ToList(), IrPrinter.Print(digit));
    }

    [TestMethod]
    public void AnIfOnARangeBranchesOnOneComparison()
    {
        // The and/or of an if's condition is branches between its tests (Lowering): one unsigned compare is left.
        foreach (var name in new[] { "branch-and", "branch-or" })
        {
            var function = Function(Optimise(Tests), name);
            Assert.HasCount(1, Instructions(function).Where(i => i.Op.IsComparison()).ToList(), IrPrinter.Print(function));
        }
        using var o1 = CompiledLibrary.Compile(Tests);
        foreach (var c in Edges)
        {
            Assert.AreEqual(c is >= 97 and <= 122 ? c - 97 : -1, o1.Call("branch-and", c), $"branch-and {c}");
            Assert.AreEqual(c is < -3 or > 3 ? 1 : 2, o1.Call("branch-or", c), $"branch-or {c}");
            Assert.AreEqual(c is >= 48 and <= 57 ? 3 : 0, o1.Call("loop-and", c), $"loop-and {c}");
        }
    }

    [TestMethod]
    public void EveryFunctionAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Tests, Names.SelectMany(name => Edges.Select(n => (name, new[] { n }))));
}
