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
        var function = Function(Optimise(Source, unroll: false), "loop");
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

    private const string WideConstants = """
        (define-function lcg (x n)
          (let ((i 0))
            (while (< i n)
              (set x (+ (* x 6364136223846793005) 1442695040888963407))
              (set i (+ i 1)))
            x))
        (define-function masks (n)
          (let ((i 0) (s 0))
            (while (< i n)
              (let ((j 0))
                (while (< j 3)
                  (set s (+ s (& (* i 4294967297) 81985529216486895)))
                  (if (> s 1311768467463790320) (set s (^ s -81985529216486896)))
                  (set j (+ j 1))))
              (set i (+ i 1)))
            s))
        (define-function small (n) (let ((i 0) (s 0)) (while (< i n) (set s (+ (* s 31) 2147483647)) (set i (+ i 1))) s))
        """;

    [TestMethod]
    public void WideConstantsInLoopsAreReadFromARegisterSetBeforeTheLoop()
    {
        var module = Optimise(WideConstants);
        foreach (var name in new[] { "lcg", "masks" })
        {
            var function = Function(module, name);
            var text = IrPrinter.Print(function);
            foreach (var block in function.Blocks.Where(InLoop))
                foreach (var instruction in block.Instructions.Where(i => i.Op != Opcode.Copy))
                    Assert.IsFalse(instruction.Arguments.Any(a => a.IsConstant && a.Constant is < int.MinValue or > int.MaxValue), $"{instruction} in a loop\n{text}");
            Assert.IsTrue(Instructions(function).Any(i => i is { Op: Opcode.Copy, Arguments: [{ IsConstant: true, Constant: 6364136223846793005 or 4294967297 }] }), text);
        }
        // Constants that fit an imm32 stay operands.
        Assert.IsTrue(Instructions(Function(module, "small")).Any(i => i.Arguments.Any(a => a is { IsConstant: true, Constant: 2147483647 })));
        AssertSameAtBothLevels(WideConstants, "lcg", [1, 0], [1, 1], [99, 1000], [-5, 17]);
        AssertSameAtBothLevels(WideConstants, "masks", [0], [1], [7], [1000]);
        AssertSameAtBothLevels(WideConstants, "small", [0], [5], [100]);
    }
}
