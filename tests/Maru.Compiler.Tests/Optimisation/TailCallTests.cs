using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class TailCallTests
{
    private const string Sum = "(define-function sum (n acc) (if (= n 0) acc (sum (- n 1) (+ acc n))))";

    [TestMethod]
    public void ASelfTailCallBecomesALoop()
    {
        var sum = Function(Optimise(Sum), "sum");
        Assert.IsFalse(Calls(sum, "sum"), IrPrinter.Print(sum));
        Assert.IsTrue(sum.Blocks.Any(InLoop));
    }

    [TestMethod]
    public void TailRecursionToTenMillionRunsInConstantStack()
    {
        using var library = CompiledLibrary.Compile(Sum, OptimisationLevel.O1);
        // On the test's own thread: at O0 this depth would need ~0.5 GB of stack.
        Assert.AreEqual(10_000_000L * 10_000_001 / 2, library.Call("sum", 10_000_000, 0));
    }

    [TestMethod]
    public void TailCallsThroughNestedIfsAndReturnAndSwappedArguments()
    {
        const string source = """
            (define-function gcd (a b) (if (= b 0) a (gcd b (% a b))))
            (define-function count (n k) (if (> n 100) (return k)) (if (= (% n 2) 0) (count (+ n 3) (+ k 1)) (if (= n 7) 77 (count (+ n 1) k))))
            (define-function swap (a b n) (if (= n 0) (- a b) (swap b a (- n 1))))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "gcd", "count", "swap" })
            Assert.IsFalse(Calls(Function(module, name), name), IrPrinter.Print(Function(module, name)));
        AssertSameAtBothLevels(source, "gcd", [48, 18], [17, 5], [0, 9], [-48, 18]);
        AssertSameAtBothLevels(source, "count", [0, 0], [6, 0], [1, 5], [200, 3]);
        AssertSameAtBothLevels(source, "swap", [10, 3, 0], [10, 3, 1], [10, 3, 7], [10, 3, 8]);
    }

    [TestMethod]
    public void CallsNotInTailPositionStay()
    {
        var depth = Function(Optimise("(define-function depth (n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))"), "depth");
        Assert.IsTrue(Calls(depth, "depth"));
    }

    [TestMethod]
    public void FunctionsWithAddressTakenLocalsKeepTheirCalls()
    {
        const string source = "(define-function f (n p) (let ((x n)) (if (= n 0) (if p (oop-at p 0) 0) (f (- n 1) (address-of x)))))";
        Assert.IsTrue(Calls(Function(Optimise(source), "f"), "f"));
        AssertSameAtBothLevels(source, "f", [0, 0], [1, 0], [5, 0]);
    }
}
