using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Edges whose predecessor's test already decided the branch they enter go straight to its successor.</summary>
[TestClass]
public sealed class JumpThreadingTests
{
    // Own shapes: a word-array comparison that tests its bound again after the loop, a byte scan that tests
    // the byte its loop exit just compared, a sign kept in a variable and tested again, a loop entered after its own test.
    private const string Source = """
        (define calloc (extern 'calloc))
        (define free (extern 'free))
        (define-function first-diff (p q n)
          (let ((i 0))
            (while (and (< i n) (= (oop-at p i) (oop-at q i))) (set i (+ i 1)))
            (if (< i n) (if (< (oop-at p i) (oop-at q i)) (- -1 i) (+ 1 i)) 0)))
        (define-function compare (a k n)
          (let ((p (calloc (+ n 1) 8)) (q (calloc (+ n 1) 8)) (r 0))
            (for (j 0 n)
              (set-oop-at p j (* j a))
              (set-oop-at q j (if (= j k) (+ (* j a) 1) (* j a))))
            (set r (first-diff p q n))
            (free p)
            (free q)
            r))
        (define-function skip-to (s n key)
          (let ((i 0) (hits 0) (sum 0))
            (while (< i n)
              (let ((j i))
                (while (and (< j n) (!= (string-at s j) key)) (set j (+ j 1)))
                (if (= (string-at s j) key) (set hits (+ hits 1)))
                (set sum (+ sum (- j i)))
                (set i (+ j 1))))
            (+ (* hits 1000) sum)))
        (define-function scan (seed n key)
          (let ((s (calloc (+ n 1) 1)) (r 0))
            (for (k 0 n) (set-string-at s k (+ 97 (& (>> (* (+ k seed) 2654435761) 7) 3))))
            (set r (skip-to s n key))
            (free s)
            r))
        (define-function classify (a b)
          (let ((sign 0))
            (if (> a b) (set sign 1) (if (= a b) (set sign 0) (set sign -1)))
            (if sign (if (> sign 0) (- a b) (- b a)) 0)))
        (define-function spin (a n)
          (let ((i 0))
            (if (< a n) (while (< a n) (set a (+ a 1)) (set i (+ i 1))))
            i))
        """;

    private static long Compare(long a, long k, long n)
    {
        var p = new long[n + 1];
        var q = new long[n + 1];
        for (long j = 0; j < n; j++)
        {
            p[j] = unchecked(j * a);
            q[j] = j == k ? unchecked(j * a + 1) : unchecked(j * a);
        }
        long i = 0;
        while (i < n && p[i] == q[i]) i++;
        return i < n ? p[i] < q[i] ? -1 - i : 1 + i : 0;
    }

    private static long Scan(long seed, long n, long key)
    {
        var s = new byte[n + 1];
        for (long k = 0; k < n; k++) s[k] = (byte)(97 + ((unchecked((k + seed) * 2654435761) >> 7) & 3));
        long i = 0, hits = 0, sum = 0;
        while (i < n)
        {
            var j = i;
            while (j < n && s[j] != key) j++;
            if (s[j] == key) hits++;
            sum += j - i;
            i = j + 1;
        }
        return unchecked(hits * 1000 + sum);
    }

    private static long Classify(long a, long b) => a > b ? unchecked(a - b) : a == b ? 0 : unchecked(b - a);

    private static long Spin(long a, long n) => a < n ? n - a : 0;

