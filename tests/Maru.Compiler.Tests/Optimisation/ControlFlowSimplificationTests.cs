using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
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

    /// <summary>
    /// A bare return (no instructions, no phis) goes into the blocks that jump to it, and a return only
    /// branched to stays: the pass's prescan for blocks to bypass must see the first kind and may skip
    /// the second (a block ending in a branch cannot take a return's place).
    /// </summary>
    [TestMethod]
    public void ABareReturnGoesIntoTheBlocksJumpingToItAndStaysForBranches()
    {
        // entry: br x then exit;  then: y = x + 7; jmp exit;  exit: ret x
        var function = new IrFunction("bare", 1, SourceLocation.None);
        var entry = function.NewBlock();
        var then = function.NewBlock();
        var exit = function.NewBlock();
        var y = function.NewRegister();
        entry.Terminator = new Branch(function.Parameter(0), then, exit);
        then.Instructions.Add(new Instruction(Opcode.Add, y, [function.Parameter(0), Operand.Of(7)], null, SourceLocation.None));
        then.Terminator = new Jump(exit);
        exit.Terminator = new Return(function.Parameter(0));
        SimplifyControlFlow.Run(function);
        Assert.AreEqual(new Return(function.Parameter(0)), then.Terminator, IrPrinter.Print(function));
        CollectionAssert.AreEqual(new[] { entry, then, exit }, function.Blocks, IrPrinter.Print(function));

        // Only branched to (twice, by different blocks): nothing to bypass, nothing changes.
        var only = new IrFunction("branched", 2, SourceLocation.None);
        var first = only.NewBlock();
        var second = only.NewBlock();
        var body = only.NewBlock();
        var end = only.NewBlock();
        first.Terminator = new Branch(only.Parameter(0), second, end);
        second.Terminator = new Branch(only.Parameter(1), body, end);
        body.Instructions.Add(new Instruction(Opcode.Add, only.NewRegister(), [only.Parameter(0), only.Parameter(1)], null, SourceLocation.None));
        body.Terminator = new Return(Operand.Of(1));
        end.Terminator = new Return(Operand.Of(0));
        var before = IrPrinter.Print(only);
        SimplifyControlFlow.Run(only);
        Assert.AreEqual(before, IrPrinter.Print(only));
    }
}
