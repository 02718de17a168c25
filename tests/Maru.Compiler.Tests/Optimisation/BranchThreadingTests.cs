using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Branches of and/or joins: on the compared value itself, and not again on a value an edge already decided.</summary>
[TestClass]
public sealed class BranchThreadingTests
{
    private const string Source = """
        (define-function probe (p key mask start)
          (let ((slot start))
            (while (and (oop-at p slot) (!= (oop-at p slot) key))
              (set slot (& (+ slot 1) mask)))
            slot))
        (define-function any (a b c) (if (or (< a b) (= b c)) (+ a 1) (- c 1)))
        (define-function all (a b c) (let ((n 0)) (while (and (< n a) (or (< n b) (> n c))) (set n (+ n 1))) n))
        (define-function kept (a b) (let ((t (and a b))) (if t (+ t 100) 7)))
        (define-function test-probe (key start)
          (let ((p (malloc 64)) (r 0))
            (for (k 0 8) (set-oop-at p k (if (= k 5) 0 (* k 10))))
            (set r (probe p key 7 start))
            (free p)
            r))
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        """;

    [TestMethod]
    public void BranchesTestTheComparisonNotACopyOfIt()
    {
        var module = Optimise(Source);
        foreach (var name in new[] { "probe", "any", "all" })
        {
            var function = Function(module, name);
            foreach (var block in function.Blocks)
                if (block.Terminator is Branch { Condition.IsConstant: false } branch)
                    Assert.IsFalse(block.Instructions.Any(i => i.Op == Opcode.Copy && i.Destination == branch.Condition.Register),
                        $"{block.Name} branches on a copy\n{IrPrinter.Print(function)}");
        }
    }

    [TestMethod]
    public void AValueTestedOnTheWayInIsNotTestedAgain()
    {
        var probe = Function(Optimise(Source), "probe");
        var loads = Instructions(probe).Where(i => i.Op == Opcode.LoadWord).Select(i => i.Destination).ToHashSet();
        foreach (var block in probe.Blocks)
        {
            if (block.Terminator is not Branch { Condition.IsConstant: false } branch || !loads.Contains(branch.Condition.Register)) continue;
            // A branch on a loaded slot must sit where that slot was just loaded, not in a block that only re-tests it.
            Assert.IsTrue(block.Instructions.Any(i => i.Destination == branch.Condition.Register), $"{block.Name} re-tests\n{IrPrinter.Print(probe)}");
        }
    }

    [TestMethod]
    public void AndOrJoinsComputeTheSame()
    {
        long[] values = [-2, -1, 0, 1, 2, 5, long.MinValue, long.MaxValue];
        AssertSameAtBothLevels(Source, "any", [.. from a in values from b in values from c in new long[] { -1, 0, 2 } select new[] { a, b, c }]);
        AssertSameAtBothLevels(Source, "all", [.. from a in new long[] { -1, 0, 3, 10 } from b in new long[] { 0, 2, 5 } from c in new long[] { -1, 4, 20 } select new[] { a, b, c }]);
        AssertSameAtBothLevels(Source, "kept", [.. from a in values from b in values select new[] { a, b }]);
        AssertSameAtBothLevels(Source, "test-probe", [.. from key in new long[] { 0, 10, 30, 70, 99 } from start in Enumerable.Range(0, 8) select new[] { key, (long)start }]);
    }

    private const string ThreeWay = """
        (define-function compare (a b)
          (let ((i 0) (r 0) (going 1))
            (while going
              (let ((x (string-at a i)) (y (string-at b i)))
                (cond
                  ((< x y) (set r -1) (set going 0))
                  ((> x y) (set r 1) (set going 0))
                  ((= x 0) (set going 0))
                  (else (set i (+ i 1))))))
            r))
        (define-function sign (x) (cond ((< x 0) -1) ((> x 0) 1) (else 0)))
        (define-function after (a b) (if (> (compare a b) 0) 100 (if (< (compare a b) 0) 200 300)))
        (define-function count-signs (n k)
          (let ((s 0) (i (- 0 n)))
            (while (< i n)
              (when (>= (sign (* i k)) 0) (set s (+ s 1)))
              (when (= (sign (- i 3)) -1) (set s (+ s 1000)))
              (set i (+ i 1)))
            s))
        (define-function strings (which)
          (cond ((= which 0) "abc") ((= which 1) "abd") ((= which 2) "ab") (else "")))
        (define-function run (i j) (after (strings i) (strings j)))
        """;

    [TestMethod]
    public void AComparisonOfAConstantTheBlockCopiedIsDecidedWhereTheConstantIsSet()
    {
        // Inlined three-way results (-1, 0, 1) tested by the caller: no block compares a constant it just copied.
        var module = Optimise(ThreeWay);
        foreach (var name in new[] { "after", "count-signs" })
        {
            var function = Function(module, name);
            foreach (var block in function.Blocks)
                if (block.Terminator is Branch { Condition.IsConstant: false } branch
                    && block.Instructions.FindLastIndex(i => i.Destination == branch.Condition.Register) is var at and >= 0
                    && block.Instructions[at] is { Arguments: [{ IsConstant: false } left, _] } compare && compare.Op.IsComparison())
                    Assert.IsFalse(block.Instructions.Take(at).LastOrDefault(i => i.Destination == left.Register) is { Op: Opcode.Copy, Arguments: [{ IsConstant: true }] },
                        $"{block.Name} compares a constant it copied\n{IrPrinter.Print(function)}");
        }
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        string[] texts = ["abc", "abd", "ab", ""];
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 4; j++)
            {
                var c = string.CompareOrdinal(texts[i], texts[j]);
                cases.Add(("run", [i, j], c > 0 ? 100 : c < 0 ? 200 : 300));
            }
        foreach (var (n, k) in new (long, long)[] { (0, 1), (5, 1), (5, -1), (7, 0), (20, long.MinValue), (9, long.MaxValue) })
        {
            long s = 0;
            for (var i = -n; i < n; i++)
            {
                if (Math.Sign(unchecked(i * k)) >= 0) s++;
                if (i - 3 < 0) s += 1000;
            }
            cases.Add(("count-signs", [n, k], s));
        }
        CompiledLibrary.AssertCallsAtO0AndO1(ThreeWay, cases);
        Arm64Batch.AssertCalls(ThreeWay, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }
}
