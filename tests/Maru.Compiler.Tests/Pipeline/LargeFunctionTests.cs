using System.Text;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Pipeline;

/// <summary>
/// Long functions of the shapes that made passes quadratic (thousands of sequential ifs, of
/// loops, one or of thousands of operands, deep nesting) compile at both levels and compute the
/// right answers. The speed itself is measured by build/bench.sh's scaling table, not here.
/// </summary>
[TestClass]
public sealed class LargeFunctionTests
{
    private static void AssertBothLevels(string source, string function, (long Argument, long Expected)[] cases)
    {
        foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
        {
            using var library = CompiledLibrary.Compile(source, level);
            foreach (var (argument, expected) in cases)
                Assert.AreEqual(expected, library.Call(function, argument), $"{function}({argument}) at {level}");
        }
    }

    [TestMethod]
    public void ThousandsOfSequentialIfs()
    {
        const int count = 3000;
        var source = new StringBuilder("(define-function f (x) (let ((a 0))\n");
        for (var i = 0; i < count; i++) source.Append($" (if (> x {i}) (set a (+ a {i})) (set a (- a 1)))\n");
        source.Append(" a))");
        long Expected(long x)
        {
            long a = 0;
            for (var i = 0; i < count; i++) a = x > i ? a + i : a - 1;
            return a;
        }
        AssertBothLevels(source.ToString(), "f", [(0, Expected(0)), (1500, Expected(1500)), (5000, Expected(5000))]);
    }

    [TestMethod]
    public void ThousandsOfSequentialLoops()
    {
        const int count = 1000;
        var source = new StringBuilder("(define-function f (x) (let ((a 0) (i 0))\n");
        for (var k = 0; k < count; k++) source.Append($" (set i 0) (while (< i x) (set a (+ a {k % 7})) (set i (+ i 1)))\n");
        source.Append(" a))");
        long Expected(long x) => Enumerable.Range(0, count).Sum(k => (long)(k % 7)) * Math.Max(0, x);
        AssertBothLevels(source.ToString(), "f", [(0, 0), (3, Expected(3))]);
    }

    [TestMethod]
    public void AnOrOfThousandsOfOperands()
    {
        const int count = 5000;
        var source = "(define-function f (x) (if (or " + string.Join(" ", Enumerable.Range(0, count).Select(i => $"(= x {3 * i})")) + ") 1 2))";
        AssertBothLevels(source, "f", [(0, 1), (3 * 4999, 1), (7, 2), (3 * 5000, 2)]);
    }

    [TestMethod]
    public void DeeplyNestedIfsAndLoops()
    {
        const int depth = 200;
        var source = new StringBuilder("(define-function f (x) (let ((a 0) (n 0))\n");
        for (var d = 0; d < depth; d++) source.Append($"(if (> x {d}) (let ((j{d} 0)) (while (< j{d} 2) (set a (+ a 1)) (set j{d} (+ j{d} 1)) ");
        for (var d = 0; d < depth; d++) source.Append(")))");
        source.Append(" a))");
        // Loop d runs 2^(d+1) times in total when x > d; each run of the innermost body adds once per level it passes.
        long Expected(long x)
        {
            long a = 0, runs = 1;
            for (var d = 0; d < depth && x > d; d++)
            {
                runs *= 2;
                a += runs;
            }
            return a;
        }
        AssertBothLevels(source.ToString(), "f", [(0, Expected(0)), (3, Expected(3)), (12, Expected(12))]);
    }
}
