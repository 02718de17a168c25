using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Tests.TestSupport;
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

    private const string InvariantTests = """
        (define-function signs (n k)
          (let ((i 0) (s 0))
            (while (< i n)
              (if (> k 0) (set s (+ s i)) (set s (- s (* i 3))))
              (set i (+ i 1)))
            s))
        (define-function counted (n k)
          (let ((i 0) (s 0))
            (while (< i n)
              (set s (+ s (+ (< k i) (< k 0))))
              (if (< k 0) (set s (+ s 1)))
              (set i (+ i 1)))
            s))
        """;

    private static bool ComparisonInLoop(IrFunction function, Opcode op, long constant) =>
        function.Blocks.Where(InLoop).SelectMany(b => b.Instructions)
            .Any(i => i.Op == op && i.Arguments is [{ IsConstant: false }, { IsConstant: true } c] && c.Constant == constant);

    [TestMethod]
    public void AnInvariantComparisonOnlyItsBranchReadsStaysOnX64AndLeavesOnArm64()
    {
        // x86-64: cmp + jcc in the loop costs what test + jcc does, and hoisting adds setcc + movzx.
        var x64 = Function(Optimise(InvariantTests, unroll: false), "signs");
        Assert.IsTrue(ComparisonInLoop(x64, Opcode.Greater, 0), IrPrinter.Print(x64));
        // AArch64 tests a register with one cbz: there it leaves the loop.
        var arm64Costs = Maru.Compiler.Backends.CodeGeneration.BackendRegistry.For(Maru.Compiler.Targets.TargetPlatform.LinuxArm64)!.Costs;
        var arm64 = RunPasses(InvariantTests, "signs", Ssa, Copy, (f => LoopInvariantCodeMotion.Run(f, arm64Costs), IrForm.Ssa));
        Assert.IsFalse(ComparisonInLoop(arm64, Opcode.Greater, 0), IrPrinter.Print(arm64));
        // A comparison something else reads as a value still leaves the loop.
        var counted = Function(Optimise(InvariantTests, unroll: false), "counted");
        Assert.IsFalse(ComparisonInLoop(counted, Opcode.Less, 0), IrPrinter.Print(counted));
        foreach (var name in new[] { "signs", "counted" })
            AssertSameAtBothLevels(InvariantTests, name, [0, 1], [10, 1], [10, 0], [10, -5], [1000, long.MinValue], [7, long.MaxValue]);
        Arm64Batch.AssertSameAsX64(InvariantTests, new[] { "signs", "counted" }.SelectMany(name =>
            new long[][] { [0, 1], [10, 1], [10, 0], [10, -5], [1000, long.MinValue], [7, long.MaxValue] }.Select(a => (name, a))));
    }
}
