using System.Text;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>
/// Functions of tens of thousands of statements (each pass's tables of their registers and blocks
/// are large arrays the compilation keeps and hands out again), run natively and compared with a
/// model: two such functions in one module, so the second reuses the first's work arrays, and a
/// small function after them.
/// </summary>
public abstract class LargeFunctionTests : ExecutionTests
{
    /// <summary>A deterministic mix of ifs with else arms, loops, xors of products and masked tests.</summary>
    private static (string Source, Func<long, long> Model) Generate(string name, int statements, uint seed)
    {
        var text = new StringBuilder($"(define-function {name} (x) (let ((a 0) (b 0) (i 0))\n");
        var shapes = new List<(int Shape, long K)>();
        var state = seed;
        for (var s = 0; s < statements; s++)
        {
            state = state * 1664525 + 1013904223;
            var shape = (int)(state >> 28) % 5;
            long k = (state >> 8) % 1000 + 1;
            shapes.Add((shape, k));
            text.Append(shape switch
            {
                0 => $" (if (< (& x 127) {k % 97}) (set a (+ a {k})) (set b (- b {k})))\n",
                1 => $" (set b (^ b (* a {k % 13 + 1})))\n",
                2 => " (set i 0) (while (< i (& x 3)) (set a (+ a i)) (set i (+ i 1)))\n",
                3 => $" (if (= (& x 255) {k % 256}) (set a (+ a 7)))\n",
                _ => " (set a (- a (& b 4095)))\n",
            });
        }
        text.Append(" (+ a b)))\n");
        return (text.ToString(), x =>
        {
            long a = 0, b = 0;
            foreach (var (shape, k) in shapes)
                switch (shape)
                {
                    case 0: if ((x & 127) < k % 97) a += k; else b -= k; break;
                    case 1: b ^= unchecked(a * (k % 13 + 1)); break;
                    case 2: for (long i = 0; i < (x & 3); i++) a += i; break;
                    case 3: if ((x & 255) == k % 256) a += 7; break;
                    default: a -= b & 4095; break;
                }
            return unchecked(a + b);
        });
    }

    [TestMethod]
    public void TwoHugeFunctionsAndASmallOneGiveTheModelsValues()
    {
        var (first, firstModel) = Generate("first", 16_000, 7);
        var (second, secondModel) = Generate("second", 12_000, 99);
        using var library = Compile(first + second + "(define-function small (x) (let ((s 0) (i 0)) (while (< i x) (set s (+ s (* i i))) (set i (+ i 1))) s))\n");
        foreach (var x in new long[] { 0, 1, 2, 3, 5, 96, 127, 200, 255, -1, -128, 1_000_003, long.MaxValue, long.MinValue })
        {
            Assert.AreEqual(firstModel(x), library.Call("first", x), $"first({x})");
            Assert.AreEqual(secondModel(x), library.Call("second", x), $"second({x})");
        }
        Assert.AreEqual(0 * 0 + 1 * 1 + 2 * 2 + 3 * 3, library.Call("small", 4));
        Assert.AreEqual(0, library.Call("small", -5));
    }
}

[TestClass]
public sealed class LargeFunctionTestsAtO0 : LargeFunctionTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class LargeFunctionTestsAtO1 : LargeFunctionTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
