using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Values a branch decides on its edges (<see cref="BranchFacts"/>): the IR effect (what became a
/// constant, what must not) and, for every case, the compiled code executed at O0 and O1 with the
/// same results over sample arguments.
/// </summary>
[TestClass]
public sealed class BranchFactsTests
{
    private static readonly (Action<IrFunction>, IrForm) Facts = (BranchFacts.Run, IrForm.Ssa);
    private static readonly (Action<IrFunction>, IrForm) Gvn = (GlobalValueNumbering.Run, IrForm.Ssa);

    /// <summary>The pipeline's passes up to the facts (a repeated test is one value after gvn).</summary>
    private static IrFunction UpToFacts(string source, string name) => RunPasses(source, name, Ssa, Sccp, Copy, SimplifyPass, Copy, Gvn, Copy, Facts);

    /// <summary>The same, then the folding and clean-up after them.</summary>
    private static IrFunction Folded(string source, string name) => RunPasses(source, name, Ssa, Sccp, Copy, SimplifyPass, Copy, Gvn, Copy, Facts, SimplifyPass, Copy, Dce);

    private static long[][] Pairs => [.. from a in Samples from b in new long[] { 0, 1, 2, 5, -1, long.MinValue } select new[] { a, b }];

    private static long[][] Singles => [.. Samples.Select(a => new[] { a })];

    [TestMethod]
    public void AnAndValueIsAConstantOnThePathsThatDecidedIt()
    {
        // On the edges out of the and, its value is obj's test (0) or the not of the tag test (0
        // where the tag bit is set), and the not is only a branch: on x directly.
        const string source = "(define-function f (obj) (and obj (not (& 1 obj)) (+ obj 1)))";
        var function = Folded(source, "f");
        Assert.IsFalse(Instructions(function).Any(i => i.Op == Opcode.LogicalNot), IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "f", Singles);
    }

    [TestMethod]
    public void AnEqualityTestMakesTheValueItsConstantWhereItHeld()
    {
        const string source = "(define-function f (x y) (if (= x 5) (* x y) (if (!= 7 x) (- x y) (+ x y))))";
        var function = UpToFacts(source, "f");
        Assert.IsTrue(Instructions(function).Single(i => i.Op == Opcode.Multiply).Arguments[0] is { IsConstant: true, Constant: 5 }, IrPrinter.Print(function));
        Assert.IsTrue(Instructions(function).Single(i => i.Op == Opcode.Add).Arguments[0] is { IsConstant: true, Constant: 7 }, IrPrinter.Print(function));
        Assert.IsFalse(Instructions(function).Single(i => i.Op == Opcode.Subtract).Arguments[0].IsConstant, IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "f", [[5, 3], [7, 3], [6, 3], [5, long.MaxValue], [7, long.MinValue], [-5, 2]]);
    }

    [TestMethod]
    public void AJoinReachedFromBothSidesKnowsNothing()
    {
        const string source = "(define-function f (x) (let ((y 0)) (if (= x 5) (set y 1)) (+ x y)))";
        var function = UpToFacts(source, "f");
        Assert.IsFalse(Instructions(function).Single(i => i.Op == Opcode.Add).Arguments.Any(a => a.IsConstant), IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "f", Singles);
    }

    [TestMethod]
    public void AnOrValueBecomesConstantOnEveryEdgeIntoItsJoin()
    {
        const string source = "(define-function f (a b) (+ 10 (or (= a 1) (= b 2) 7)))";
        var function = Folded(source, "f");
        foreach (var phi in function.Blocks.SelectMany(b => b.Phis))
            Assert.IsTrue(phi.Inputs.All(input => input.Value.IsConstant), IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "f", Pairs);
    }

    [TestMethod]
    public void ATestedValueKeepsItsValueWhereOnlyNonzeroIsKnown()
    {
        // (& x 4) is nonzero but not known on the then side: it stays the result; (not c) there is 0.
        const string source = """
            (define-function f (x) (let ((c (& x 4))) (if c (+ c (not c)) (- 3 (not c)))))
            (define-function g (x) (if (< x 3) (+ 40 (< x 3)) (* 10 (< x 3))))
            """;
        AssertSameAtBothLevels(source, "f", Singles);
        AssertSameAtBothLevels(source, "g", Singles);
        var g = Folded(source, "g");
        Assert.AreEqual(1, Instructions(g).Count(i => i.Op == Opcode.Less), IrPrinter.Print(g));
        Assert.IsFalse(Instructions(g).Any(i => i.Op is Opcode.Add or Opcode.Multiply), IrPrinter.Print(g));
    }

    [TestMethod]
    public void FactsLearnedInsideALoopHoldOnlyInTheirIteration()
    {
        const string source = """
            (define-function f (n)
              (let ((i 0) (s 0))
                (while (< i n)
                  (let ((t (& i 3)))
                    (if (= t 2) (set s (+ s (* t 100))) (set s (+ s t))))
                  (set i (+ i 1)))
                s))
            """;
        var results = AssertSameAtBothLevels(source, "f", [0], [1], [3], [4], [10], [1000]);
        // 0..9: t = 0 1 2 3 0 1 2 3 0 1 -> 0+1+200+3+0+1+200+3+0+1
        Assert.AreEqual(409, results[4]);
    }
}
