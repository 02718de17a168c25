using Maru.Compiler.Ir;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class DeadCodeEliminationTests
{
    private const string Source = """
        (define counter 0)
        (define-function effect (x) (set counter (+ counter x)) x)
        (define-function f (x) (let ((unused (* x 7)) (also (- x 1))) (effect x) (set-oop-at 0 0 0) x))
        """;

    [TestMethod]
    public void UnusedPureComputationsGoButCallsAndStoresStay()
    {
        var function = RunPasses(Source.Replace("(set-oop-at 0 0 0)", ""), "f", Ssa, Copy, Dce);
        Assert.IsFalse(Instructions(function).Any(i => i.Op is Opcode.Multiply or Opcode.Subtract), IrPrinter.Print(function));
        Assert.IsTrue(Calls(function, "effect"), "a call with an unused result still runs");
    }

    [TestMethod]
    public void StoresWithoutReadersStay()
    {
        var function = RunPasses("(define-function f (p) (let ((x 1)) (set-oop-at p 0 5) (set x 2) 0))", "f", Ssa, Copy, Dce);
        Assert.AreEqual(1, Instructions(function).Count(i => i.Op == Opcode.StoreWord));
        Assert.IsFalse(Instructions(function).Any(i => i.Op == Opcode.Copy));
    }

    [TestMethod]
    public void DeadLoopVariablesLoseTheirPhis()
    {
        // j is updated in the loop but never read afterwards: its phi and addition go.
        var function = RunPasses("(define-function f (n) (let ((i 0) (j 0)) (while (< i n) (set j (+ j 3)) (set i (+ i 1))) i))", "f", Ssa, Copy, Dce);
        Assert.AreEqual(1, function.Blocks.Sum(b => b.Phis.Count), IrPrinter.Print(function));
        Assert.AreEqual(1, Instructions(function).Count(i => i.Op == Opcode.Add));
    }
}