    private static readonly long[] Values = [0, 1, -1, 7, -8, 1000, long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1];

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        foreach (var a in Values)
            foreach (var n in new long[] { 0, 1, 5, 40 })
                foreach (var k in new long[] { -1, 0, 3, n - 1, n, 100 })
                    yield return ("compare", [a, k, n], Compare(a, k, n));
        foreach (var seed in new long[] { 0, 1, -5, 12345, long.MaxValue, long.MinValue })
            foreach (var n in new long[] { 0, 1, 10, 100 })
                foreach (var key in new long[] { 97, 98, 100, 0, 353, -159 })
                    yield return ("scan", [seed, n, key], Scan(seed, n, key));
        foreach (var a in Values)
            foreach (var b in Values)
                yield return ("classify", [a, b], Classify(a, b));
        // A loop whose only entry the test before it decides: its header keeps that edge (threaded, the loop would be unreachable).
        for (long a = -3; a <= 5; a += 2)
            foreach (var n in new long[] { -4, 0, 1, 6 })
                yield return ("spin", [a, n], Spin(a, n));
    }

    /// <summary>The number of blocks that end in a branch to <paramref name="block"/>, or jump to it.</summary>
    private static int Entries(IrFunction function, BasicBlock block) =>
        function.Blocks.Sum(b => b.Terminator switch
        {
            Jump jump => jump.Target == block ? 1 : 0,
            Branch branch => (branch.IfTrue == block ? 1 : 0) + (branch.IfFalse == block ? 1 : 0),
            _ => 0,
        });

    [TestMethod]
    public void AnExitThatDecidedTheTestAfterTheLoopGoesStraightToItsArm()
    {
        foreach (var (name, op) in new[] { ("first-diff", Opcode.Less), ("skip-to", Opcode.Equal) })
        {
            var function = RunPasses(Source, name, Ssa, Sccp, Copy, SimplifyPass, Copy, Cfg);
            // The test after the loop: outside every loop in first-diff, the test after the inner loop in skip-to.
            BasicBlock After(IrFunction f) => f.Blocks.Single(b => b.Terminator is Branch { Condition.IsConstant: false } br
                && b.Instructions.Any(i => i.Destination == br.Condition.Register && i.Op == op)
                && (name == "first-diff" ? !InLoop(b) && !b.Instructions.Any(i => i.Op == Opcode.LoadWord) : b.Instructions.Any(i => i.Op == Opcode.LoadByte)));
            var before = Entries(function, After(function));
            JumpThreading.Run(function);
            IrVerifier.Verify(function, IrForm.Ssa);
            var text = IrPrinter.Print(function);
            Assert.AreEqual(before - 1, Entries(function, After(function)), $"{name}: one exit no longer enters the test\n{text}");
        }
    }

    [TestMethod]
    public void ThreadedProgramsGiveTheModelsResultsAtBothLevels() => AssertModelAtBothLevels(Source, Cases());

    [TestMethod]
    public void ThreadedProgramsGiveTheModelsResultsOnArm64() =>
        Arm64Batch.AssertCalls(Source, [.. Cases().Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected))]);

    private static readonly Opcode[] Comparisons =
    [
        Opcode.Equal, Opcode.NotEqual, Opcode.Less, Opcode.LessOrEqual, Opcode.Greater, Opcode.GreaterOrEqual,
        Opcode.Below, Opcode.BelowOrEqual, Opcode.Above, Opcode.AboveOrEqual,
    ];

    [TestMethod]
    public void WhatOneComparisonImpliesOfAnotherHoldsForEveryPairOfValues()
    {
        long[] values = [0, 1, -1, 2, -2, long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1];
        var decided = 0;
        foreach (var holds in Comparisons)
            foreach (var asked in Comparisons)
            {
                var implied = JumpThreading.Implies(holds, asked);
                if (implied is null) continue;
                decided++;
                foreach (var u in values)
                    foreach (var v in values)
                        if (holds.Evaluate(u, v) != 0)
                            Assert.AreEqual(implied.Value ? 1 : 0, asked.Evaluate(u, v), $"{holds}({u}, {v}) said {asked} is {implied}");
            }
        // Not vacuous: equality, its negation and each order decide their own kind.
        Assert.IsTrue(decided >= 40, $"{decided} pairs decided");
        Assert.IsNull(JumpThreading.Implies(Opcode.Less, Opcode.Below));
        Assert.AreEqual(false, JumpThreading.Implies(Opcode.Below, Opcode.Equal));
    }
}
