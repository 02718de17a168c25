using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Small counted loops unrolled with their reductions split into lanes: every trip count (0, 1,
/// 2, 3, ... past a multiple of the factor and short of it), counting up and down, every
/// comparison and operand order, bounds next to the ends of the word (where the unrolled loop's
/// limit would wrap), reductions of every associative operation with wrap-around, body branches,
/// memory, and loops the pass must leave alone (a bound changed inside, an early exit) keep the
/// result the unoptimised code computes, on x86-64 and (one qemu batch) on AArch64.
/// </summary>
[TestClass]
public sealed class LoopUnrollingTests
{
    private const string Shapes = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function sum (n k)
          (let ((s 0))
            (for (i 0 n) (set s (+ s (+ (* i k) 1))))
            s))
        (define-function reductions (n k)
          (let ((a 0) (m 1) (o 0) (e 0) (d -1) (b 1000))
            (for (i 0 n)
              (let ((x (+ (* i k) 3)))
                (set a (+ x a)) (set m (* m x)) (set o (| o x)) (set e (^ x e)) (set d (& d (+ x k))) (set b (- b x))))
            (+ a (+ (* m 3) (+ (* o 5) (+ (* e 7) (+ (* d 11) (* b 13))))))))
        (define-function array (n k)
          (let ((p (malloc (* 8 (+ n 1)))) (s 0) (q 0))
            (for (i 0 n) (set-oop-at p i (* (- i k) (+ i 1))))
            (for (i 0 n) (set s (+ s (oop-at p i))) (set q (^ q (* (oop-at p i) 31))))
            (free p)
            (+ s q)))
        (define-function bytes (n k)
          (let ((p (malloc (+ n 1))) (s 0))
            (for (i 0 n) (set-string-at p i (+ i k)))
            (let ((i 0)) (while (< i n) (set s (+ (* s 3) (string-at p i))) (set i (+ i 1))))
            (free p)
            s))
        (define-function up-le (lo hi)
          (let ((i lo) (s 0))
            (while (<= i hi) (set s (+ s (* i i))) (set i (+ i 3)))
            (+ s i)))
        (define-function down (n lim)
          (let ((i n) (s 7))
            (while (> i lim) (set s (* s (| i 1))) (set i (- i 2)))
            (+ s i)))
        (define-function down-ge (n lim)
          (let ((i n) (s 0))
            (while (>= i lim) (set s (- s i)) (set i (+ i -1)))
            (+ s (* i 1000))))
        (define-function mirrored (n k)
          (let ((i 0) (s 0))
            (while (> n i) (set s (^ s (* i k))) (set i (+ 1 i)))
            (+ s i)))
        (define-function negated (n k)
          (let ((i 0) (s 0))
            (while (not (>= i n)) (set s (+ s k)) (set i (+ i 1)))
            s))
        (define-function near-max (n step)
          (let ((i (- n 9)) (s 0) (c 0))
            (while (< i n) (set s (+ s i)) (set c (+ c 1)) (set i (+ i step)))
            (+ s c)))
        (define-function near-min (n k)
          (let ((i -9223372036854775808) (c 0) (s 0))
            (while (< i n) (set c (+ c 1)) (set s (+ s (* i k))) (set i (+ i 1)))
            (+ s c)))
        (define-function near-min-down (n k)
          (let ((i n) (c 0))
            (while (> i -9223372036854775807) (set c (+ c k)) (set i (- i 1)))
            c))
        (define-function below-min-constant (n)
          (let ((i n) (c 0))
            (while (< i -9223372036854775806) (set c (+ c 1)) (set i (+ i 1)))
            c))
        (define-function constant-bound (k)
          (let ((s 0))
            (for (i 0 13) (set s (+ (* s k) i)))
            s))
        (define-function branchy (n k)
          (let ((s 0) (odd 0))
            (for (i 0 n)
              (if (& (+ i k) 1) (set s (+ s i)) (set s (- s (* i 3))))
              (when (> (* i k) 10) (set odd (+ odd 1))))
            (+ s (* odd 1000))))
        (define-function fib (n)
          (let ((a 0) (b 1))
            (for (i 0 n) (let ((t (+ a b))) (set a b) (set b t)))
            a))
        (define-function index-after (n k)
          (let ((i 0) (last 0))
            (while (< i n) (set last (* i k)) (set i (+ i 2)))
            (+ (* i 100) last)))
        (define-function triangle (n)
          (let ((s 0))
            (for (i 0 n) (for (j 0 i) (set s (+ s (* i j)))))
            s))
        (define-function shrinking (n k)
          (let ((i 0) (s 0))
            (while (< i n) (set s (+ s i)) (set n (- n k)) (set i (+ i 1)))
            s))
        (define-function early (n k)
          (let ((i 0) (s 0))
            (while (and (< i n) (< s k)) (set s (+ s i)) (set i (+ i 1)))
            (+ s (* i 1000))))
        (define mem 0)
        (define-function two-loops (a b c)
          (set mem (malloc 128))
          (let ((k 0)) (while (< k 16) (set-oop-at mem k (+ a (* k (^ b c)))) (set k (+ k 1))))
          (set-oop-at mem (& c 15) (+ c c))
          (let ((r 24))
            (let ((k 0)) (while (< k 16) (set r (+ (* r 31) (oop-at mem k))) (set k (+ k 1))))
            (free mem)
            r))
        (define-function reused (n k)
          (let ((s 1))
            (for (i 0 n) (set s (+ s (* s k))))
            s))
        """;

    private static readonly long[] Counts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 100, -1, -5];
    private static readonly long[] Factors = [0, 1, -3, 7, long.MaxValue, long.MinValue];

    private static readonly (string Name, long[][] Arguments)[] Calls =
    [
        .. new[] { "sum", "reductions", "mirrored", "negated", "branchy", "index-after", "early", "reused" }
            .Select(name => (name, Counts.SelectMany(n => Factors.Select(k => new[] { n, k })).ToArray())),
        ("shrinking", [.. Counts.SelectMany(n => new[] { new[] { n, 0L }, [n, 1], [n, 2], [n, long.MaxValue], [n, long.MinValue] })]),
        ("below-min-constant", [[long.MinValue], [long.MinValue + 1], [long.MinValue + 2], [0]]),
        ("array", [.. Counts.Where(n => n >= 0).SelectMany(n => new[] { new[] { n, 0L }, [n, 5], [n, -1000] })]),
        ("bytes", [.. Counts.Where(n => n >= 0).SelectMany(n => new[] { new[] { n, 0L }, [n, 250] })]),
        ("up-le", [.. new long[] { -4, 0, 1, 2, 3, 5, 8, 9, 30 }.SelectMany(hi => new[] { new[] { 0L, hi }, [-7, hi], [2, hi] })]),
        ("up-le", [[long.MaxValue - 12, long.MaxValue - 3], [long.MaxValue - 6, long.MaxValue - 4]]),
        ("down", [.. new long[] { -4, 0, 1, 2, 3, 5, 8, 9, 30 }.SelectMany(n => new[] { new[] { n, 0L }, [n, -3], [n, 4] })]),
        ("down", [[long.MinValue + 9, long.MinValue + 1], [long.MinValue + 4, long.MinValue]]),
        ("down-ge", [.. new long[] { -4, 0, 1, 2, 3, 5, 8, 9, 30 }.SelectMany(n => new[] { new[] { n, 0L }, [n, -3], [n, 4] })]),
        ("down-ge", [[long.MinValue + 6, long.MinValue + 1], [long.MinValue + 2, long.MinValue + 1]]),
        ("near-max", [[long.MaxValue, 1], [long.MaxValue - 1, 2], [long.MaxValue - 1, 1], [long.MaxValue - 3, 4], [100, 1], [100, 5]]),
        ("near-min", [.. new long[] { long.MinValue, long.MinValue + 1, long.MinValue + 2, long.MinValue + 3, long.MinValue + 4, long.MinValue + 7 }.Select(n => new[] { n, 3L })]),
        ("near-min-down", [.. new long[] { long.MinValue, long.MinValue + 1, long.MinValue + 2, long.MinValue + 5, long.MinValue + 8 }.Select(n => new[] { n, 3L })]),
        ("constant-bound", [[0], [1], [2], [-1], [long.MaxValue]]),
        ("two-loops", [[0, 0, 0], [1, 2, 3], [56, -8974373503234798896, -60]]),
        ("fib", [[0], [1], [2], [3], [4], [5], [10], [90], [-2]]),
        ("triangle", [[0], [1], [2], [3], [4], [5], [9], [40]]),
    ];

    private static (CompiledLibrary O0, CompiledLibrary O1) Both() =>
        (CompiledLibrary.Compile(Shapes, OptimisationLevel.O0), CompiledLibrary.Compile(Shapes, OptimisationLevel.O1));

    [TestMethod]
    public void EveryShapeKeepsItsResult()
    {
        var (o0, o1) = Both();
        using (o0)
        using (o1)
            foreach (var (name, argumentSets) in Calls)
                foreach (var arguments in argumentSets)
                    Assert.AreEqual(o0.Call(name, arguments), o1.Call(name, arguments), $"({name} {string.Join(" ", arguments)}) differs between O0 and O1");
    }

    [TestMethod]
    public void ResultsMatchAnIndependentComputation()
    {
        using var o1 = CompiledLibrary.Compile(Shapes, OptimisationLevel.O1);
        foreach (var n in Counts)
            foreach (var k in Factors)
            {
                long s = 0, a = 0, m = 1, o = 0, e = 0, d = -1, b = 1000;
                for (long i = 0; i < n; i++)
                {
                    s = unchecked(s + i * k + 1);
                    var x = unchecked(i * k + 3);
                    unchecked { a += x; m *= x; o |= x; e ^= x; d &= x + k; b -= x; }
                }
                Assert.AreEqual(s, o1.Call("sum", n, k), $"(sum {n} {k})");
                Assert.AreEqual(unchecked(a + m * 3 + o * 5 + e * 7 + d * 11 + b * 13), o1.Call("reductions", n, k), $"(reductions {n} {k})");
            }
        // Near the ends of the word: the unrolled loop's limit would wrap, the guard sends it all to the original loop.
        Assert.AreEqual(unchecked(long.MinValue * 3 + (long.MinValue + 1) * 3 + 2), o1.Call("near-min", long.MinValue + 2, 3));
        Assert.AreEqual(unchecked((long.MaxValue - 10) + (long.MaxValue - 8) + (long.MaxValue - 6) + (long.MaxValue - 4) + (long.MaxValue - 2) + 5), o1.Call("near-max", long.MaxValue - 1, 2));
        Assert.AreEqual(2, o1.Call("below-min-constant", long.MinValue));
        Assert.AreEqual(7540113804746346429L, o1.Call("fib", 92));
    }

    [TestMethod]
    public void ASmallCountedLoopIsUnrolledWithItsSumSplit()
    {
        // The loops of sum: the unrolled one and the original finishing the rest; the unrolled one
        // adds into two partial sums, so it has two adds of accumulators per back edge.
        var sum = Function(Optimise(Shapes), "sum");
        var loopBlocks = sum.Blocks.Where(InLoop).ToList();
        var adds = loopBlocks.SelectMany(block => block.Instructions).Count(i => i.Op == Opcode.Add);
        Assert.IsTrue(adds >= 6, $"expected the additions of several copies in loops\n{IrPrinter.Print(sum)}");
        var shrinking = Function(Optimise(Shapes), "shrinking");
        Assert.AreEqual(1, CountLoops(shrinking), $"a loop whose bound changes inside stays one loop\n{IrPrinter.Print(shrinking)}");
        Assert.AreEqual(2, CountLoops(sum), $"sum: the unrolled loop and the remainder\n{IrPrinter.Print(sum)}");
    }

    [TestMethod]
    public void AnUnrolledLeafLoopStaysInRegisters()
    {
        var result = CompiledLibrary.CompileOnly(Shapes);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var instructions = X64Disassembly.Decode(result, "sum");
        // Callee-saved registers may be pushed (the lanes are more values than the caller-saved
        // registers hold), but nothing is spilled: no load or store addresses the frame.
        Assert.IsFalse(instructions.Any(i => Enumerable.Range(0, i.OpCount).Any(o => i.GetOpKind(o) == Iced.Intel.OpKind.Memory && i.MemoryBase is Iced.Intel.Register.RSP or Iced.Intel.Register.RBP)),
            string.Join("\n", instructions));
    }

    private static int CountLoops(IrFunction function)
    {
        var count = NaturalLoop.FindAll(FlowGraph.Of(function)).Count;
        FlowGraph.Forget();
        return count;
    }

    [TestMethod]
    public void EveryShapeAgreesOnArm64UnderQemu() =>
        // Every fifth argument set at O0 (nothing is unrolled there; qemu time is the cost).
        Arm64Batch.AssertSameAsX64(Shapes, level => Calls.SelectMany(c => c.Arguments
            .Where((_, i) => level == OptimisationLevel.O1 || i % 5 == 0).Select(a => (c.Name, a))));
}
