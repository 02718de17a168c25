using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// DivisorVersioning: a loop dividing by a register it does not define runs as a copy without the
/// total division's checks when one test before the loop finds the divisor neither 0 nor -1, and as
/// the original otherwise. The IR shape (a checked and an unchecked version; one test for nested
/// loops; none for a divisor the loop changes; the test folded away where an inlined callee's
/// divisor is known) and the results for divisors 0, -1, 1, MIN and MAX, dividends MIN and MAX
/// (MIN / -1 = MIN, x / 0 = 0, x % 0 = 0) on x86-64 at O0 and O1 and on arm64.
/// </summary>
[TestClass]
public sealed class DivisorVersioningTests
{
    private const string Source = """
        (define-function mix (x d)
          (let ((i 0) (s 0))
            (while (< i 20)
              (set s (+ s (+ (/ (+ x (* i 7919)) d) (* 3 (% (- x i) d)))))
              (set i (+ i 1)))
            s))
        (define-function nested (x d)
          (let ((i 0) (s 0))
            (while (< i 5)
              (let ((j 0))
                (while (< j 4)
                  (set s (+ s (* (+ i 1) (% (+ x (* i j)) d))))
                  (set j (+ j 1))))
              (set i (+ i 1)))
            s))
        (define-function positive (x d)
          (let ((s 0))
            (if (< x 0) (set x (- 0 (+ x 1))))
            (while (> x 0)
              (set s (+ s (% x d)))
              (set x (>> x 3)))
            s))
        (define-function varying (x d)
          (let ((i 0) (s 0))
            (while (< i 10)
              (set s (+ s (/ x d)))
              (set d (- d 1))
              (set i (+ i 1)))
            s))
        (define-function caller (x) (+ (mix x 7) (* 1000 (mix x 16))))
        (define-function twice (x d e) (+ (mix x d) (mix (+ x 1) e)))
        """;

    private static long Div(long x, long y) => Opcode.Divide.Evaluate(x, y);
    private static long Rem(long x, long y) => Opcode.Remainder.Evaluate(x, y);

    private static long Mix(long x, long d)
    {
        unchecked
        {
            long s = 0;
            for (long i = 0; i < 20; i++) s += Div(x + i * 7919, d) + 3 * Rem(x - i, d);
            return s;
        }
    }

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            long x = a[0], s = 0;
            switch (function)
            {
                case "mix": return Mix(x, a[1]);
                case "nested":
                    for (long i = 0; i < 5; i++)
                        for (long j = 0; j < 4; j++) s += (i + 1) * Rem(x + i * j, a[1]);
                    return s;
                case "positive":
                    if (x < 0) x = -(x + 1);
                    while (x > 0) { s += Rem(x, a[1]); x >>= 3; }
                    return s;
                case "varying":
                    var d = a[1];
                    for (var i = 0; i < 10; i++) { s += Div(x, d); d--; }
                    return s;
                case "caller": return Mix(x, 7) + 1000 * Mix(x, 16);
                case "twice": return Mix(x, a[1]) + Mix(x + 1, a[2]);
                default: throw new ArgumentException(function);
            }
        }
    }

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        long[] dividends = [0, 1, -1, 12345, -98765, long.MinValue, long.MaxValue, long.MinValue + 5];
        long[] divisors = [0, -1, 1, 2, -3, 10, long.MinValue, long.MaxValue];
        foreach (var f in new[] { "mix", "nested", "positive", "varying" })
            foreach (var x in dividends)
                foreach (var d in divisors)
                    yield return (f, [x, d], Reference(f, [x, d]));
        foreach (var x in dividends)
        {
            yield return ("caller", [x], Reference("caller", [x]));
            foreach (var (d, e) in new (long, long)[] { (0, 5), (5, 0), (-1, -1), (3, -7), (long.MinValue, 1) })
                yield return ("twice", [x, d, e], Reference("twice", [x, d, e]));
        }
    }

    private static List<Instruction> DivisionsBy(IrFunction function) =>
        Instructions(function).Where(i => i.Op is Opcode.Divide or Opcode.Remainder && !i.Arguments[1].IsConstant).ToList();

    private const DivisionFacts Both = DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow;

    [TestMethod]
    public void ALoopDividingByAnInvariantRegisterHasAnUncheckedCopy()
    {
        var module = Optimise(Source, unroll: false);
        var mix = Function(module, "mix");
        var text = IrPrinter.Print(mix);
        var divisions = DivisionsBy(mix);
        Assert.IsTrue(divisions.Any(i => i.DivisionFacts == Both), text);
        Assert.IsTrue(divisions.Any(i => i.DivisionFacts != Both), text);
        Assert.AreEqual(1, Instructions(mix).Count(i => i.Op == Opcode.Above), text);

        // Nested loops: one test before the outer loop; the unchecked copy holds both loops.
        var nested = Function(module, "nested");
        text = IrPrinter.Print(nested);
        Assert.AreEqual(1, Instructions(nested).Count(i => i.Op == Opcode.Above), text);
        Assert.AreEqual(1, DivisionsBy(nested).Count(i => i.DivisionFacts == Both), text);
        Assert.AreEqual(1, DivisionsBy(nested).Count(i => i.DivisionFacts != Both), text);

        // A non-negative dividend never overflows: only zero is tested before the loop.
        var positive = Function(module, "positive");
        text = IrPrinter.Print(positive);
        Assert.AreEqual(0, Instructions(positive).Count(i => i.Op == Opcode.Above), text);
        Assert.IsTrue(DivisionsBy(positive).Any(i => i.DivisionFacts == Both), text);

        // A divisor the loop changes: no copy.
        var varying = Function(module, "varying");
        Assert.IsTrue(DivisionsBy(varying).All(i => i.DivisionFacts != Both), IrPrinter.Print(varying));
    }

    [TestMethod]
    public void AnInlinedVersionedLoopKeepsOneTestAndNoneForAKnownDivisor()
    {
        var module = Optimise(Source, unroll: false);
        // mix inlined twice with unknown divisors: each inlined body keeps its two versions (its
        // test may be copied into the blocks before it), and its checked copy is not versioned again.
        var twice = Function(module, "twice");
        var text = IrPrinter.Print(twice);
        Assert.AreEqual(4, DivisionsBy(twice).Count(i => i.DivisionFacts == Both), text);
        Assert.AreEqual(4, DivisionsBy(twice).Count(i => i.DivisionFacts != Both), text);
        // Known divisors: no division by a register, no test left.
        var caller = Function(module, "caller");
        text = IrPrinter.Print(caller);
        Assert.AreEqual(0, DivisionsBy(caller).Count, text);
        Assert.AreEqual(0, Instructions(caller).Count(i => i.Op == Opcode.Above), text);
    }

    [TestMethod]
    public void ResultsOnX64AtBothLevels() => CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases());

    [TestMethod]
    public void ResultsOnArm64AtBothLevels() =>
        Arm64Batch.AssertCalls(Source, Cases().Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
}
