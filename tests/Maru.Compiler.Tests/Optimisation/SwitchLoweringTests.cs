using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Many-way conds on one value (dense, sparse, negative, duplicated constants, shadowed cases,
/// ranges mixed with equalities, 64-bit edge constants, nested ifs going on along either edge,
/// classes of one target that become bit tests, at 0, 63 and the 64-bit ends, a scanning loop, conds of
/// constants that become a packed constant or a straight line: negative, holes, keys at the 64-bit
/// ends, 64 one-bit entries, two values at once, a state machine, and ones that must stay trees) run at O0 and O1, natively and on AArch64 under qemu (one batch), and every result
/// equals the C# reference written beside each function; at O1 a dense cond tests far fewer than
/// its cases on any path.
/// </summary>
[TestClass]
public sealed class SwitchLoweringTests
{
    private const string Program = """
        (define-function dense (c)
          (cond ((= c 0) (+ c 100)) ((= c 1) 7) ((= c 2) (* c 5)) ((= c 3) 31) ((= c 4) -4) ((= c 5) 55)
                ((= c 6) 600) ((= c 7) 77) ((= c 8) 8) ((= c 9) 99) ((= c 10) 1010) (else (- 0 c))))
        (define-function backwards (c)
          (cond ((= c 10) 1) ((= c 8) 2) ((= c 6) 3) ((= c 4) 4) ((= c 2) 5) ((= c 0) 6) ((= c 9) 7) ((= c 7) 8) (else 9)))
        (define-function sparse (c)
          (cond ((= c 1000) 1) ((= c 3) 2) ((= c -7) 3) ((= c 65536) 4) ((= c 100) 5) ((= c 42) 6) ((= c 999999) 7) (else 0)))
        (define-function negative (c)
          (cond ((= c -1) 1) ((= c -2) 2) ((= c -3) 3) ((= c -4) 4) ((= c -5) 5) ((= c -6) 6) (else 0)))
        (define-function duplicates (c)
          (cond ((= c 5) 1) ((= c 7) 2) ((= c 5) 3) ((= c 9) 4) ((= c 7) 5) ((= c 11) 6) (else 7)))
        (define-function mixed (c)
          (cond ((and (>= c 10) (<= c 20)) 1) ((= c 15) 2) ((< c 0) 3) ((= c 25) 4) ((> c 100) 5) ((= c 21) 6) ((= c 5) 7)
                ((and (>= c 50) (<= c 60)) 8) ((= c -5) 9) (else 10)))
        (define-function huge (c)
          (cond ((= c 9223372036854775807) 1) ((= c -9223372036854775808) 2) ((= c 1099511627776) 3) ((= c -1125899906842624) 4)
                ((= c 4294967296) 5) ((= c 2147483648) 6) ((= c 0) 7) (else 8)))
        (define-function nested (c)
          (if (= c 3) 30
            (if (!= c 4)
                (if (= c 8) 80 (if (< c -100) -1 (if (= c 6) 60 (if (= c 2) 20 (if (>= c 1000) 1000 0)))))
              40)))
        (define-function odd-small (c) (if (or (= c 1) (= c 3) (= c 5) (= c 7) (= c 9) (= c 1001)) 1 0))
        (define-function blank (c) (if (or (= c 32) (= c 9) (= c 10) (= c 13) (= c 12) (= c 0)) 1 0))
        (define-function classes (c)
          (cond ((= c 32) 1) ((= c 9) 1) ((= c 10) 1) ((= c 13) 1) ((= c 40) 2) ((= c 41) 2) ((= c 44) 2) ((= c 59) 2) ((= c 34) 3) (else 4)))
        (define-function wide (c) (if (or (= c 0) (= c 63) (= c 20) (= c 47) (= c 33)) 5 (if (= c 64) 6 8)))
        (define-function low (c)
          (if (or (= c -70) (= c -7) (= c -40) (= c -9223372036854775808) (= c -9223372036854775801) (= c -9223372036854775745) (= c 1)) 1 0))
        (define-function high (c) (if (or (= c 9223372036854775807) (= c 9223372036854775744) (= c 9223372036854775797) (= c 9223372036854775800) (= c 5)) 1 0))
        (define-function packed (k) (cond ((= k 0) 3) ((= k 1) 1) ((= k 2) 4) ((= k 3) 1) ((= k 4) 5) (else 9)))
        (define-function packed-negative (k) (cond ((= k -3) -100) ((= k -2) 7) ((= k -1) -100) ((= k 0) 50) (else -1)))
        (define-function line (k) (cond ((= k 5) 10) ((= k 6) 13) ((= k 7) 16) ((= k 8) 19) (else 0)))
        (define-function holes (k) (cond ((= k 1) 2) ((= k 3) 4) ((= k 5) 6) (else 7)))
        (define-function holes-computed (k) (cond ((= k 1) 2) ((= k 3) 4) ((= k 5) 6) (else (* k 2))))
        (define-function wide-values (k) (cond ((= k 0) 9223372036854775807) ((= k 1) -9223372036854775808) ((= k 2) 0) ((= k 3) 1) (else 5)))
        (define-function top-keys (k) (cond ((= k 9223372036854775807) 1) ((= k 9223372036854775806) 2) ((= k 9223372036854775805) 0) (else 3)))
        (define-function bottom-keys (k) (cond ((= k -9223372036854775808) 1) ((= k -9223372036854775807) 2) ((= k -9223372036854775806) 0) (else 3)))
        (define-function full-word (k)
          (cond ((= k 0) 1) ((= k 5) 1) ((= k 17) 1) ((= k 31) 1) ((= k 32) 1) ((= k 40) 1) ((= k 62) 1) ((= k 63) 1) ((= k 1) 1)
                ((= k 2) 1) ((= k 3) 1) (else 0)))
        (define-function masked (c) (let ((k (& c 7))) (cond ((= k 1) 5) ((= k 2) 6) ((= k 3) 9) ((= k 6) -2) (else 4))))
        (define-function masked-computed (c) (let ((k (& c 7))) (cond ((= k 1) 5) ((= k 2) 6) ((= k 3) 9) (else (+ c 1)))))
        (define-function one-computed (k) (cond ((= k 0) 3) ((= k 1) (+ k 7)) ((= k 2) 4) ((= k 3) 1) (else 9)))
        (define-function two (n)
          (let ((a 0) (b 0) (sum 0))
            (for (i 0 n)
              (let ((k (% (* i 7) 5)))
                (cond ((= k 0) (set a 1) (set b 5)) ((= k 1) (set a 2) (set b 7)) ((= k 2) (set a 3) (set b 1)) (else (set a 0) (set b 0))))
              (set sum (+ (* sum 3) (+ (* a 10) b))))
            sum))
        (define-function machine (n)
          (let ((s 0) (acc 0) (x 5))
            (for (i 0 n)
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (let ((k (& (>> x 16) 3)))
                (set s (cond ((= s 0) (cond ((= k 0) 1) ((= k 1) 2) ((= k 2) 0) (else 3)))
                             ((= s 1) (cond ((= k 0) 1) ((= k 3) 0) ((= k 1) 3) (else 2)))
                             ((= s 2) (cond ((= k 2) 2) ((= k 0) 3) (else 0)))
                             (else (cond ((= k 1) 1) ((= k 2) 3) ((= k 3) 2) (else 0)))))
                (set acc (& (+ (* acc 5) s) 1152921504606846975))))
            acc))
        (define-function scan (n)
          (let ((sum 0) (x 1))
            (for (i 0 n)
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (let ((c (& (>> x 16) 127)))
                (cond ((= c 32) (set sum (+ sum 1)))
                      ((= c 10) (set sum (+ sum 100)))
                      ((and (>= c 48) (<= c 57)) (set sum (+ sum c)))
                      ((= c 40) (set sum (* sum 3)))
                      ((= c 41) (set sum (- sum 7)))
                      ((and (>= c 97) (<= c 122)) (set sum (^ sum c)))
                      (else (set sum (+ sum 2))))))
            sum))
        """;

    /// <summary>What each function computes, written independently in C#.</summary>
    private static readonly Dictionary<string, Func<long, long>> Reference = new()
    {
        ["dense"] = c => c switch { 0 => c + 100, 1 => 7, 2 => c * 5, 3 => 31, 4 => -4, 5 => 55, 6 => 600, 7 => 77, 8 => 8, 9 => 99, 10 => 1010, _ => unchecked(0 - c) },
        ["backwards"] = c => c switch { 10 => 1, 8 => 2, 6 => 3, 4 => 4, 2 => 5, 0 => 6, 9 => 7, 7 => 8, _ => 9 },
        ["sparse"] = c => c switch { 1000 => 1, 3 => 2, -7 => 3, 65536 => 4, 100 => 5, 42 => 6, 999999 => 7, _ => 0 },
        ["negative"] = c => c is >= -6 and <= -1 ? -c : 0,
        ["duplicates"] = c => c switch { 5 => 1, 7 => 2, 9 => 4, 11 => 6, _ => 7 },
        ["mixed"] = c => c is >= 10 and <= 20 ? 1 : c < 0 ? 3 : c == 25 ? 4 : c > 100 ? 5 : c == 21 ? 6 : c == 5 ? 7 : c is >= 50 and <= 60 ? 8 : 10,
        ["huge"] = c => c switch
        {
            long.MaxValue => 1, long.MinValue => 2, 1099511627776 => 3, -1125899906842624 => 4, 4294967296 => 5, 2147483648 => 6, 0 => 7, _ => 8,
        },
        ["nested"] = c => c == 3 ? 30 : c == 4 ? 40 : c == 8 ? 80 : c < -100 ? -1 : c == 6 ? 60 : c == 2 ? 20 : c >= 1000 ? 1000 : 0,
        ["odd-small"] = c => c is 1 or 3 or 5 or 7 or 9 or 1001 ? 1 : 0,
        ["blank"] = c => c is 32 or 9 or 10 or 13 or 12 or 0 ? 1 : 0,
        ["classes"] = c => c switch { 32 or 9 or 10 or 13 => 1, 40 or 41 or 44 or 59 => 2, 34 => 3, _ => 4 },
        ["wide"] = c => c switch { 0 or 63 or 20 or 47 or 33 => 5, 64 => 6, _ => 8 },
        ["low"] = c => c is -70 or -7 or -40 or long.MinValue or long.MinValue + 7 or long.MinValue + 63 or 1 ? 1 : 0,
        ["high"] = c => c is long.MaxValue or long.MaxValue - 63 or long.MaxValue - 10 or long.MaxValue - 7 or 5 ? 1 : 0,
        ["packed"] = k => k switch { 0 => 3, 1 => 1, 2 => 4, 3 => 1, 4 => 5, _ => 9 },
        ["packed-negative"] = k => k switch { -3 => -100, -2 => 7, -1 => -100, 0 => 50, _ => -1 },
        ["line"] = k => k switch { 5 => 10, 6 => 13, 7 => 16, 8 => 19, _ => 0 },
        ["holes"] = k => k switch { 1 => 2, 3 => 4, 5 => 6, _ => 7 },
        ["holes-computed"] = k => k switch { 1 => 2, 3 => 4, 5 => 6, _ => unchecked(k * 2) },
        ["wide-values"] = k => k switch { 0 => long.MaxValue, 1 => long.MinValue, 2 => 0, 3 => 1, _ => 5 },
        ["top-keys"] = k => k switch { long.MaxValue => 1, long.MaxValue - 1 => 2, long.MaxValue - 2 => 0, _ => 3 },
        ["bottom-keys"] = k => k switch { long.MinValue => 1, long.MinValue + 1 => 2, long.MinValue + 2 => 0, _ => 3 },
        ["full-word"] = k => k is 0 or 5 or 17 or 31 or 32 or 40 or 62 or 63 or 1 or 2 or 3 ? 1 : 0,
        ["masked"] = c => (c & 7) switch { 1 => 5, 2 => 6, 3 => 9, 6 => -2, _ => 4 },
        ["masked-computed"] = c => (c & 7) switch { 1 => 5, 2 => 6, 3 => 9, _ => unchecked(c + 1) },
        ["one-computed"] = k => k switch { 0 => 3, 1 => k + 7, 2 => 4, 3 => 1, _ => 9 },
    };

    /// <summary>Functions of a loop count, run with <see cref="ScanLengths"/>.</summary>
    private static readonly Dictionary<string, Func<long, long>> Loops = new()
    {
        ["scan"] = Scan,
        ["two"] = n =>
        {
            long a = 0, b = 0, sum = 0;
            for (long i = 0; i < n; i++)
            {
                (a, b) = unchecked(i * 7 % 5) switch { 0 => (1L, 5L), 1 => (2L, 7L), 2 => (3L, 1L), _ => (0L, 0L) };
                sum = unchecked(sum * 3 + a * 10 + b);
            }
            return sum;
        },
        ["machine"] = n =>
        {
            long s = 0, acc = 0, x = 5;
            for (long i = 0; i < n; i++)
            {
                x = unchecked(x * 1103515245 + 12345) & 2147483647;
                var k = (x >> 16) & 3;
                s = s switch
                {
                    0 => k switch { 0 => 1, 1 => 2, 2 => 0, _ => 3 },
                    1 => k switch { 0 => 1, 3 => 0, 1 => 3, _ => 2 },
                    2 => k switch { 2 => 2, 0 => 3, _ => 0 },
                    _ => k switch { 1 => 1, 2 => 3, 3 => 2, _ => 0 },
                };
                acc = unchecked(acc * 5 + s) & 1152921504606846975;
            }
            return acc;
        },
    };

    private static long Scan(long n)
    {
        long sum = 0, x = 1;
        for (long i = 0; i < n; i++)
        {
            x = unchecked(x * 1103515245 + 12345) & 2147483647;
            var c = (x >> 16) & 127;
            sum = unchecked(c switch
            {
                32 => sum + 1,
                10 => sum + 100,
                >= 48 and <= 57 => sum + c,
                40 => sum * 3,
                41 => sum - 7,
                >= 97 and <= 122 => sum ^ c,
                _ => sum + 2,
            });
        }
        return sum;
    }

    /// <summary>Every case, one either side of each constant and bound, the 64-bit edges.</summary>
    private static readonly long[] Inputs =
    [
        .. Enumerable.Range(-12, 36).Select(i => (long)i), .. Samples, -101, -100, -99, 24, 25, 26, 41, 42, 43, 49, 50, 51, 59, 60, 61, 99, 100, 101, 102,
        999, 1000, 1001, 65535, 65536, 65537, 999998, 999999, 1000000, 1099511627775, 1099511627776, 1099511627777, -1125899906842624,
        -1125899906842625, -1125899906842623, 4294967295, 4294967296, 4294967297, 2147483647, 2147483648, 2147483649,
        -71, -70, -69, -41, -40, -39, long.MinValue + 6, long.MinValue + 7, long.MinValue + 8, long.MinValue + 62, long.MinValue + 63, long.MinValue + 64,
        long.MaxValue - 64, long.MaxValue - 63, long.MaxValue - 62, long.MaxValue - 11, long.MaxValue - 10, long.MaxValue - 9, long.MaxValue - 7, 46, 47, 48, 62, 63, 64, 127, 128,
    ];

    private static readonly long[] ScanLengths = [0, 1, 7, 100, 5000];

    [TestMethod]
    public void EveryConditionalAgreesWithItsReferenceAtBothLevels() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Program, [
            .. Reference.SelectMany(r => Inputs.Select(c => (r.Key, new[] { c }, r.Value(c)))),
            .. Loops.SelectMany(r => ScanLengths.Select(n => (r.Key, new[] { n }, r.Value(n)))),
        ]);

    [TestMethod]
    public void ACondOfConstantsIsOneRangeCheckAndAPackedConstant()
    {
        var module = Optimise(Program);
        foreach (var name in new[] { "packed", "packed-negative", "line", "holes", "top-keys", "bottom-keys", "full-word" })
        {
            var function = Function(module, name);
            Assert.AreEqual(1, MostBranchesOnAPath(function), IrPrinter.Print(function));
        }
        // A value known to lie in [0, 7] (c & 7) needs no range check: no branch at all.
        Assert.AreEqual(0, MostBranchesOnAPath(Function(module, "masked")), IrPrinter.Print(Function(module, "masked")));
        // A machine's next state: nothing compares the class (x & 3) any more, only the state is dispatched on.
        var machine = Function(module, "machine");
        var classes = Instructions(machine).Where(i => i.Op == Opcode.And && i.Arguments[1] is { IsConstant: true, Constant: 3 }).Select(i => i.Destination).ToHashSet();
        Assert.IsFalse(Instructions(machine).Any(i => i.Op.IsComparison() && i.Arguments.Any(a => !a.IsConstant && classes.Contains(a.Register))), IrPrinter.Print(machine));
    }

    [TestMethod]
    public void AChainStartingWithATestOfTheValueItselfCompilesWithAListing()
    {
        // (= c 0) is a branch on c with no instruction before it: the chain's first block is empty,
        // and the listing read the file name of its location (it was a default: internal error).
        const string Source = "(define-function f (c) (if (= c 0) 5 (if (= c 1) 6 (if (= c 2) 7 (if (= c 3) 8 (if (= c 4) 11 9))))))";
        var result = MaruCompiler.Compile([new SourceFile("test.l", Source)], CompiledLibrary.OptionsAt(OptimisationLevel.O1, listing: true));
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        using var library = CompiledLibrary.Load(result);
        long[] expected = [9, 5, 6, 7, 8, 11, 9, 9];
        for (var c = -1; c <= 6; c++) Assert.AreEqual(expected[c + 1], library.Call("f", c), $"(f {c})");
    }

    [TestMethod]
    public void ADenseCondTestsFewerThanHalfItsCasesOnAnyPath()
    {
        var module = Optimise(Program);
        foreach (var (name, cases) in new[] { ("dense", 11), ("sparse", 7), ("huge", 7), ("classes", 9), ("low", 6) })
        {
            var function = Function(module, name);
            var deepest = MostBranchesOnAPath(function);
            Assert.IsLessThanOrEqualTo(cases / 2 + 2, deepest, IrPrinter.Print(function));
        }
    }

    [TestMethod]
    public void EveryConditionalAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(Program, [
            .. Reference.SelectMany(r => Inputs.Select(c => new Arm64Case(r.Key, [c], r.Value(c)))),
            .. Loops.SelectMany(r => ScanLengths.Select(n => new Arm64Case(r.Key, [n], r.Value(n)))),
        ]);

    /// <summary>The most conditional branches on one path from the entry of a loop-free function.</summary>
    private static int MostBranchesOnAPath(IrFunction function)
    {
        var depth = new Dictionary<BasicBlock, int>();
        int Deepest(BasicBlock block)
        {
            if (depth.TryGetValue(block, out var known)) return known;
            var below = block.Successors.Select(Deepest).DefaultIfEmpty(0).Max();
            return depth[block] = below + (block.Terminator is Branch ? 1 : 0);
        }
        return Deepest(function.Blocks[0]);
    }
}
