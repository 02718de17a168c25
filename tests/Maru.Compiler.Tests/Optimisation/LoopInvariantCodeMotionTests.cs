using Maru.Compiler.Ir;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class LoopInvariantCodeMotionTests
{
    private const string Source = """
        (define-function loop (p n k)
          (let ((i 0) (s 0))
            (while (< i n)
              (set s (+ s (+ (* k 3) (oop-at p 0))))
              (set i (+ i 1)))
            s))
        """;

    [TestMethod]
    public void AnInvariantMultiplyMovesToThePreheader()
    {
        var function = Function(Optimise(Source), "loop");
        var multiply = BlockOf(function, i => i.Op == Opcode.Multiply);
        Assert.IsFalse(InLoop(multiply), IrPrinter.Print(function));
    }

    [TestMethod]
    public void LoadsStayInTheLoop()
    {
        var function = Function(Optimise(Source), "loop");
        Assert.IsTrue(InLoop(BlockOf(function, i => i.Op == Opcode.LoadWord)), IrPrinter.Print(function));
    }

    [TestMethod]
    public void NestedLoopsHoistToTheOutermostLegalPlace()
    {
        const string source = """
            (define-function grid (n k)
              (let ((i 0) (s 0))
                (while (< i n)
                  (let ((j 0))
                    (while (< j n)
                      (set s (+ s (+ (* k k) (* i 5))))
                      (set j (+ j 1))))
                  (set i (+ i 1)))
                s))
            """;
        var function = Function(Optimise(source), "grid");
        var kk = BlockOf(function, i => i.Op == Opcode.Multiply && !i.Arguments[1].IsConstant);
        Assert.IsFalse(InLoop(kk), "k*k leaves both loops\n" + IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "grid", [0, 3], [4, 3], [10, -7]);
    }

    [TestMethod]
    public void HoistingIntoLoopsThatRunZeroTimesIsHarmless() =>
        AssertSameAtBothLevels(Source.Replace("(oop-at p 0)", "(/ 100 k)"), "loop", [0, 0, 0], [0, 5, 0], [0, 5, 7], [0, 0, 7]);
}
