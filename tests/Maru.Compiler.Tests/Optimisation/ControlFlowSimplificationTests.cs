using Maru.Compiler.Ir;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class ControlFlowSimplificationTests
{
    [TestMethod]
    public void StraightLineCodeEndsUpInOneBlock()
    {
        var function = Function(Optimise("(define-function f (x) (let ((a (+ x 1))) (let ((b (* a 3))) (and 1 (+ a b)))))"), "f");
        Assert.AreEqual(1, function.Blocks.Count, IrPrinter.Print(function));
    }

    [TestMethod]
    public void NoBlockOnlyJumpsAfterOptimisation()
    {
        var module = Optimise("""
            (define-function f (x y) (if (and (> x 0) (or (< y 0) (= y 5))) (if x 1 2) (if y 3 4)))
            (define-function g (n) (let ((i 0)) (while (< i n) (if (= i 3) (set i (+ i 2)) (set i (+ i 1)))) i))
            """);
        foreach (var function in module.Functions)
            foreach (var block in function.Blocks.Skip(1))
                Assert.IsFalse(block.Instructions.Count == 0 && block.Terminator is Jump { Target: var t } && t != block,
                    $"{block.Name} of {function.Name} only jumps\n{IrPrinter.Print(function)}");
    }

    [TestMethod]
    public void ShortCircuitsStillShortCircuit()
    {
        const string source = """
            (define counter 0)
            (define-function tick (v) (set counter (+ counter 1)) v)
            (define-function f (x y) (set counter 0) (if (and (tick x) (or (tick y) (tick 0))) (+ 100 counter) counter))
            """;
        AssertSameAtBothLevels(source, "f", [0, 0], [1, 0], [0, 1], [1, 1]);
    }

    [TestMethod]
    public void InfiniteLoopsWithEarlyReturnsKeepWorking()
    {
        const string source = "(define-function f (k) (let ((i 0)) (while 1 (if (= i k) (return (* i 2))) (set i (+ i 1)))))";
        AssertSameAtBothLevels(source, "f", [0], [1], [9]);
    }
}
