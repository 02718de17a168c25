using System.Numerics;
using Iced.Intel;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// FlagScheduling: the instruction a branch tests moves down to the branch past independent work,
/// so its flags reach the branch. Loops whose counter's add sat between the tested and/sub/xor and
/// the branch, a comparison computed before other work, and blocks that must stay as they are (the
/// tested value stored, or an operand overwritten, before the branch); results compared with C#
/// models and between O0 and O1 on x86-64 at edge values, and on AArch64 under qemu.
/// </summary>
[TestClass]
public sealed class FlagSchedulingTests
{
    private const string Source = """
        (define-function popcount (x) (let ((c 0)) (while x (set x (& x (- x 1))) (set c (+ c 1))) c))
        (define-function countdown (n k)
          (let ((s 0) (i 0))
            (if (<= k 0) (set k 1))
            (if (<= n 0) (set n 1))
            (while (and (< i 1000) n)
              (set n (- n k))
              (set s (+ s n))
              (set i (+ i 1)))
            (+ (* s 1000) i)))
        (define-function differ (a b)
          (let ((c 0))
            (while (^ a b)
              (set a (>> a 1))
              (set c (+ c 1)))
            c))
        (define-function compare-early (a b)
          (let ((c 0) (i 0))
            (while (< i 64)
              (let ((t (< (* i a) b)))
                (set c (+ c 3))
                (if t (set c (- c 1))))
              (set i (+ i 1)))
            c))
        (define-function stored (m x)
          (let ((c 0))
            (while x
              (set x (& x (- x 1)))
              (set-oop-at m 0 x)
              (set c (+ c 1)))
            (+ (* c 100) (oop-at m 0))))
        (define-function overwritten (x y)
          (let ((c 0) (i 0))
            (while (< i 200)
              (let ((t (& x y)))
                (set y (+ y 1))
                (set c (+ c (if t 1 0))))
              (set i (+ i 1)))
            c))
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function run-stored (x)
          (let ((m (malloc 8)) (r 0))
            (set-oop-at m 0 -5)
            (set r (stored m x))
            (free m)
            r))
        """;

    private static long Popcount(long x) => BitOperations.PopCount((ulong)x);

    private static long Countdown(long n, long k)
    {
        long s = 0, i = 0;
        if (k <= 0) k = 1;
        if (n <= 0) n = 1;
        while (i < 1000 && n != 0) { n = unchecked(n - k); s = unchecked(s + n); i++; }
        return unchecked(s * 1000 + i);
    }

    private static long Differ(long a, long b)
    {
        long c = 0;
        while ((a ^ b) != 0) { a >>= 1; c++; if (c > 200) break; }
        return c;
    }

    private static long CompareEarly(long a, long b)
    {
        long c = 0;
        for (long i = 0; i < 64; i++) { var t = unchecked(i * a) < b; c += 3; if (t) c--; }
        return c;
    }

    private static long RunStored(long x)
    {
        long c = 0, m = -5;
        while (x != 0) { x &= x - 1; m = x; c++; }
        return c * 100 + m;
    }

    private static long Overwritten(long x, long y)
    {
        long c = 0;
        for (var i = 0; i < 200; i++) { var t = x & y; y = unchecked(y + 1); c += t != 0 ? 1 : 0; }
        return c;
    }

    private static readonly long[] Edges = [0, 1, -1, 2, 3, 255, 256, 1L << 40, long.MaxValue, long.MinValue, long.MinValue + 1, 0x5555555555555555];

    // differ only on pairs whose loop ends: b = 0 or -1 with any a (the shift reaches 0 or -1), a = b.
    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        foreach (var x in Edges)
        {
            yield return ("popcount", [x], Popcount(x));
            yield return ("run-stored", [x], RunStored(x));
            foreach (var k in new long[] { 1, 3, -2, long.MaxValue })
                yield return ("countdown", [x, k], Countdown(x, k));
            foreach (var b in new long[] { 0, -1 })
                if (!(x < 0 && b == 0) && !(x >= 0 && b == -1)) yield return ("differ", [x, b], Differ(x, b));
            yield return ("differ", [x, x], 0);
            foreach (var b in new long[] { 0, -1, 5, long.MaxValue, long.MinValue })
                yield return ("compare-early", [x, b], CompareEarly(x, b));
            foreach (var y in new long[] { 0, -1, 7, long.MaxValue - 100 })
                yield return ("overwritten", [x, y], Overwritten(x, y));
        }
    }

    [TestMethod]
    public void ResultsMatchModelsAtO0AndO1OnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases());

    [TestMethod]
    public void ResultsAgreeOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Source, Cases().Select(c => (c.Function, c.Arguments)));

    [TestMethod]
    public void TheTestedAndIsLastBeforeItsBranch()
    {
        var function = Function(Optimise(Source), "popcount");
        var loop = function.Blocks.Single(b => b.Terminator is Ir.Branch && InLoop(b) && b.Instructions.Any(i => i.Op == Ir.Opcode.And));
        var and = loop.Instructions.FindIndex(i => i.Op == Ir.Opcode.And);
        Assert.IsTrue(loop.Instructions.Skip(and + 1).All(i => i.Op == Ir.Opcode.Copy), $"only copies follow the and:\n{string.Join("\n", loop.Instructions)}");
    }

    [TestMethod]
    public void ThePopcountLoopReadsTheAndsZeroFlagOnX64()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var code = X64Disassembly.Decode(result, "popcount");
        var back = code.FindLastIndex(i => i.FlowControl == FlowControl.ConditionalBranch);
        Assert.AreEqual(Mnemonic.And, code[back - 1].Mnemonic, $"the loop's branch reads the and's flags:\n{string.Join("\n", code)}");
    }
}
