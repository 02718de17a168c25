using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Products of induction variables and invariants become induction variables of their own, with every result unchanged.</summary>
[TestClass]
public sealed class InductionVariableTests
{
    /// <summary>A column walk of a row-major n x n matrix whose element (r, c) is r*1000 + c: the index k*n + j.</summary>
    private const string Walk = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function walk (n)
          (let ((p (malloc (* 8 (* n n)))) (s 0))
            (for (r 0 n) (for (c 0 n) (set-oop-at p (+ (* r n) c) (+ (* r 1000) c))))
            (for (j 0 n)
              (for (k 0 n)
                (set s (+ (* s 3) (oop-at p (+ (* k n) j))))))
            (free p)
            s))
        """;

    private static long WalkExpected(long n)
    {
        long s = 0;
        for (long j = 0; j < n; j++)
            for (long k = 0; k < n; k++)
                s = unchecked(s * 3 + (k * 1000 + j));
        return s;
    }

    [TestMethod]
    public void ARowMajorIndexNeedsNoMultiplyInTheLoop()
    {
        var function = Function(Optimise(Walk), "walk");
        foreach (var block in function.Blocks.Where(InLoop))
            Assert.IsFalse(block.Instructions.Any(i => i.Op == Opcode.Multiply && !i.Arguments.Any(a => a.IsConstant)),
                $"{block.Name} still multiplies by a register in a loop\n{IrPrinter.Print(function)}");
        using var o1 = CompiledLibrary.Compile(Walk, OptimisationLevel.O1);
        foreach (var n in new long[] { 0, 1, 2, 7, 30 })
            Assert.AreEqual(WalkExpected(n), o1.Call("walk", n), $"(walk {n})");
    }

    /// <summary>Steps that count down, step by a register, wrap around, and a product read after the loop.</summary>
    private const string Shapes = """
        (define-function down (n k)
          (let ((i n) (s 0))
            (while (> i 0)
              (set s (+ s (* i k)))
              (set i (- i 3)))
            s))
        (define-function stride (n step k)
          (let ((i 0) (s 0) (last 0))
            (while (< i n)
              (set last (* k i))
              (set s (^ s last))
              (set i (+ step i)))
            (+ s (* last 7))))
        (define-function early (n k)
          (let ((i 0) (found -1))
            (while (and (< i n) (< found 0))
              (if (> (* i k) 1000) (set found (* i k)))
              (set i (+ i 1)))
            found))
        """;

    private static long Down(long n, long k)
    {
        long s = 0;
        for (var i = n; i > 0; i -= 3) s = unchecked(s + i * k);
        return s;
    }

    private static long Stride(long n, long step, long k)
    {
        long s = 0, last = 0;
        for (long i = 0; i < n; i = unchecked(i + step))
        {
            last = unchecked(k * i);
            s ^= last;
        }
        return unchecked(s + last * 7);
    }

    private static long Early(long n, long k)
    {
        long found = -1;
        for (long i = 0; i < n && found < 0; i++)
            if (unchecked(i * k) > 1000) found = unchecked(i * k);
        return found;
    }

    [TestMethod]
    public void CountingDownSteppingByARegisterWrappingAndLeavingEarly()
    {
        using var o1 = CompiledLibrary.Compile(Shapes, OptimisationLevel.O1);
        foreach (var n in new long[] { 0, 1, 5, 100 })
            foreach (var k in new long[] { 0, 1, -3, 77, long.MaxValue, long.MinValue })
            {
                Assert.AreEqual(Down(n, k), o1.Call("down", n, k), $"(down {n} {k})");
                Assert.AreEqual(Early(n, k), o1.Call("early", n, k), $"(early {n} {k})");
                foreach (var step in new long[] { 1, 2, 7, long.MaxValue / 3 })
                    Assert.AreEqual(Stride(n, step, k), o1.Call("stride", n, step, k), $"(stride {n} {step} {k})");
            }
    }

    /// <summary>
    /// A tail-recursive function made a loop decrements n at the top of the block that also
    /// multiplies n by an invariant; the reduction's step goes in before the product there.
    /// </summary>
    private const string TailLoop = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define mem 0)
        (define-function f (n k acc)
          (if (> n 0)
              (f (- n 1) k (+ (* acc 3) (oop-at (+ mem (<< (& acc 3) 3)) (& (* k n) 7))))
            acc))
        (define-function run (n k)
          (set mem (malloc 128))
          (for (i 0 16) (set-oop-at mem i (* (+ i 1) 11)))
          (let ((r (f n k 1))) (free mem) r))
        """;

    private static long TailLoopExpected(long n, long k)
    {
        long acc = 1;
        unchecked
        {
            for (; n > 0; n--) acc = acc * 3 + ((acc & 3) + (k * n & 7) + 1) * 11;
        }
        return acc;
    }

    [TestMethod]
    public void AProductAfterTheDecrementInOneBlockIsReducedWithoutLosingAnInstruction()
    {
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        foreach (var n in new long[] { 0, 1, 3, 50 })
            foreach (var k in new long[] { 0, 1, -5, 13, long.MaxValue })
                cases.Add(("run", [n, k], TailLoopExpected(n, k)));
        CompiledLibrary.AssertCallsAtO0AndO1(TailLoop, cases);
        Arm64Batch.AssertCalls(TailLoop, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }
}
