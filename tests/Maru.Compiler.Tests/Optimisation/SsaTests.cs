using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Into SSA (pruned phis, renaming) and out again (critical edges, parallel copies).</summary>
[TestClass]
public sealed class SsaTests
{
    private const string FibIter = "(define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))";

    [TestMethod]
    public void LoopVariablesGetPhisAtTheLoopHeader()
    {
        var function = RunPasses(FibIter, "fib-iter", Ssa);
        var header = function.Blocks.Single(b => b.Phis.Count > 0);
        Assert.IsTrue(InLoop(header));
        // n, a and b; t is assigned once per iteration and needs none; neither do the if/and temporaries.
        Assert.AreEqual(3, header.Phis.Count, Maru.Compiler.Ir.IrPrinter.Print(function));
    }

    [TestMethod]
    public void PhisArePrunedWhereTheVariableIsDead()
    {
        var function = RunPasses("(define-function f (c) (let ((x 0)) (if c (set x 1) (set x 2)) 5))", "f", Ssa);
        Assert.AreEqual(0, function.Blocks.Sum(b => b.Phis.Count), "x is never read after the if");
        var live = RunPasses("(define-function f (c) (let ((x 0)) (if c (set x 1) (set x 2)) x))", "f", Ssa);
        Assert.IsTrue(live.Blocks.Sum(b => b.Phis.Count) >= 1);
    }

    [TestMethod]
    public void EveryRegisterHasOneDefinitionAfterConstruction()
    {
        var function = RunPasses(FibIter, "fib-iter", Ssa);
        var destinations = function.Blocks.SelectMany(b => b.Phis.Select(p => p.Destination)
            .Concat(b.Instructions.Where(i => i.Destination.HasValue).Select(i => i.Destination!.Value))).ToList();
        Assert.AreEqual(destinations.Count, destinations.Distinct().Count());
        Assert.IsFalse(destinations.Contains(function.Parameter(0)), "the parameter's later assignments were renamed");
    }

    [TestMethod]
    public void DestructionLeavesNoPhis()
    {
        var function = RunPasses(FibIter, "fib-iter", Ssa, Sccp, Copy, Dce, Cfg, Licm, SsaOut);
        Assert.IsTrue(function.Blocks.All(b => b.Phis.Count == 0));
        IrVerifier.Verify(function, IrForm.Final);
    }

    [TestMethod]
    public void SwappedLoopVariablesSurviveDestruction()
    {
        // After copy propagation the header holds a = phi(1, b), b = phi(2, a): a parallel swap.
        const string source = "(define-function f (n) (let ((a 1) (b 2) (i 0)) (while (< i n) (let ((t a)) (set a b) (set b t)) (set i (+ i 1))) (- (* a 10) b)))";
        var results = AssertSameAtBothLevels(source, "f", [0], [1], [2], [3], [10], [11]);
        CollectionAssert.AreEqual(new long[] { 8, 19, 8, 19, 8, 19 }, results);
    }

    [TestMethod]
    public void ValuesLiveOutOfALoopSurviveTheBackEdgeCopies()
    {
        // The "lost copy" shape: the old value of x is used after the loop that updates it.
        const string source = "(define-function f (n) (let ((x 0) (y 0)) (while (< x n) (set y x) (set x (+ x 1))) (+ (* 100 y) x)))";
        AssertSameAtBothLevels(source, "f", [0], [1], [5], [-3]);
    }

    [TestMethod]
    public void ThreeWayRotationInALoop()
    {
        const string source = "(define-function f (n) (let ((a 1) (b 2) (c 3) (i 0)) (while (< i n) (let ((t a)) (set a b) (set b c) (set c t)) (set i (+ i 1))) (+ (* a 100) (+ (* b 10) c))))";
        var results = AssertSameAtBothLevels(source, "f", [0], [1], [2], [3], [4]);
        CollectionAssert.AreEqual(new long[] { 123, 231, 312, 123, 231 }, results);
    }
}
