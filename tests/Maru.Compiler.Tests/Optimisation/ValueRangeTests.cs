using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Value ranges (<c>ValueRanges</c>): which facts a division by a register is given (the IR
/// effect), and compiled code at O0 and O1 on x86-64 and arm64 against a C# model of the total
/// semantics (x / 0 = 0, x % 0 = 0, MIN / -1 = MIN, x % -1 = 0), for the divisors and dividends
/// that take each remaining check's other path: 0 and -1 where only the other was proved
/// impossible, MIN / -1 where only the zero test is dropped, facts proved on one path only, a
/// bound that would wrap, divisors from loop bounds, a loop test, a mask, memory; and a quotient
/// and remainder computed by one division whose results live on (the allocator takes the pair's
/// rax and rdx once).
/// </summary>
[TestClass]
public sealed class ValueRangeTests
{
    private const string Source = """
        (define-function nz-rem (x b) (if (!= b 0) (% x b) 77))
        (define-function nz-div (x b) (if (!= b 0) (/ x b) 77))
        (define-function pos (x b) (if (> b 0) (+ (/ x b) (* 1000 (% x b))) 5))
        (define-function one-path (x b)
          (let ((r 0))
            (if (!= b 0) (set r 1))
            (+ r (+ (* 3 (% x b)) (/ x b)))))
        (define-function masked (x b) (+ (/ (& x 65535) b) (* 7 (% (& x 65535) b))))
        (define-function halved (x b) (+ (% (>> x 1) b) (/ (>> x 1) b)))
        (define-function negative (x b) (if (< b 0) (+ (/ x b) (% x b)) 9))
        (define-function not-minus-one (x b) (if (= b -1) 5 (/ x b)))
        (define-function wrapped (x b) (let ((c (+ b 1))) (if (> b 0) (+ (/ x c) (% x c)) 3)))
        (define-function gcd (a b)
          (while (!= b 0)
            (let ((t (% a b)))
              (set a b)
              (set b t)))
          a)
        (define-function digit-sums (x)
          (let ((s 0))
            (for (b 2 17)
              (let ((y x))
                (while (> y 0)
                  (set s (+ (* s 3) (% y b)))
                  (set y (/ y b)))))
            s))
        (define-function harmonic (n x)
          (let ((s 0) (i 0))
            (while (< i n)
              (set s (+ s (+ (/ x (+ i 1)) (% x (+ i 1)))))
              (set i (+ i 1)))
            s))
        (define-function signs (x)
          (let ((d (if (> x 0) 3 -3)))
            (+ (/ x d) (* 10 (% x d)))))
        (define-function mod-pow (b e m)
          (if (> m 0)
              (let ((r 1))
                (set b (% b m))
                (while (> e 0)
                  (if (& e 1) (set r (% (* r b) m)))
                  (set b (% (* b b) m))
                  (set e (>> e 1)))
                r)
              -1))
        (define-function bucket (table h) (% (& h 2147483647) (oop-at table 0)))
        (define-function convert (x b)
          (if (> b 1)
              (let ((s 0) (k 1) (n 0))
                (while (!= x 0)
                  (set s (+ s (* k (% x b))))
                  (set k (* k 3))
                  (set n (+ n (/ x b)))
                  (set x (/ x b)))
                (+ s n))
              -1))
        (define-function reversed (x)
          (let ((r 0))
            (while (> x 0)
              (set r (+ (* r 10) (% x 10)))
              (set x (/ x 10)))
            r))
        """;

    private static long Div(long x, long d) => d == 0 ? 0 : d == -1 ? unchecked(-x) : x / d;
    private static long Rem(long x, long d) => d is 0 or -1 ? 0 : x % d;

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            switch (function)
            {
                case "nz-rem": return a[1] != 0 ? Rem(a[0], a[1]) : 77;
                case "nz-div": return a[1] != 0 ? Div(a[0], a[1]) : 77;
                case "pos": return a[1] > 0 ? Div(a[0], a[1]) + 1000 * Rem(a[0], a[1]) : 5;
                case "one-path": return (a[1] != 0 ? 1 : 0) + 3 * Rem(a[0], a[1]) + Div(a[0], a[1]);
                case "masked": return Div(a[0] & 65535, a[1]) + 7 * Rem(a[0] & 65535, a[1]);
                case "halved": return Rem(a[0] >> 1, a[1]) + Div(a[0] >> 1, a[1]);
                case "negative": return a[1] < 0 ? Div(a[0], a[1]) + Rem(a[0], a[1]) : 9;
                case "not-minus-one": return a[1] == -1 ? 5 : Div(a[0], a[1]);
                case "wrapped":
                {
                    var c = a[1] + 1;
                    return a[1] > 0 ? Div(a[0], c) + Rem(a[0], c) : 3;
                }
                case "gcd":
                {
                    long x = a[0], y = a[1];
                    while (y != 0) (x, y) = (y, Rem(x, y));
                    return x;
                }
                case "digit-sums":
                {
                    long s = 0;
                    for (long b = 2; b < 17; b++)
                        for (var y = a[0]; y > 0; y = Div(y, b)) s = s * 3 + Rem(y, b);
                    return s;
                }
                case "harmonic":
                {
                    long s = 0;
                    for (long i = 0; i < a[0]; i++) s += Div(a[1], i + 1) + Rem(a[1], i + 1);
                    return s;
                }
                case "signs":
                {
                    var d = a[0] > 0 ? 3 : -3;
                    return Div(a[0], d) + 10 * Rem(a[0], d);
                }
                case "mod-pow":
                {
                    long b = a[0], e = a[1], m = a[2], r = 1;
                    if (m <= 0) return -1;
                    b = Rem(b, m);
                    while (e > 0)
                    {
                        if ((e & 1) != 0) r = Rem(r * b, m);
                        b = Rem(b * b, m);
                        e >>= 1;
                    }
                    return r;
                }
                case "convert":
                {
                    long x = a[0], b = a[1], s = 0, k = 1, n = 0;
                    if (b <= 1) return -1;
                    while (x != 0)
                    {
                        s += k * Rem(x, b);
                        k *= 3;
                        n += Div(x, b);
                        x = Div(x, b);
                    }
                    return s + n;
                }
                case "reversed":
                {
                    long r = 0;
                    for (var x = a[0]; x > 0; x = Div(x, 10)) r = r * 10 + Rem(x, 10);
                    return r;
                }
                default: throw new ArgumentException(function);
            }
        }
    }

    private static readonly long[] Values =
        [0, 1, -1, 2, -2, 3, -3, 7, -7, 10, 16, 17, -16, 255, 65535, 65536, 1_000_003, -1_000_003, 123_456_789_012,
         int.MaxValue, int.MinValue, long.MaxValue, long.MaxValue - 1, long.MinValue, long.MinValue + 1];

    private static readonly string[] Binary = ["nz-rem", "nz-div", "pos", "one-path", "masked", "halved", "negative", "not-minus-one", "wrapped", "gcd", "convert"];

    private static IEnumerable<(string Function, long[] Arguments)> Calls(int every = 1)
    {
        var index = 0;
        foreach (var f in Binary)
            foreach (var x in Values)
                foreach (var b in Values)
                    if (index++ % every == 0)
                        yield return (f, [x, b]);
        foreach (var x in Values)
        {
            yield return ("digit-sums", [x]);
            yield return ("signs", [x]);
            yield return ("reversed", [x]);
        }
        foreach (var n in new long[] { -5, 0, 1, 2, 7, 100 })
            foreach (var x in Values)
                yield return ("harmonic", [n, x]);
        foreach (var (b, e, m) in new (long, long, long)[]
                 {
                     (2, 10, 1000), (3, 200, 1_000_000_007), (-7, 13, 97), (5, 0, 13), (5, 3, 1), (5, 3, 0), (5, 3, -7),
                     (long.MinValue, 3, 1_000_003), (long.MaxValue, 65, 3_037_000_493), (123_456_789, 1_000_000, 998_244_353),
                 })
            yield return ("mod-pow", [b, e, m]);
    }

    [TestMethod]
    public void DivisionsGetOnlyTheFactsTheirPathsProve()
    {
        var module = Optimise(Source);
        DivisionFacts FactsOf(string name, Opcode op = Opcode.Remainder)
        {
            var function = Function(module, name);
            var divisions = Instructions(function).Where(i => i.Op == op && !i.Arguments[1].IsConstant).ToList();
            Assert.AreNotEqual(0, divisions.Count, IrPrinter.Print(function));
            return divisions.Aggregate(DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow, (facts, i) => facts & i.DivisionFacts);
        }
        const DivisionFacts both = DivisionFacts.DivisorNonzero | DivisionFacts.NoOverflow;
        Assert.AreEqual(DivisionFacts.DivisorNonzero, FactsOf("nz-rem"));            // b may be -1 with x = MIN
        Assert.AreEqual(DivisionFacts.DivisorNonzero, FactsOf("nz-div", Opcode.Divide));
        Assert.AreEqual(both, FactsOf("pos"));
        Assert.AreEqual(DivisionFacts.None, FactsOf("one-path"));                     // b tested on one path only
        Assert.AreEqual(DivisionFacts.NoOverflow, FactsOf("masked"));                 // the dividend is never MIN
        Assert.AreEqual(DivisionFacts.NoOverflow, FactsOf("halved"));
        Assert.AreEqual(DivisionFacts.DivisorNonzero, FactsOf("negative"));
        Assert.AreEqual(DivisionFacts.None, FactsOf("wrapped"));                      // b + 1 wraps to MIN for b = MAX: no interval
        Assert.AreEqual(DivisionFacts.DivisorNonzero, FactsOf("gcd"));                // the loop test; a may be MIN, b -1
        Assert.AreEqual(both, FactsOf("digit-sums"));                                 // b in [2, 16] from the loop bounds
        Assert.AreEqual(both, FactsOf("harmonic"));                                   // i + 1 in [1, MAX]: i < n cannot wrap
        Assert.AreEqual(both, FactsOf("mod-pow"));                                    // m > 0
        Assert.AreEqual(DivisionFacts.NoOverflow, FactsOf("bucket"));                 // a size read from memory may be 0
        Assert.AreEqual(both, FactsOf("convert"));                                    // b > 1
    }

    [TestMethod]
    public void AKnownNonNegativeDividendNeedsNoSignCorrection()
    {
        // reversed's x is positive in the loop, so x / 10 and x % 10 are a multiply-high and a shift
        // without the (q >> 63) correction for negative dividends.
        var function = Function(Optimise(Source), "reversed");
        Assert.IsFalse(Instructions(function).Any(i => i is { Op: Opcode.ShiftRight, Arguments: [_, { IsConstant: true, Constant: 63 }] }),
            IrPrinter.Print(function));
    }

    [TestMethod]
    public void CompiledCodeAgreesWithTheTotalSemanticsOnX64()
    {
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls().Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));
        unsafe
        {
            // A table size read from memory: 0, -1, and ordinary sizes.
            using var library = CompiledLibrary.Compile(Source);
            var bucket = (delegate* unmanaged<long*, long, long>)library.Export("bucket");
            var table = stackalloc long[1];
            foreach (var size in new long[] { 0, -1, 1, 7, 1024, -13, long.MinValue, long.MaxValue })
                foreach (var h in Values)
                {
                    table[0] = size;
                    Assert.AreEqual(Rem(h & 2147483647, size), bucket(table, h), $"(bucket [{size}] {h})");
                }
        }
    }

    [TestMethod]
    public void CompiledCodeAgreesWithTheTotalSemanticsOnArm64()
    {
        var cases = Calls(every: 3).Select(c => new Arm64Case(c.Function, c.Arguments, Reference(c.Function, c.Arguments))).ToList();
        Arm64Batch.AssertCalls(Source, cases);
    }
}
