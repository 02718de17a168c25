using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Constant operations on the result of a constant operation fold into one (wrapping, as the
/// IR's arithmetic), and an equality test or a branch on v ± k compares v itself: every function
/// keeps its O0 result at O1, on x86-64 and (one qemu batch) on AArch64, for the edge values.
/// </summary>
[TestClass]
public sealed class ConstantChainTests
{
    private const string Chains = """
        (define-function down2 (n) (- (- n 1) 1))
        (define-function mixed (n) (+ (- (+ n 5) 9) 3))
        (define-function wraps (n) (+ (+ n 9223372036854775807) 2))
        (define-function ands (n) (& (& n 252) 63))
        (define-function ors (n) (| (| n 3) 64))
        (define-function xors (n) (^ (^ n 5) 12))
        (define-function muls (n) (* (* n 3) 6148914691236517206))
        (define-function is-three (n) (= (- n 3) 0))
        (define-function not-five (n) (!= (+ n 7) 12))
        (define-function minus-is (n) (if (= (+ n -9) 4) 100 (- n 9)))
        (define-function kept (n) (let ((m (- n 1))) (+ (* m 100) (if m 1 0))))
        (define-function order (n) (< (+ n 1) 0))
        (define-function far (n) (= (- n 9223372036854775807) 0))
        """;

    // Loops whose test is a branch on v - k (or a comparison of it), written several ways.
    private const string Loops = """
        (define-function tri (n) (let ((s 0)) (while (- n 1) (set s (+ s n)) (set n (- n 1))) s))
        (define-function skip3 (n) (let ((c 0)) (while (> n 2) (set n (- (- (- n 1) 1) 1)) (set c (+ c 1))) (+ (* c 10) n)))
        (define-function until (n k) (let ((c 0)) (while (!= (+ n c) k) (set c (+ c 1))) c))
        (define-function ev (n) (cond ((= n 0) 1) ((= (- n 1) 0) 0) (else (ev (- (- n 1) 1)))))
        """;

    private static readonly long[] Edges = [.. Samples, 3, 4, 5, 12, 13, -5, -7];

    private static long Tri(long n) => n * (n + 1) / 2 - 1;

    [TestMethod]
    public void ChainsFoldAndOffsetComparisonsKeepTheirResults()
    {
        foreach (var name in new[] { "down2", "mixed", "wraps", "ands", "ors", "xors", "muls", "is-three", "not-five", "minus-is", "kept", "order", "far" })
            AssertSameAtBothLevels(Chains, name, [.. Edges.Select(n => new[] { n })]);
        using var o1 = CompiledLibrary.Compile(Chains);
        Assert.AreEqual(long.MinValue + 1, o1.Call("wraps", 0));
        Assert.AreEqual(1, o1.Call("is-three", 3));
        Assert.AreEqual(0, o1.Call("not-five", 5));
        Assert.AreEqual(0, o1.Call("order", long.MaxValue - 1));
        Assert.AreEqual(1, o1.Call("order", long.MaxValue), "MAX + 1 wraps to MIN: an order test of v + k is not one of v");
    }

    [TestMethod]
    public void AChainOfSubtractionsIsOneOperationOfItsStart()
    {
        var down2 = Function(Optimise(Chains), "down2");
        var arithmetic = down2.Blocks.SelectMany(b => b.Instructions).Where(i => i.Op is Opcode.Add or Opcode.Subtract).ToList();
        Assert.HasCount(1, arithmetic, IrPrinter.Print(down2));
        var step = arithmetic[0].Arguments[1];
        Assert.IsTrue(step.IsConstant && (arithmetic[0].Op == Opcode.Subtract ? step.Constant : -step.Constant) == 2, IrPrinter.Print(down2));
    }

    [TestMethod]
    public void LoopsTestingAnOffsetKeepTheirResults()
    {
        var arguments = Enumerable.Range(1, 40).Select(n => new long[] { n }).ToArray();
        CollectionAssert.AreEqual(arguments.Select(a => Tri(a[0])).ToArray(), AssertSameAtBothLevels(Loops, "tri", arguments));
        AssertSameAtBothLevels(Loops, "skip3", [.. Enumerable.Range(-3, 40).Select(n => new long[] { n })]);
        AssertSameAtBothLevels(Loops, "until", [0, 0], [3, 10], [-5, 5], [long.MaxValue, long.MinValue + 4]);
        var parity = AssertSameAtBothLevels(Loops, "ev", [.. Enumerable.Range(0, 40).Select(n => new long[] { n })]);
        CollectionAssert.AreEqual(Enumerable.Range(0, 40).Select(n => n % 2 == 0 ? 1L : 0).ToArray(), parity);
        using var o1 = CompiledLibrary.Compile(Loops);
        Assert.AreEqual(1, o1.Call("ev", 100_000_000), "a loop, not 10^8 calls");
    }

    [TestMethod]
    public void EveryFunctionAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Chains + Loops,
            new[] { "down2", "mixed", "wraps", "ands", "ors", "xors", "muls", "is-three", "not-five", "minus-is", "kept", "order", "far" }
                .SelectMany(name => Edges.Select(n => (name, new[] { n })))
                .Concat(new long[] { 1, 2, 3, 17 }.SelectMany(n => new[] { "tri", "skip3", "ev" }.Select(name => (name, new[] { n })))));
}
