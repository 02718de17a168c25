using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Conds whose arms do the same thing (equal bodies under different tests, nested conds whose
/// joins flatten into one, arms equal but for a constant, arms with calls and stores, bodies reading
/// a value only one arm defined) run at O0 and O1, natively and on AArch64 under qemu, and equal the
/// C# reference beside each; at O1 equal arms are one block.
/// </summary>
[TestClass]
public sealed class TailMergingTests
{
    private const string Program = """
        (define-function g (c x)
          (cond ((= c 32) (+ x 1)) ((= c 9) (+ x 1)) ((= c 10) (+ x 1)) ((= c 13) (+ x 1))
                ((= c 40) (* x 3)) ((= c 41) (* x 3)) ((= c -5) (* x 3)) ((= c 9223372036854775807) (* x 3)) (else x)))
        (define-function equal-arms (c) (g c 1000))
        (define-function almost (c)
          (cond ((= c 1) (+ c 5)) ((= c 2) (+ c 5)) ((= c 3) (+ c 6)) ((= c 4) (+ c 6)) ((= c 5) (+ c 5)) (else c)))
        (define-function nested (s)
          (let ((k (& s 7)) (t (>> s 3)))
            (cond ((= t 0) (cond ((= k 0) 10) ((= k 1) (+ k 20)) ((= k 2) 30) (else (- k))))
                  ((= t 1) (cond ((= k 3) 40) ((= k 1) 10) (else 50)))
                  ((= t 2) (+ t k))
                  ((= t -1) (cond ((= k 7) (* k 9)) (else 60)))
                  (else (cond ((= k 0) 0) ((= k 1) 1) ((= k 2) 2) (else 3))))))
        (define counter 0)
        (define-function bump (x) (set counter (+ counter x)) counter)
        (define-function calls (c)
          (set counter 0)
          (cond ((= c 1) (bump 3)) ((= c 2) (bump 3)) ((= c 3) (bump 4)) ((= c 4) (bump 3)) ((= c 5) (bump 4)) (else (bump 5)))
          (cond ((= c 4) (bump 1)) ((= c 5) (bump 1)) ((= c 6) (bump 1)) ((= c 7) (bump 2)) (else 0))
          counter)
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function stores (c)
          (let ((b (malloc 32)) (r 0))
            (set-oop-at b 0 1) (set-oop-at b 1 2) (set-oop-at b 2 3)
            (cond ((= c 0) (set-oop-at b 1 (+ (oop-at b 0) 7)))
                  ((= c 1) (set-oop-at b 1 (+ (oop-at b 0) 7)))
                  ((= c 2) (set-oop-at b 2 (+ (oop-at b 0) 7)))
                  ((= c 3) (set-oop-at b 1 (+ (oop-at b 0) 7)))
                  ((= c 4) (set-oop-at b 2 (+ (oop-at b 0) 7))))
            (set r (+ (* (oop-at b 1) 100) (oop-at b 2)))
            (free b)
            r))
        (define-function scan (n)
          (let ((blanks 0) (opens 0) (digits 0) (other 0) (x 1))
            (for (i 0 n)
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (let ((c (& (>> x 16) 127)))
                (cond ((= c 32) (set blanks (+ blanks 1)))
                      ((= c 9) (set blanks (+ blanks 1)))
                      ((= c 40) (set opens (+ opens 1)))
                      ((= c 10) (set blanks (+ blanks 1)))
                      ((= c 91) (set opens (+ opens 1)))
                      ((= c 13) (set blanks (+ blanks 1)))
                      ((and (>= c 48) (<= c 57)) (set digits (+ (* digits 3) c)))
                      ((= c 123) (set opens (+ opens 1)))
                      (else (set other (+ other 1))))))
            (+ (* blanks 1000000) (+ (* opens 10000) (+ (& digits 65535) (* other 7))))))
        """;

    private static long G(long c, long x) => c is 32 or 9 or 10 or 13 ? x + 1 : c is 40 or 41 or -5 or long.MaxValue ? x * 3 : x;

    private static long Calls(long c)
    {
        long counter = 0;
        counter += c switch { 1 or 2 or 4 => 3, 3 or 5 => 4, _ => 5 };
        counter += c switch { 4 or 5 or 6 => 1, 7 => 2, _ => 0 };
        return counter;
    }

    private static long Stores(long c)
    {
        long[] b = [1, 2, 3];
        if (c is 0 or 1 or 3) b[1] = b[0] + 7;
        else if (c is 2 or 4) b[2] = b[0] + 7;
        return b[1] * 100 + b[2];
    }

    /// <summary>What each function computes, written independently in C#.</summary>
    private static readonly Dictionary<string, Func<long, long>> Reference = new()
    {
        ["equal-arms"] = c => G(c, 1000),
        ["almost"] = c => c is 1 or 2 or 5 ? c + 5 : c is 3 or 4 ? c + 6 : c,
        ["nested"] = s =>
        {
            long k = s & 7, t = s >> 3;
            return t switch
            {
                0 => k switch { 0 => 10, 1 => k + 20, 2 => 30, _ => -k },
                1 => k switch { 3 => 40, 1 => 10, _ => 50 },
                2 => t + k,
                -1 => k == 7 ? k * 9 : 60,
                _ => k switch { 0 => 0, 1 => 1, 2 => 2, _ => 3 },
            };
        },
        ["calls"] = Calls,
        ["stores"] = Stores,
    };

    private static long Scan(long n)
    {
        long blanks = 0, opens = 0, digits = 0, other = 0, x = 1;
        for (long i = 0; i < n; i++)
        {
            x = unchecked(x * 1103515245 + 12345) & 2147483647;
            var c = (x >> 16) & 127;
            if (c is 32 or 9 or 10 or 13) blanks++;
            else if (c is 40 or 91 or 123) opens++;
            else if (c is >= 48 and <= 57) digits = unchecked(digits * 3 + c);
            else other++;
        }
        return unchecked(blanks * 1000000 + opens * 10000 + (digits & 65535) + other * 7);
    }

    private static readonly long[] Inputs =
    [
        .. Enumerable.Range(-20, 160).Select(i => (long)i), .. Samples, long.MaxValue - 1, long.MinValue + 32, 4294967328, -4294967264,
    ];

    private static readonly long[] ScanLengths = [0, 1, 7, 100, 5000];

    [TestMethod]
    public void EveryConditionalAgreesWithItsReferenceAtBothLevels() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Program, [
            .. Reference.SelectMany(r => Inputs.Select(c => (r.Key, new[] { c }, r.Value(c)))),
            .. new long[] { 0, -1, long.MaxValue, long.MinValue }.SelectMany(x => Inputs.Select(c => ("g", new[] { c, x }, G(c, x)))),
            .. ScanLengths.Select(n => ("scan", new[] { n }, Scan(n))),
        ]);

    [TestMethod]
    public void EqualArmsAreOneBlockAndDifferentOnesStay()
    {
        var module = Optimise(Program);
        var g = Function(module, "g");
        Assert.AreEqual(1, Instructions(g).Count(i => i.Op == Opcode.Add && i.Arguments[1] is { IsConstant: true, Constant: 1 }), IrPrinter.Print(g));
        Assert.AreEqual(1, Instructions(g).Count(i => i.Op == Opcode.Multiply), IrPrinter.Print(g));
        var scan = Function(module, "scan");
        // blanks, opens, other: one increment each (the loop counter's is the fourth).
        Assert.AreEqual(4, Instructions(scan).Count(i => i.Op == Opcode.Add && i.Arguments[1] is { IsConstant: true, Constant: 1 }), IrPrinter.Print(scan));
    }

    [TestMethod]
    public void ANestedCondsJoinsFlattenIntoOne()
    {
        // Lowered, each level of the nest has its own join of phis jumping to the next; after
        // SSA and control-flow simplification the arms reach one join.
        var function = RunPasses(Program, "nested", Ssa, Sccp, Copy, Dce, Cfg);
        Assert.IsFalse(function.Blocks.Any(b => b.Phis.Count > 0 && b.Instructions.Count == 0 && b.Terminator is Jump), IrPrinter.Print(function));
    }

    [TestMethod]
    public void EveryConditionalAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(Program, [
            .. Reference.SelectMany(r => Inputs.Select(c => new Arm64Case(r.Key, [c], r.Value(c)))),
            .. Inputs.Select(c => new Arm64Case("g", [c, -7], G(c, -7))),
            .. ScanLengths.Select(n => new Arm64Case("scan", [n], Scan(n))),
        ]);
}
