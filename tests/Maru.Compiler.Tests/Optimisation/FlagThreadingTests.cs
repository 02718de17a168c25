using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Flags set to constants and tested by branches (an interpreter's running flag, a search's found
/// flag, a state variable): the step that leaves the flag alone no longer tests it again, and
/// every function keeps its O0 result at O1, on x86-64 and (one qemu batch) on AArch64.
/// </summary>
[TestClass]
public sealed class FlagThreadingTests
{
    // A small interpreter over a code string: digits push, + * - combine, anything else stops.
    private const string Interpreter = """
        (define malloc (extern 'malloc))
        (define-function interpret (code stack)
          (let ((pc 0) (sp 0) (running 1))
            (while running
              (let ((op (string-at code pc)))
                (cond
                  ((and (>= op 48) (<= op 57)) (set-oop-at stack sp (- op 48)) (set sp (+ sp 1)))
                  ((= op 43) (set sp (- sp 1)) (set-oop-at stack (- sp 1) (+ (oop-at stack (- sp 1)) (oop-at stack sp))))
                  ((= op 42) (set sp (- sp 1)) (set-oop-at stack (- sp 1) (* (oop-at stack (- sp 1)) (oop-at stack sp))))
                  ((= op 45) (set sp (- sp 1)) (set-oop-at stack (- sp 1) (- (oop-at stack (- sp 1)) (oop-at stack sp))))
                  (else (set running 0)))
                (set pc (+ pc 1))))
            (if (> sp 0) (oop-at stack (- sp 1)) -1)))
        (define-function calc (which)
          (let ((stack (malloc 256)))
            (interpret (if (= which 0) "12+3*" (if (= which 1) "98-7*65*+" "")) stack)))
        """;

    // Other shapes: a found flag in the loop test, a flag written with if instead of cond, a
    // three-state variable, a flag that is sometimes set from a computed value, a flag tested in
    // the middle of the body, and nested loops sharing one flag.
    private const string Shapes = """
        (define-function find (n k)
          (let ((i 0) (found 0))
            (while (and (not found) (< i n))
              (if (= (% (* i i) 97) k) (set found 1) (set i (+ i 1))))
            (if found i -1)))
        (define-function collatz (n)
          (let ((steps 0) (go 1))
            (while go
              (if (= n 1) (set go 0)
                (if (& n 1) (set n (+ (* 3 n) 1)) (set n (>> n 1))))
              (if go (set steps (+ steps 1))))
            steps))
        (define-function states (n)
          (let ((state 2) (count 0))
            (while state
              (set count (+ count 1))
              (cond ((= state 2) (if (> count n) (set state 1)))
                    ((= state 1) (if (> count (* 2 n)) (set state 0)))))
            count))
        (define-function computed (n)
          (let ((go 1) (i 0))
            (while go
              (set i (+ i 1))
              (if (< i n) (set go 1) (set go (& i 2))))
            i))
        (define-function nested (n)
          (let ((outer 1) (total 0) (i 0))
            (while outer
              (let ((inner 1) (j 0))
                (while inner
                  (set total (+ total j))
                  (set j (+ j 1))
                  (if (>= j i) (set inner 0))))
              (set i (+ i 1))
              (if (> i n) (set outer 0)))
            total))
        """;

    private static readonly string[] ShapeNames = ["find", "collatz", "states", "computed", "nested"];

    private static long[][] ShapeArguments(string name) => name switch
    {
        "find" => [[0, 0], [10, 0], [100, 4], [100, 5], [50, 96], [200, 3]],
        "collatz" => [[1], [2], [3], [7], [27], [100]],   // 0 and negative numbers never reach 1
        _ => [.. new long[] { -3, 0, 1, 2, 3, 7, 27, 100 }.Select(n => new[] { n })],
    };

    [TestMethod]
    public void AnInterpretersRunningFlagIsNotTestedAfterEveryStep()
    {
        var run = Function(Optimise(Interpreter), "interpret");
        var constantFlags = Instructions(run).Where(i => i is { Op: Opcode.Copy, Arguments: [{ IsConstant: true }] }).Select(i => i.Destination!.Value).ToHashSet();
        Assert.IsFalse(run.Blocks.Any(b => b.Terminator is Branch { Condition.IsConstant: false } branch && constantFlags.Contains(branch.Condition.Register)),
            IrPrinter.Print(run));
        var results = AssertSameAtBothLevels(Interpreter, "calc", [0], [1], [2]);
        CollectionAssert.AreEqual(new long[] { (1 + 2) * 3, (9 - 8) * 7 + 6 * 5, -1 }, results);
    }

    [TestMethod]
    public void FlagsOfOtherShapesKeepTheirResults()
    {
        foreach (var name in ShapeNames)
            AssertSameAtBothLevels(Shapes, name, ShapeArguments(name));
        using var o1 = CompiledLibrary.Compile(Shapes);
        Assert.AreEqual(111, o1.Call("collatz", 27));
        Assert.AreEqual(201, o1.Call("states", 100));
        Assert.AreEqual(-1, o1.Call("find", 10, 5), "5 is no square modulo 97 below 10");
        Assert.AreEqual(4, o1.Call("computed", 2), "past n, go = i & 2 keeps the loop going while bit 1 of i is set: i = 2, 3 go on, 4 stops");
        Assert.AreEqual(Enumerable.Range(0, 8).Sum(i => Enumerable.Range(0, Math.Max(i, 1)).Sum()), o1.Call("nested", 7));
    }

    [TestMethod]
    public void EveryFunctionAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Shapes + Interpreter,
            ShapeNames.SelectMany(name => ShapeArguments(name).Select(a => (name, a)))
                .Concat(new long[] { 0, 1, 2 }.Select(which => ("calc", new[] { which }))));
}
