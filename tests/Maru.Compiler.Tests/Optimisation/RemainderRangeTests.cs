using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Value ranges of divisions by constants after strength reduction (<c>ValueRanges</c>): the
/// multiply-high sequence is the floor quotient, which grows with the dividend, and
/// <c>x - q*d</c> of that quotient is x % d (|r| &lt; d, the dividend's sign), where interval
/// arithmetic alone loses both. A checksum or hash reduced modulo a constant in a loop so keeps
/// a non-negative range, and its division loses the sign correction. Checked on the IR and on
/// compiled code at O0 and O1, x86-64 and arm64, against a C# model: negative dividends (the
/// correction must stay), the 64-bit edges, divisors with and without the multiplier's add and
/// shift, a remainder's range making a later division by a register check-free, wrap-around.
/// </summary>
[TestClass]
public sealed class RemainderRangeTests
{
    private const string Source = """
        (define-function fletcher (n seed)
          (let ((s1 0) (s2 0))
            (for (i 0 n)
              (set s1 (% (+ s1 (& (+ seed (* i 77)) 255)) 255))
              (set s2 (% (+ s2 s1) 255)))
            (| (<< s2 8) s1)))
        (define-function rolling (n x)
          (let ((h 7))
            (for (i 0 n)
              (set h (% (+ (* h 31) (& (^ x i) 1023)) 1000003)))
            h))
        (define-function drifting (n x)
          (let ((s x))
            (for (i 0 n)
              (set s (% (- s (& (+ x i) 7)) 13)))
            s))
        (define-function by-remainder (x y) (/ y (+ (% x 7) 7)))
        (define-function by-quotient (x y) (% y (+ (/ (& x 65535) 10) 1)))
        (define-function thirds (x) (+ (* 1000 (/ x 3)) (% x 3)))
        (define-function sevens (x) (let ((r (% x 7))) (if (< r 0) (- 0 r) (+ r 100))))
        (define-function wrapping (n x)
          (let ((h x))
            (for (i 0 n)
              (set h (% (+ (* h 6364136223846793005) i) 65521)))
            h))
        """;

    private static long Rem(long x, long d) => d is 0 or -1 ? 0 : x % d;
    private static long Div(long x, long d) => d == 0 ? 0 : d == -1 ? unchecked(-x) : x / d;

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            switch (function)
            {
                case "fletcher":
                {
                    long s1 = 0, s2 = 0;
                    for (long i = 0; i < a[0]; i++)
                    {
                        s1 = Rem(s1 + ((a[1] + i * 77) & 255), 255);
                        s2 = Rem(s2 + s1, 255);
                    }
                    return (s2 << 8) | s1;
                }
                case "rolling":
                {
                    long h = 7;
                    for (long i = 0; i < a[0]; i++) h = Rem(h * 31 + ((a[1] ^ i) & 1023), 1000003);
                    return h;
                }
                case "drifting":
                {
                    var s = a[1];
                    for (long i = 0; i < a[0]; i++) s = Rem(s - ((a[1] + i) & 7), 13);
                    return s;
                }
                case "by-remainder": return Div(a[1], Rem(a[0], 7) + 7);
                case "by-quotient": return Rem(a[1], Div(a[0] & 65535, 10) + 1);
                case "thirds": return 1000 * Div(a[0], 3) + Rem(a[0], 3);
                case "sevens":
                {
                    var r = Rem(a[0], 7);
                    return r < 0 ? -r : r + 100;
                }
                case "wrapping":
                {
                    var h = a[1];
                    for (long i = 0; i < a[0]; i++) h = Rem(h * 6364136223846793005 + i, 65521);
                    return h;
                }
                default: throw new ArgumentException(function);
            }
        }
    }

    private static readonly long[] Values =
        [0, 1, -1, 2, -2, 3, -3, 6, -6, 7, -7, 13, -13, 254, 255, 256, 65520, 65521, -65521, 1_000_003, -1_000_002,
         int.MaxValue, int.MinValue, long.MaxValue, long.MaxValue - 1, long.MinValue, long.MinValue + 1];

    private static IEnumerable<(string Function, long[] Arguments)> Calls(int every = 1)
    {
        var index = 0;
        foreach (var f in new[] { "fletcher", "rolling", "drifting", "wrapping" })
            foreach (var n in new long[] { -3, 0, 1, 2, 5, 300 })
                foreach (var x in Values)
                    if (index++ % every == 0)
                        yield return (f, [n, x]);
        foreach (var f in new[] { "by-remainder", "by-quotient" })
            foreach (var x in Values)
                foreach (var y in Values)
                    if (index++ % every == 0)
                        yield return (f, [x, y]);
        foreach (var x in Values)
        {
            yield return ("thirds", [x]);
            yield return ("sevens", [x]);
        }
    }

    private static bool HasSignCorrection(IrFunction function) =>
        Instructions(function).Any(i => i is { Op: Opcode.ShiftRight, Arguments: [_, { IsConstant: true, Constant: 63 }] });

    [TestMethod]
    public void ARemainderOfANonNegativeDividendStaysNonNegativeThroughTheLoop()
    {
        var module = Optimise(Source);
        // s1, s2 and h are remainders of sums of non-negative values: no correction for negative dividends is left.
        foreach (var name in new[] { "fletcher", "rolling" })
            Assert.IsFalse(HasSignCorrection(Function(module, name)), IrPrinter.Print(Function(module, name)));
        // drifting subtracts, wrapping's product wraps, thirds' and sevens' argument may be negative: the correction stays.
        foreach (var name in new[] { "drifting", "wrapping", "thirds", "sevens" })
            Assert.IsTrue(HasSignCorrection(Function(module, name)), IrPrinter.Print(Function(module, name)));
    }

    [TestMethod]
    public void ARemainderOrQuotientBoundsALaterDivisor()
    {
        var module = Optimise(Source);
        foreach (var (name, op) in new[] { ("by-remainder", Opcode.Divide), ("by-quotient", Opcode.Remainder) })
        {
            var function = Function(module, name);
            var division = Instructions(function).Single(i => i.Op == op && !i.Arguments[1].IsConstant);
            // (% x 7) + 7 is in [1, 13], (& x 65535) / 10 + 1 in [1, 6554]: never 0, never -1.
            Assert.AreEqual(DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow, division.DivisionFacts, IrPrinter.Print(function));
        }
    }

    [TestMethod]
    public void CompiledCodeAgreesWithTheTotalSemanticsOnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls().Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));

    [TestMethod]
    public void CompiledCodeAgreesWithTheTotalSemanticsOnArm64() =>
        Arm64Batch.AssertCalls(Source, Calls(every: 2).Select(c => new Arm64Case(c.Function, c.Arguments, Reference(c.Function, c.Arguments))).ToList());
}
