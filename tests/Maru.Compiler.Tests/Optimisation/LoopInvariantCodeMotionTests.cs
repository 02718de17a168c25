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
    // Reads of memory in loops that write none. Each function builds its own table with calloc so the
    // same calls run on x86-64 and under qemu; the C# models below say what each must return.
    private const string Reads = """
        (define calloc (extern 'calloc))
        (define free (extern 'free))
        (define-function scaled (a b)
          (let ((t (calloc 6 8)) (s 0))
            (set-oop-at t 0 a)
            (for (k 1 5) (set-oop-at t k (* k b)))
            (for (i 0 12) (set s (+ s (/ (oop-at t (+ 1 (& i 3))) (oop-at t 0)))))
            (free t)
            s))
        (define-function flagged (a b)
          (let ((t (calloc 4 8)) (hit -1) (i 0))
            (set-oop-at t 0 a)
            (set-oop-at t 1 b)
            (while (< hit 0)
              (if (= (+ (oop-at t 1) i) (oop-at t 0)) (set hit i))
              (if (> i 40) (set hit 1000))
              (set i (+ i 1)))
            (free t)
            hit))
        (define-function aliased (a c)
          (let ((t (calloc 4 8)) (s 0))
            (set-oop-at t 0 a)
            (let ((u (+ t (* 8 c))))
              (for (i 0 10)
                (set s (+ s (oop-at t 0)))
                (set-oop-at u 0 (+ (oop-at u 0) i))))
            (free t)
            s))
        (define-function guarded (p k)
          (let ((s 0))
            (for (i 0 6) (if (= k 1) (set s (+ s (oop-at p 0))) (set s (- s i))))
            s))
        (define-function counted (p n)
          (let ((i 0) (s 0))
            (while (< i n) (set s (+ s (oop-at p 0))) (set i (+ i 1)))
            s))
        """;

    private static long Divide(long a, long b) => b == 0 ? 0 : b == -1 ? unchecked(-a) : a / b;

    private static long Scaled(long a, long b)
    {
        long s = 0;
        for (var i = 0; i < 12; i++) s = unchecked(s + Divide(unchecked((1 + (i & 3)) * b), a));
        return s;
    }

    private static long Flagged(long a, long b)
    {
        for (long i = 0; ; i++)
        {
            var hit = unchecked(b + i) == a ? i : -1;
            if (i > 40) hit = 1000;
            if (hit >= 0) return hit;
        }
    }

    private static long Aliased(long a, long c)
    {
        var t = new long[4];
        t[0] = a;
        long s = 0;
        for (var i = 0; i < 10; i++)
        {
            s = unchecked(s + t[0]);
            t[c] = unchecked(t[c] + i);
        }
        return s;
    }

    private static readonly long[] Edges = [0, 1, -1, 2, -3, 7, 1000, long.MaxValue, long.MinValue, long.MinValue + 1];

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> ReadCases()
    {
        foreach (var a in Edges)
            foreach (var b in Edges)
            {
                yield return ("scaled", [a, b], Scaled(a, b));
                yield return ("flagged", [a, b], Flagged(a, b));
            }
        foreach (var a in Edges)
            foreach (var c in new long[] { 0, 1, 3 })
                yield return ("aliased", [a, c], Aliased(a, c));
        // A null table where the loop would read it only if it ran (n = 0) or only on a path not taken (k = 0).
        yield return ("guarded", [0, 0], -15);
        yield return ("guarded", [0, 5], -15);
        yield return ("counted", [0, 0], 0);
        yield return ("counted", [0, -7], 0);
    }

    private static bool LoadOfWordZeroInLoop(IrFunction function) =>
        function.Blocks.Where(InLoop).SelectMany(b => b.Instructions)
            .Any(i => i.Op == Opcode.LoadWord && i.Arguments is [_, { IsConstant: true, Constant: 0 }, ..]);

    [TestMethod]
    public void AReadOfAnInvariantAddressLeavesALoopThatWritesNothingAndSurelyRuns()
    {
        var module = Optimise(Reads, unroll: false);
        // A counted loop from a constant start below a constant bound, and a loop on a flag set before it: the first trip is sure.
        foreach (var name in new[] { "scaled", "flagged" })
            Assert.IsFalse(LoadOfWordZeroInLoop(Function(module, name)), name + "\n" + IrPrinter.Print(Function(module, name)));
        // A store in the loop (here through another register that may be the same address) keeps the read per trip.
        Assert.IsTrue(LoadOfWordZeroInLoop(Function(module, "aliased")), IrPrinter.Print(Function(module, "aliased")));
        // The read runs only on one arm, or the loop may not run: hoisted, it could fault where the original does not.
        foreach (var name in new[] { "guarded", "counted" })
            Assert.IsTrue(LoadOfWordZeroInLoop(Function(module, name)), name + "\n" + IrPrinter.Print(Function(module, name)));
    }

    [TestMethod]
    public void HoistedReadsGiveTheModelsResultsAtBothLevels() => AssertModelAtBothLevels(Reads, ReadCases());

    [TestMethod]
    public void HoistedReadsGiveTheModelsResultsOnArm64() =>
        Arm64Batch.AssertCalls(Reads, [.. ReadCases().Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected))]);
}
