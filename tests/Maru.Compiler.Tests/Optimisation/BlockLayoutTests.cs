using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// BlockLayout's static prediction: after a branch whose test says which way it usually goes (an
/// equality usually false, an inequality true, a parameter or a sum usually non-zero, a logical
/// not usually zero, a sign test usually finding a value not negative), the likely successor
/// follows and the other is the jump, so a recursive function's base case `(= n 0)` is out of
/// line and its recursion falls through. Layout moves blocks only: the results are compared with
/// C# models at O0 and O1 on x86-64 at edge values, and on AArch64 under qemu.
/// </summary>
[TestClass]
public sealed class BlockLayoutTests
{
    private const string Source = """
        (define-function ack (m n)
          (cond
            ((= m 0) (+ n 1))
            ((= n 0) (ack (- m 1) 1))
            (else (ack (- m 1) (ack m (- n 1))))))
        (define-function digits (x)
          (let ((c 0))
            (if (< x 0) (set x (- 0 x)))
            (if (< x 0) (set c 100))
            (while x (set x (/ x 10)) (set c (+ c 1)))
            c))
        (define-function differs (a b k)
          (if (!= a b) (+ (* 3 a) k) (if (not k) 7 (- b k))))
        (define-function sum-down (n)
          (if (<= n 0) 0 (+ n (sum-down (- n 2)))))
        (define-function scaled (a b)
          (if (= a b) (* a (+ b 3)) (- b a)))
        (define-function pick (f a b)
          (if f (+ a b) (- a b)))
        """;

    private static long Ack(long m, long n) => m == 0 ? n + 1 : n == 0 ? Ack(m - 1, 1) : Ack(m - 1, Ack(m, n - 1));

    private static long Digits(long x)
    {
        long c = 0;
        if (x < 0) x = unchecked(-x);
        if (x < 0) c = 100;
        while (x != 0) { x /= 10; c++; }
        return c;
    }

    private static long Differs(long a, long b, long k) => a != b ? unchecked(3 * a + k) : k == 0 ? 7 : unchecked(b - k);

    private static long SumDown(long n) => n <= 0 ? 0 : unchecked(n + SumDown(n - 2));

    private static long Pick(long f, long a, long b) => f != 0 ? unchecked(a + b) : unchecked(a - b);

    private static readonly long[] Edges = [0, 1, -1, 2, 7, -10, 255, 1L << 40, long.MaxValue, long.MinValue, long.MinValue + 1];

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        for (long m = 0; m <= 3; m++)
            for (long n = 0; n <= 5; n++)
                yield return ("ack", [m, n], Ack(m, n));
        foreach (var x in Edges)
        {
            yield return ("digits", [x], Digits(x));
            if (x is >= -1000 and <= 1000) yield return ("sum-down", [x], SumDown(x));
            foreach (var y in new long[] { 0, 1, x, long.MinValue })
            {
                yield return ("differs", [x, y, 0], Differs(x, y, 0));
                yield return ("differs", [x, y, -3], Differs(x, y, -3));
                yield return ("pick", [y, x, 5], Pick(y, x, 5));
            }
        }
    }

    [TestMethod]
    public void ResultsMatchModelsAtO0AndO1OnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases());

    [TestMethod]
    public void ResultsAgreeOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Source, Cases().Select(c => (c.Function, c.Arguments)));

    /// <summary>The block after <paramref name="block"/> in the final order, or null for the last.</summary>
    private static BasicBlock? Next(IrFunction function, BasicBlock block)
    {
        var at = function.Blocks.IndexOf(block);
        return at + 1 < function.Blocks.Count ? function.Blocks[at + 1] : null;
    }

    private static bool PlacedBefore(IrFunction function, BasicBlock block, BasicBlock than) =>
        function.Blocks.IndexOf(block) < function.Blocks.IndexOf(than);

    [TestMethod]
    public void AckermannsRecursionFallsThroughAndItsBaseCaseIsTheJump()
    {
        var ack = Function(Optimise(Source), "ack");
        var text = IrPrinter.Print(ack);
        // Every branch of ack tests m or n for zero: the non-zero successor (the recursion) follows,
        // unless it was placed before (a loop's back edge).
        var branches = ack.Blocks.Where(b => b.Terminator is Branch branch && !PlacedBefore(ack, branch.IfTrue, b)).ToList();
        Assert.IsTrue(branches.Count >= 3, text);
        foreach (var block in branches)
            Assert.AreEqual(((Branch)block.Terminator!).IfTrue, Next(ack, block), $"{block.Name}'s non-zero successor follows:\n{text}");
        // The block that returns n + 1 comes after the block holding the call (the hot path is contiguous).
        var call = BlockOf(ack, i => i.Op == Opcode.Call);
        var ret = ack.Blocks.Single(b => b.Terminator is Return);
        Assert.IsTrue(ack.Blocks.IndexOf(call) < ack.Blocks.IndexOf(ret), text);
    }

    [TestMethod]
    public void AnEqualityTestIsUsuallyFalseAndASignTestUsuallyFindsNoNegative()
    {
        var module = Optimise(Source);
        var checkedBranches = 0;
        foreach (var name in new[] { "differs", "sum-down", "digits", "scaled" })   // (digits' sign tests are selects: no branch)
        {
            var function = Function(module, name);
            var text = IrPrinter.Print(function);
            foreach (var block in function.Blocks)
            {
                if (block.Terminator is not Branch branch || branch.Condition.IsConstant) continue;
                var test = block.Instructions.LastOrDefault(i => i.Destination == branch.Condition.Register);
                if (test is null) continue;
                BasicBlock? likely = test.Op switch
                {
                    Opcode.Equal or Opcode.LogicalNot => branch.IfFalse,
                    Opcode.NotEqual => branch.IfTrue,
                    Opcode.Less or Opcode.LessOrEqual when test.Arguments[1] is { IsConstant: true, Constant: 0 } => branch.IfFalse,
                    Opcode.Greater or Opcode.GreaterOrEqual when test.Arguments[1] is { IsConstant: true, Constant: 0 } => branch.IfTrue,
                    _ => null,
                };
                if (likely is null || InLoop(block) || PlacedBefore(function, likely, block)) continue;
                Assert.AreEqual(likely, Next(function, block), $"{name}: {block.Name} ({test}) falls through to its likely successor:\n{text}");
                checkedBranches++;
            }
        }
        Assert.IsTrue(checkedBranches >= 3, $"{checkedBranches} branches decided by their tests");
    }
}
