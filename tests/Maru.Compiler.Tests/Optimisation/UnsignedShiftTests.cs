using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// The unsigned shift (<see cref="Opcode.ShiftRightLogical"/>): Maru's <c>&gt;&gt;</c> is arithmetic,
/// so a program shifting an unsigned word (a hash, a xorshift generator, a bignum's carry) masks
/// the sign copies off, <c>(&amp; (&gt;&gt; x k) (2^(64-k) - 1))</c>; Simplify makes that one logical
/// shift (x86-64 shr, AArch64 lsr), and ValueRanges knows it is non-negative. Checked on the IR
/// (the mask goes only where it is exactly the shifted-in bits) and on compiled code at O0 and O1,
/// x86-64 and arm64, against a C# model with negative words, the 64-bit edges and wrap-around.
/// </summary>
[TestClass]
public sealed class UnsignedShiftTests
{
    private const string Source = """
        (define-function high-half (x) (& (>> x 32) 4294967295))
        (define-function top-nibble (x) (& (>> x 60) 15))
        (define-function halve (x) (& (>> x 1) 9223372036854775807))
        (define-function top-bit (x) (& (>> x 63) 1))
        (define-function narrower (x) (& (>> x 32) 65535))
        (define-function wider (x) (& (>> x 32) 8589934591))
        (define-function xorshift (n seed)
          (let ((x seed) (sum 0))
            (for (i 0 n)
              (set x (^ x (& (>> x 12) 4503599627370495)))
              (set x (^ x (<< x 25)))
              (set x (^ x (& (>> x 27) 137438953471)))
              (set sum (+ sum (& (>> (* x 2685821657736338717) 33) 2147483647))))
            sum))
        (define-function carries (n a b)
          (let ((carry 0) (acc 0))
            (for (i 0 n)
              (let ((t (+ (+ (* (& (+ a i) 4294967295) (& b 4294967295)) (& acc 4294967295)) carry)))
                (set acc (^ acc (& t 4294967295)))
                (set carry (& (>> t 32) 4294967295))))
            (+ acc carry)))
        (define-function by-high (x y) (/ y (+ (& (>> x 33) 2147483647) 1)))
        """;

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            var u = (ulong)a[0];
            switch (function)
            {
                case "high-half": return (long)(u >> 32);
                case "top-nibble": return (long)(u >> 60);
                case "halve": return (long)(u >> 1);
                case "top-bit": return (long)(u >> 63);
                case "narrower": return (a[0] >> 32) & 65535;
                case "wider": return (a[0] >> 32) & 8589934591;
                case "xorshift":
                {
                    var x = (ulong)a[1];
                    long sum = 0;
                    for (long i = 0; i < a[0]; i++)
                    {
                        x ^= x >> 12;
                        x ^= x << 25;
                        x ^= x >> 27;
                        sum += (long)((x * 2685821657736338717UL) >> 33);
                    }
                    return sum;
                }
                case "carries":
                {
                    long carry = 0, acc = 0;
                    for (long i = 0; i < a[0]; i++)
                    {
                        var t = ((a[1] + i) & 4294967295) * (a[2] & 4294967295) + (acc & 4294967295) + carry;
                        acc ^= t & 4294967295;
                        carry = (long)((ulong)t >> 32);
                    }
                    return acc + carry;
                }
                case "by-high":
                {
                    var d = (long)(u >> 33) + 1;
                    return a[1] / d;
                }
                default: throw new ArgumentException(function);
            }
        }
    }

    private static readonly long[] Values =
        [0, 1, -1, 2, -2, 255, -256, 4294967295, 4294967296, -4294967296, 0x1234_5678_9abc_def0, unchecked((long)0xfedc_ba98_7654_3210),
         int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, long.MinValue + 1];

    private static IEnumerable<(string Function, long[] Arguments)> Calls()
    {
        foreach (var f in new[] { "high-half", "top-nibble", "halve", "top-bit", "narrower", "wider" })
            foreach (var x in Values)
                yield return (f, [x]);
        foreach (var n in new long[] { -1, 0, 1, 7, 100 })
            foreach (var x in Values)
            {
                yield return ("xorshift", [n, x]);
                yield return ("carries", [n, x, unchecked(x * 3 + 1)]);
            }
        foreach (var x in Values)
            foreach (var y in new long[] { 0, 1, -1, 1000, long.MinValue, long.MaxValue })
                yield return ("by-high", [x, y]);
    }

    [TestMethod]
    public void AMaskOfExactlyTheShiftedInBitsBecomesALogicalShift()
    {
        var module = Optimise(Source);
        foreach (var name in new[] { "high-half", "top-nibble", "halve", "top-bit" })
        {
            var function = Function(module, name);
            Assert.IsTrue(Instructions(function).Any(i => i.Op == Opcode.ShiftRightLogical), IrPrinter.Print(function));
            Assert.IsFalse(Instructions(function).Any(i => i.Op is Opcode.And or Opcode.ShiftRight), IrPrinter.Print(function));
        }
        // A narrower mask keeps fewer bits and a wider one keeps sign copies: both stay as written.
        foreach (var name in new[] { "narrower", "wider" })
            Assert.IsFalse(Instructions(Function(module, name)).Any(i => i.Op == Opcode.ShiftRightLogical), name);
        // (x >>> 33) + 1 is in [1, 2^31]: the division needs no check.
        var division = Instructions(Function(module, "by-high")).Single(i => i.Op == Opcode.Divide);
        Assert.AreEqual(DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow, division.DivisionFacts);
    }

    [TestMethod]
    public void CompiledCodeAgreesWithUnsignedShiftsOnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls().Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));

    [TestMethod]
    public void CompiledCodeAgreesWithUnsignedShiftsOnArm64() =>
        Arm64Batch.AssertCalls(Source, Calls().Select(c => new Arm64Case(c.Function, c.Arguments, Reference(c.Function, c.Arguments))).ToList());
}
