using System.Text;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Division and remainder by constants through a multiply-high (magic numbers): compiled code is
/// executed for hundreds of divisors (powers of two, their negatives, 1, -1, 0, MIN, MAX, small and
/// large odd and even numbers, random words) against every interesting dividend, and compared with
/// the language's total semantics (x / 0 = 0, MIN / -1 = MIN, x % 0 = 0) computed here independently.
/// </summary>
[TestClass]
public sealed unsafe class DivisionByConstantTests
{
    private static long[] Divisors()
    {
        var divisors = new List<long> { 0, 1, -1, long.MinValue, long.MaxValue, long.MaxValue - 1, long.MinValue + 1, long.MinValue + 2 };
        for (var k = 1; k < 63; k++) divisors.AddRange([1L << k, -(1L << k), (1L << k) + 1, (1L << k) - 1, -((1L << k) + 1)]);
        divisors.AddRange([3, 5, 6, 7, 9, 10, 11, 12, 13, 25, 60, 100, 125, 641, 1000, 4093, 10007, 1_000_003, 6_700_417, 1_000_000_007,
                           -3, -5, -6, -7, -10, -1000, -4093, uint.MaxValue, int.MaxValue, int.MinValue, 0x5555555555555555, 0x3333333333333333]);
        var random = new Random(20261129);
        for (var i = 0; i < 60; i++) divisors.Add(random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(0, 62));
        return divisors.Distinct().ToArray();
    }

    private static long[] Dividends()
    {
        var dividends = new List<long>(Samples) { long.MaxValue - 2, long.MinValue + 2, -4093, 4092, 4093, 4094, uint.MaxValue, -(long)uint.MaxValue };
        for (var k = 0; k < 63; k++) dividends.AddRange([1L << k, -(1L << k), (1L << k) - 1, -(1L << k) + 1]);
        var random = new Random(11);
        for (var i = 0; i < 120; i++) dividends.Add(random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(0, 63));
        return dividends.Distinct().ToArray();
    }

    private static long Quotient(long x, long d) => d == 0 ? 0 : d == -1 ? unchecked(-x) : x / d;

    private static long Remainder(long x, long d) => d is 0 or -1 ? 0 : x % d;

    /// <summary>Per divisor: x / d, x % d, and both on a dividend known to be non-negative (the sign fix-up left out).</summary>
    private static string Source(long[] divisors)
    {
        var source = new StringBuilder();
        for (var i = 0; i < divisors.Length; i++)
            source.Append($"(define-function q{i} (x) (/ x {divisors[i]}))\n(define-function r{i} (x) (% x {divisors[i]}))\n")
                  .Append($"(define-function nq{i} (x) (/ (& x 0xffffffffffff) {divisors[i]}))\n(define-function nr{i} (x) (% (& x 0xffffffffffff) {divisors[i]}))\n");
        return source.ToString();
    }

    [TestMethod]
    public void MagicNumbersAreTheKnownOnes()
    {
        // Hacker's Delight, table 10-2 (64-bit signed).
        Assert.AreEqual((0x5555555555555556L, 0), DivisionMagic.Signed(3));
        Assert.AreEqual((0x6666666666666667L, 1), DivisionMagic.Signed(5));
        Assert.AreEqual((0x4924924924924925L, 1), DivisionMagic.Signed(7));
        Assert.AreEqual((0x6666666666666667L, 2), DivisionMagic.Signed(10));
    }

    [TestMethod]
    public void EveryDivisorAgreesWithTheTotalSemanticsAtBothLevels()
    {
        var divisors = Divisors();
        var dividends = Dividends();
        var source = Source(divisors);
        foreach (var level in new[] { OptimisationLevel.O1, OptimisationLevel.O0 })
        {
            using var library = CompiledLibrary.Compile(source, level);
            for (var i = 0; i < divisors.Length; i++)
            {
                var d = divisors[i];
                var q = (delegate* unmanaged<long, long>)library.Export($"q{i}");
                var r = (delegate* unmanaged<long, long>)library.Export($"r{i}");
                var nq = (delegate* unmanaged<long, long>)library.Export($"nq{i}");
                var nr = (delegate* unmanaged<long, long>)library.Export($"nr{i}");
                foreach (var x in dividends)
                {
                    Assert.AreEqual(Quotient(x, d), q(x), $"{level}: (/ {x} {d})");
                    Assert.AreEqual(Remainder(x, d), r(x), $"{level}: (% {x} {d})");
                    var masked = x & 0xffffffffffff;
                    Assert.AreEqual(Quotient(masked, d), nq(x), $"{level}: (/ {masked} {d})");
                    Assert.AreEqual(Remainder(masked, d), nr(x), $"{level}: (% {masked} {d})");
                }
            }
        }
        // The definition the interpreter and constant folding use says the same.
        foreach (var d in divisors)
            foreach (var x in dividends.Take(40))
                Assert.AreEqual(Quotient(x, d), Opcode.Divide.Evaluate(x, d), $"(/ {x} {d}) folded");
    }

    [TestMethod]
    public void ConstantDivisorsNeedNoDivideInstruction()
    {
        // The IR effect, not the bytes: no Divide/Remainder is left, a MultiplyHigh does the work;
        // a divisor that only becomes constant through propagation is treated the same way.
        var module = Optimise("""
            (define-function q (x) (/ x 10))
            (define-function r (x) (% x -4093))
            (define-function p (x) (let ((d 7)) (/ x d)))
            (define-function digits (n) (let ((s 0)) (while (> n 0) (set s (+ s (% n 10))) (set n (/ n 10))) s))
            """);
        foreach (var name in new[] { "q", "r", "p", "digits" })
        {
            var function = Function(module, name);
            Assert.IsFalse(Instructions(function).Any(i => i.Op is Opcode.Divide or Opcode.Remainder), IrPrinter.Print(function));
            Assert.IsTrue(Instructions(function).Any(i => i.Op == Opcode.MultiplyHigh), IrPrinter.Print(function));
        }
        AssertSameAtBothLevels("(define-function digits (n) (let ((s 0)) (while (> n 0) (set s (+ s (% n 10))) (set n (/ n 10))) s))",
            "digits", [0], [9], [1234567890123456789], [long.MaxValue], [-5]);
    }

    [TestMethod]
    public void Arm64SmulhAgreesUnderQemu()
    {
        var divisors = Divisors().Where((_, i) => i % 5 == 0).Concat([3L, 7, 10, -7, 1000, long.MaxValue, long.MinValue, -1, 0]).Distinct().ToArray();
        var dividends = Dividends().Where((_, i) => i % 6 == 0).Concat([long.MinValue, long.MaxValue, -1, 0]).Distinct().ToArray();
        var cases = divisors.SelectMany((d, i) => dividends.SelectMany(x => new Arm64Case[]
        {
            new($"q{i}", [x], Quotient(x, d)),
            new($"r{i}", [x], Remainder(x, d)),
        }));
        Arm64Batch.AssertCalls(Source(divisors), _ => cases, OptimisationLevel.O1);
    }
}
