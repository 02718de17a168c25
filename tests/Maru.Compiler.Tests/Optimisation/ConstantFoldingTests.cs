using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Conditional constant propagation and the IR's total semantics under folding.</summary>
[TestClass]
public sealed class ConstantFoldingTests
{
    [TestMethod]
    public void AConstantExpressionFoldsToItsValueInTheReturn()
    {
        var function = RunPasses("(define-function k () (+ 2 3))", "k", Ssa, Sccp);
        Assert.AreEqual(new Return(Operand.Of(5)), function.Blocks.Single().Terminator);
        Assert.AreEqual(0, function.Blocks.Single().Instructions.Count);
    }

    [TestMethod]
    public void ConstantsPropagateThroughVariablesAndDecideBranches()
    {
        var function = RunPasses("(define-function k () (let ((x 4) (y 0)) (if (< x 10) (set y (* x x)) (set y 1)) (+ y 1)))", "k", Ssa, Sccp);
        Assert.AreEqual(new Return(Operand.Of(17)), function.Blocks.Single(b => b.Terminator is Return).Terminator);
        Assert.IsFalse(function.Blocks.Any(b => b.Terminator is Branch), "the branch was decided");
    }

    [TestMethod]
    public void ConstantsSurviveLoopsThatDoNotChangeThem()
    {
        // x is 1 on entry and set to 1 in the loop: the phi meets only 1s (optimistic propagation).
        var function = RunPasses("(define-function k (n) (let ((x 1) (i 0)) (while (< i n) (set x (* x 1)) (set i (+ i 1))) x))", "k", Ssa, Sccp);
        Assert.AreEqual(new Return(Operand.Of(1)), function.Blocks.Single(b => b.Terminator is Return).Terminator);
    }

    [TestMethod]
    public void ConstantsSurviveThirtyLoopsInARowEachExitFoundOnlyAfterTheOneBefore()
    {
        // Each loop's exit is found executable only once its counter is seen to vary, a round after the
        // loop before it was left: the rounds visit only what changed, and must still reach the end.
        var loops = string.Concat(Enumerable.Repeat("(set i 0) (while (< i 4) (set x (* x 1)) (set i (+ i 1))) ", 30));
        var function = RunPasses($"(define-function k () (let ((x 1) (i 0)) {loops}x))", "k", Ssa, Sccp);
        Assert.AreEqual(new Return(Operand.Of(1)), function.Blocks.Single(b => b.Terminator is Return).Terminator);
    }

    [TestMethod]
    public void FortyLoopsInARowWithFlagsComputeWhatTheyDid()
    {
        const int units = 40;
        var body = string.Concat(Enumerable.Range(0, units).Select(u =>
            $"(set i 0) (while (< i 3) (set s (+ (+ s (* i n)) {u})) (set i (+ i 1))) (if (< s n) (set f 1) (set f 0)) (if f (set s (+ s 1))) "));
        var source = $"(define-function k (n) (let ((s 0) (f 0) (i 0)) {body}s))";
        static long Model(long n)
        {
            unchecked
            {
                long s = 0;
                for (var u = 0; u < units; u++)
                {
                    for (long i = 0; i < 3; i++) s = s + i * n + u;
                    if (s < n) s++;
                }
                return s;
            }
        }
        AssertModelAtBothLevels(source, Samples.Select(n => ("k", new[] { n }, Model(n))));
    }

    [TestMethod]
    public void CodeBehindAConstantFalseConditionDisappears()
    {
        var module = Optimise("(define-function g (x) x) (define-function k (x) (if (> 1 2) (g x) (+ x 1)))");
        var k = Function(module, "k");
        Assert.IsFalse(Calls(k, "g"));
        Assert.AreEqual(1, k.Blocks.Count);
    }

    [TestMethod]
    [DataRow("(/ 42 0)")]
    [DataRow("(% 42 0)")]
    [DataRow("(/ -9223372036854775808 -1)")]
    [DataRow("(% -9223372036854775808 -1)")]
    [DataRow("(/ -7 2)")]
    [DataRow("(% -7 2)")]
    [DataRow("(<< 1 64)")]
    [DataRow("(<< 1 65)")]
    [DataRow("(<< 1 -1)")]
    [DataRow("(>> -16 64)")]
    [DataRow("(>> -16 65)")]
    [DataRow("(>> -9223372036854775808 -1)")]
    [DataRow("(< -9223372036854775808 9223372036854775807)")]
    [DataRow("(> -9223372036854775808 9223372036854775807)")]
    [DataRow("(<= 9223372036854775807 -9223372036854775808)")]
    [DataRow("(>= -9223372036854775808 -9223372036854775808)")]
    [DataRow("(= (- -9223372036854775808 1) 9223372036854775807)")]
    [DataRow("(- -9223372036854775808)")]
    [DataRow("(* 9223372036854775807 2)")]
    public void FoldedEdgeCasesMatchTheUnoptimisedCode(string expression)
    {
        var results = AssertSameAtBothLevels($"(define-function f () {expression})", "f", Array.Empty<long>());
        var folded = Function(Optimise($"(define-function f () {expression})"), "f");
        Assert.IsTrue(folded.Blocks.Single().Terminator is Return { Value.IsConstant: true }, IrPrinter.Print(folded));
        Assert.AreEqual(((Return)folded.Blocks.Single().Terminator!).Value.Constant, results[0]);
    }

    [TestMethod]
    public void FoldingAgreesWithOpcodeFactsForEveryOperatorAndSample()
    {
        string[] operators = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", "=", "!=", ">=", ">"];
        long[] values = [0, 1, -1, 2, 63, 64, 65, -64, long.MaxValue, long.MinValue];
        var source = string.Join("\n", operators.SelectMany((op, i) => values.SelectMany((a, j) => values.Select((b, k) =>
            $"(define-function f{i}_{j}_{k} () ({op} {a} {b}))"))));
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        using var o0 = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        for (var i = 0; i < operators.Length; i++)
            for (var j = 0; j < values.Length; j++)
                for (var k = 0; k < values.Length; k++)
                    Assert.AreEqual(o0.Call($"f{i}_{j}_{k}"), o1.Call($"f{i}_{j}_{k}"), $"({operators[i]} {values[j]} {values[k]})");
    }
}
