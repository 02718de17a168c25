using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class InliningTests
{
    [TestMethod]
    public void SmallCalleesAreInlinedAndFolded()
    {
        var module = Optimise("(define-function helper (x) (* x 2)) (define-function twice (x) (helper (helper x))) (define-function six () (helper 3))");
        Assert.IsFalse(Calls(Function(module, "twice"), "helper"));
        Assert.AreEqual(new Return(Operand.Of(6)), Function(module, "six").Blocks.Single().Terminator, "inlined, then folded");
    }

    [TestMethod]
    public void RecursiveFunctionsAreNotInlinedOutsideTheirCycle()
    {
        // (Inside it, see MutualRecursionTests: is-even takes is-odd in.)
        var module = Optimise("""
            (define-function is-even (n) (if (= n 0) 1 (is-odd (- n 1))))
            (define-function is-odd (n) (if (= n 0) 0 (is-even (- n 1))))
            (define-function fibs (n) (if (< n 2) 1 (+ 1 (+ (fibs (- n 1)) (fibs (- n 2))))))
            (define-function use () (+ (is-even 10) (fibs 5)))
            """);
        Assert.IsTrue(Calls(Function(module, "is-odd"), "is-even"));
        Assert.IsTrue(Calls(Function(module, "use"), "is-even"));
        Assert.IsTrue(Calls(Function(module, "use"), "fibs"));
    }

    [TestMethod]
    public void ASmallSelfRecursiveFunctionCarriesCopiesOfItselfWithinTheSizeCap()
    {
        const string source = """
            (define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
            (define-function trib (n) (if (< n 3) (+ n 1) (+ (+ 1 (trib (- n 3))) (+ (trib (- n 1)) (trib (- n 2))))))
            (define-function ack (m n) (if (= m 0) (+ n 1) (if (= n 0) (ack (- m 1) 1) (ack (- m 1) (ack m (- n 1))))))
            """;
        // The base case is tested in the body and in the copies of two levels or more, the last copies'
        // own calls remain, and the function stays within the cap however many calls it makes.
        var module = Optimise(source);
        foreach (var name in new[] { "fib", "trib", "ack" })
        {
            var function = Function(module, name);
            Assert.IsGreaterThanOrEqualTo(4, function.Blocks.Count(b => b.Terminator is Branch), IrPrinter.Print(function));
            Assert.IsTrue(Calls(function, name), IrPrinter.Print(function));
            Assert.IsLessThanOrEqualTo(Inlining.MaxSelfInlinedSize, Instructions(function).Count(), IrPrinter.Print(function));
        }
        AssertSameAtBothLevels(source, "fib", [0], [1], [2], [10], [20], [-3]);
        AssertSameAtBothLevels(source, "trib", [0], [3], [12], [18]);
        AssertSameAtBothLevels(source, "ack", [0, 0], [1, 3], [2, 3], [3, 3]);
    }

    [TestMethod]
    public void CalleesWithBranchesReturnsAndFrameBlocksInlineCorrectly()
    {
        const string source = """
            (define-function clamp (x lo hi) (if (< x lo) (return lo)) (if (> x hi) hi x))
            (define last 0)
            (define-function bump (x) (let ((y x)) (set last (address-of y)) (set-oop-at (address-of y) 0 (+ (oop-at (address-of y) 0) 1)) y))
            (define-function run (n) (let ((i 0) (s 0)) (while (< i n) (set s (+ s (clamp (bump i) 3 7))) (set i (+ i 1))) s))
            """;
        var run = Function(Optimise(source), "run");
        Assert.IsFalse(Calls(run, "clamp") || Calls(run, "bump"), IrPrinter.Print(run));
        Assert.AreEqual(1, run.Blocks[0].Instructions.Count(i => i.Op == Opcode.Alloca), "the callee's frame block moved to the caller's entry");
        AssertSameAtBothLevels(source, "run", [0], [1], [5], [20]);
    }

    [TestMethod]
    public void LargeCalleesAreNotInlined()
    {
        var body = string.Join(" ", Enumerable.Range(0, 60).Select(i => $"(set x (+ (* x {i + 3}) {i}))"));
        var module = Optimise($"(define-function big (x) {body} x) (define-function caller (x) (big x))");
        Assert.IsTrue(Calls(Function(module, "caller"), "big"));
    }
}
