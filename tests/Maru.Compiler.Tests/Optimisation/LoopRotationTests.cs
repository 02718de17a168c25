using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Loops test at the bottom (the header copied into preheader and latch), and blocks fall through in chains.</summary>
[TestClass]
public sealed class LoopRotationTests
{
    private const string Sum = "(define-function sum (n) (let ((i 0) (s 0)) (while (< i n) (set s (+ s i)) (set i (+ i 1))) s))";

    [TestMethod]
    public void AWhileLoopBecomesAGuardAndABottomTest()
    {
        var sum = Function(Optimise(Sum, unroll: false), "sum");
        var text = IrPrinter.Print(sum);
        Assert.IsFalse(sum.Blocks.Any(b => b.Terminator is Jump), text);
        Assert.AreEqual(2, sum.Blocks.Count(b => b.Terminator is Branch), text);
        var body = sum.Blocks.Single(b => b.Successors.Contains(b));
        Assert.IsTrue(body.Instructions[^1].Op.IsComparison() && body.Instructions[^1].Destination == ((Branch)body.Terminator!).Condition.Register, text);
        // The body follows the guard, the exit follows the body: both branches fall through when not taken.
        Assert.AreEqual(1, sum.Blocks.IndexOf(body), text);
        Assert.IsInstanceOfType<Return>(sum.Blocks[2].Terminator, text);
        AssertSameAtBothLevels(Sum, "sum", [0], [1], [2], [100], [-5], [long.MinValue]);
    }

    [TestMethod]
    public void EachCopyOfTheTestGetsItsOwnRegister()
    {
        var sum = Function(Optimise(Sum, unroll: false), "sum");
        var comparisons = Instructions(sum).Where(i => i.Op.IsComparison()).ToArray();
        Assert.AreEqual(2, comparisons.Length, IrPrinter.Print(sum));
        Assert.AreNotEqual(comparisons[0].Destination, comparisons[1].Destination, IrPrinter.Print(sum));
    }

    [TestMethod]
    public void HeadersWithCallsOrStoresAreNotCopied()
    {
        const string source = """
            (define counter 0)
            (define-function bump (i) (set counter (+ counter 1)) (* i i))
            (define-function calls (n) (let ((i 0)) (while (< (bump i) n) (set i (+ i 1))) (+ (* i 1000) counter)))
            """;
        var module = Optimise(source);
        var calls = Function(module, "calls");
        Assert.AreEqual(1, Instructions(calls).Count(i => i.Op == Opcode.StoreGlobal), IrPrinter.Print(calls));
        AssertSameAtBothLevels(source, "calls", [0], [1], [50], [-1]);
    }

    [TestMethod]
    public void LoopsOfEveryShapeComputeTheSame()
    {
        const string source = """
            (define-function nested (n m) (let ((i 0) (s 0)) (while (< i n) (let ((j i)) (while (< j m) (set s (+ (* s 3) j)) (set j (+ j 1)))) (set i (+ i 1))) s))
            (define-function both (p n) (let ((i 0)) (while (and (< i n) (!= (oop-at p i) 0)) (set i (+ i 1))) i))
            (define-function either (n) (let ((i 0) (k 0)) (while (or (< i n) (< k 3)) (set i (+ i 1)) (set k (+ k 1))) (+ (* i 100) k)))
            (define-function early (n) (let ((i 0)) (while (< i n) (if (= (* i i) 49) (return (- 0 i))) (set i (+ i 1))) i))
            (define-function count-down (n) (let ((s 0)) (while n (set s (+ s n)) (set n (- n 1))) s))
            (define-function flags (n) (let ((i 0) (c 0)) (while (< i n) (if (& i 1) (set c (+ c i)) (set c (- c 1))) (set i (+ i 1))) c))
            (define-function test-both (n) (let ((p (malloc 80)) (r 0)) (for (k 0 10) (set-oop-at p k (if (= k 6) 0 1))) (set r (both p n)) (free p) r))
            (define malloc (extern 'malloc))
            (define free (extern 'free))
            """;
        AssertSameAtBothLevels(source, "nested", [0, 0], [3, 5], [5, 3], [10, 12], [-1, 4]);
        AssertSameAtBothLevels(source, "either", [0], [2], [10], [-3]);
        AssertSameAtBothLevels(source, "early", [0], [5], [7], [8], [100]);
        AssertSameAtBothLevels(source, "count-down", [0], [1], [10], [1000]);
        AssertSameAtBothLevels(source, "flags", [0], [1], [2], [17], [-4]);
        AssertSameAtBothLevels(source, "test-both", [0], [3], [6], [7], [10]);
    }

    [TestMethod]
    public void RotationAloneKeepsPlainFormAndEveryPathRunsOneCopy()
    {
        var function = RunPasses(Sum, "sum", Ssa, Copy, Dce, Cfg, SsaOut, (SimplifyControlFlow.Run, IrForm.Plain),
            (LoopRotation.Run, IrForm.Plain), (BlockLayout.Run, IrForm.Plain));
        Assert.AreEqual(0, function.Blocks.Count(b => b.Terminator is Jump), IrPrinter.Print(function));
        Assert.AreEqual(0, function.Blocks[0].Successors.Count(s => s == function.Blocks[0]));
    }
}
