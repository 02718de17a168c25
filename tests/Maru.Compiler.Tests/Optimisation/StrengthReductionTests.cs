using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>Multiplication, division and remainder by constants, rewritten without changing a single result.</summary>
[TestClass]
public sealed class StrengthReductionTests
{
    private static readonly long[] Divisors = [0, 1, -1, 2, -2, 4, -4, 8, -8, 1024, -1024, 1L << 62, -(1L << 62), long.MinValue, 3, -3, 7, 10];

    private static string Functions(string op) =>
        string.Join("\n", Divisors.Select((d, i) => $"(define-function f{i} (x) ({op} x {d}))"));

    private static void AssertSameForAllDividends(string op)
    {
        var source = Functions(op);
        using var o0 = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        for (var i = 0; i < Divisors.Length; i++)
            foreach (var x in Samples)
            {
                var expected = OpcodeOf(op).Evaluate(x, Divisors[i]);
                Assert.AreEqual(expected, o0.Call($"f{i}", x), $"O0 ({op} {x} {Divisors[i]})");
                Assert.AreEqual(expected, o1.Call($"f{i}", x), $"O1 ({op} {x} {Divisors[i]})");
            }
    }

    private static Opcode OpcodeOf(string op) => op switch
    {
        "/" => Opcode.Divide,
        "%" => Opcode.Remainder,
        "*" => Opcode.Multiply,
        "<<" => Opcode.ShiftLeft,
        _ => Opcode.ShiftRight,
    };

    [TestMethod] public void DivisionByConstantsKeepsTruncationAndTotality() => AssertSameForAllDividends("/");
    [TestMethod] public void RemainderByConstantsKeepsTheDividendsSign() => AssertSameForAllDividends("%");
    [TestMethod] public void MultiplicationByConstants() => AssertSameForAllDividends("*");
    [TestMethod] public void ShiftsByOutOfRangeConstants() { AssertSameForAllDividends("<<"); AssertSameForAllDividends(">>"); }

    private const string MaskedCounts = """
        (define-function bit (i) (<< 1 (& i 63)))
        (define-function left (x y) (<< x (& y 127)))
        (define-function right (x y) (>> x (& -1 y)))
        (define-function kept (x y) (+ (>> x (& y 63)) (& y 63)))
        (define-function narrow (x y) (<< x (& y 31)))
        (define-function wide (x y) (>> x (& y 62)))
        (define-function test (a i) (if (& a (<< 1 (& i 63))) 1 0))
        """;

    [TestMethod]
    public void AShiftCountMaskedToAtLeastSixBitsNeedsNoAnd()
    {
        var bit = RunPasses(MaskedCounts, "bit", Ssa, SimplifyPass, Copy, Dce);
        Assert.IsFalse(Instructions(bit).Any(i => i.Op == Opcode.And), IrPrinter.Print(bit));
        // A mask missing one of the low six bits changes the count: it stays.
        Assert.IsTrue(Instructions(RunPasses(MaskedCounts, "narrow", Ssa, SimplifyPass, Copy, Dce)).Any(i => i.Op == Opcode.And));
        Assert.IsTrue(Instructions(RunPasses(MaskedCounts, "wide", Ssa, SimplifyPass, Copy, Dce)).Any(i => i.Op == Opcode.And));
        long[] values = [0, 1, -1, 5, 63, 64, 65, 127, 128, -63, -64, -65, 1000, long.MaxValue, long.MinValue];
        var calls = new List<(string, long[], long)>();
        foreach (var x in values)
            foreach (var y in values)
            {
                calls.Add(("left", [x, y], x << (int)(y & 127 & 63)));
                calls.Add(("right", [x, y], x >> (int)(y & 63)));
                calls.Add(("kept", [x, y], unchecked((x >> (int)(y & 63)) + (y & 63))));
                calls.Add(("narrow", [x, y], x << (int)(y & 31)));
                calls.Add(("wide", [x, y], x >> (int)(y & 62)));
                calls.Add(("test", [x, y], (x & (1L << (int)(y & 63))) != 0 ? 1 : 0));
            }
        foreach (var y in values) calls.Add(("bit", [y], 1L << (int)(y & 63)));
        CompiledLibrary.AssertCallsAtO0AndO1(MaskedCounts, calls);
        Arm64Batch.AssertSameAsX64(MaskedCounts, calls.Select(c => (c.Item1, c.Item2)));
    }

    [TestMethod]
    public void PowersOfTwoNeedNoDivideOrMultiply()
    {
        var module = Optimise("(define-function d (x) (/ x 8)) (define-function r (x) (% x -16)) (define-function m (x) (* x 32)) (define-function z (x) (/ x 0))");
        foreach (var name in new[] { "d", "r", "m" })
            Assert.IsFalse(Instructions(Function(module, name)).Any(i => i.Op is Opcode.Divide or Opcode.Remainder or Opcode.Multiply),
                IrPrinter.Print(Function(module, name)));
        Assert.AreEqual(new Return(Operand.Of(0)), Function(module, "z").Blocks.Single().Terminator, "x / 0 is 0 for every x");
    }

    [TestMethod]
    [DataRow("(+ x 0)")]
    [DataRow("(+ 0 x)")]
    [DataRow("(* 1 x)")]
    [DataRow("(| x 0)")]
    [DataRow("(& x -1)")]
    [DataRow("(<< x 64)")]
    [DataRow("(>> x 128)")]
    public void IdentitiesLeaveTheParameter(string expression)
    {
        var function = Function(Optimise($"(define-function f (x) {expression})"), "f");
        Assert.AreEqual(new Return(function.Parameter(0)), function.Blocks.Single().Terminator, IrPrinter.Print(function));
    }

    [TestMethod]
    public void BranchesOnComparisonsWithZeroTestTheValueItself()
    {
        var function = Function(Optimise("(define-function f (x) (if (= x 0) 10 20))"), "f");
        Assert.IsFalse(Instructions(function).Any(i => i.Op == Opcode.Equal), IrPrinter.Print(function));
        AssertSameAtBothLevels("(define-function f (x) (if (= x 0) 10 20)) (define-function g (x) (if (not (!= x 0)) 1 2))", "f", [0], [5], [-1]);
        AssertSameAtBothLevels("(define-function g (x) (if (not (!= x 0)) 1 2))", "g", [0], [5], [-1]);
    }

    private static readonly long[] Dividends =
    [
        .. Samples, 4, -4, 6, -6, 12, -12, 16, -16, 24, -24, 1L << 62, -(1L << 62), (1L << 62) + 2, long.MinValue + 2, long.MinValue + 4,
        long.MaxValue - 3, 0x5555555555555554, unchecked((long)0xAAAAAAAAAAAAAAA8),
    ];

    [TestMethod]
    public void RemainderByAPowerOfTwoComparedWithZeroIsAMaskTest()
    {
        long[] divisors = [2, -2, 4, -4, 8, 1L << 62, -(1L << 62), long.MinValue];
        var source = string.Join("\n", divisors.Select((d, i) =>
            $"(define-function eq{i} (x) (= (% x {d}) 0)) (define-function ne{i} (x) (!= (% x {d}) 0)) " +
            $"(define-function lz{i} (x) (= 0 (% x {d}))) (define-function br{i} (x) (if (= (% x {d}) 0) 10 20))"));
        var module = Optimise(source);
        for (var i = 0; i < divisors.Length; i++)
            foreach (var name in new[] { $"eq{i}", $"ne{i}", $"lz{i}", $"br{i}" })
                Assert.IsFalse(Instructions(Function(module, name)).Any(n => n.Op is Opcode.Remainder or Opcode.Subtract or Opcode.ShiftRight),
                    IrPrinter.Print(Function(module, name)));
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        for (var i = 0; i < divisors.Length; i++)
            foreach (var x in Dividends)
            {
                var zero = Opcode.Remainder.Evaluate(x, divisors[i]) == 0;
                Assert.AreEqual(zero ? 1L : 0L, o1.Call($"eq{i}", x), $"(= (% {x} {divisors[i]}) 0)");
                Assert.AreEqual(zero ? 0L : 1L, o1.Call($"ne{i}", x), $"(!= (% {x} {divisors[i]}) 0)");
                Assert.AreEqual(zero ? 1L : 0L, o1.Call($"lz{i}", x), $"(= 0 (% {x} {divisors[i]}))");
                Assert.AreEqual(zero ? 10L : 20L, o1.Call($"br{i}", x), $"(if (= (% {x} {divisors[i]}) 0) 10 20)");
            }
    }

    [TestMethod]
    public void DivisionKnownToBeExactIsOneShift()
    {
        const string source = """
            (define-function half (x) (if (= (% x 2) 0) (/ x 2) (+ (* 3 x) 1)))
            (define-function quarter (x) (if (!= (% x 4) 0) 0 (let ((y 5)) (set y (/ x 4)) y)))
            (define-function masked (x) (if (& x 7) -1 (/ x -8)))
            (define-function masked-left (x) (if (not (& 3 x)) (/ x 2) -1))
            (define-function zero-left (x) (if (= 0 (% x -8)) (/ x 8) -1))
            (define-function bigger (x) (if (= (% x 2) 0) (/ x 4) -1))
            (define-function other (x y) (if (= (% y 2) 0) (/ x 2) -1))
            (define-function joined (x) (let ((r 0)) (if (= (% x 2) 0) (set r 1)) (+ r (/ x 2))))
            (define-function shifted (x) (if (= (% x 4) 0) (/ x 2) -1))
            (define-function either (x) (if (or (= (% x 4) 0) (= x -6)) (/ x 4) 99))
            (define-function chained (x) (if (& x 3) -1 (if (> x 100) (if (< x 1000) (/ x 4) -2) -3)))
            """;
        var module = Optimise(source);
        foreach (var name in new[] { "half", "quarter", "masked", "masked-left", "zero-left", "shifted" })
        {
            var function = Function(module, name);
            Assert.IsFalse(Instructions(function).Any(n => n.Op is Opcode.Divide or Opcode.Remainder || (n.Op == Opcode.Add && !n.Arguments[1].IsConstant)),
                IrPrinter.Print(function));
            Assert.AreEqual(1, Instructions(function).Count(n => n.Op == Opcode.ShiftRight), IrPrinter.Print(function));
        }
        // Not known exact: the rounding toward zero stays (its sign bit, (x >> 63) & 1, is an unsigned shift by 63).
        foreach (var name in new[] { "bigger", "other", "joined" })
            Assert.IsTrue(Instructions(Function(module, name)).Count(n => n.Op is Opcode.ShiftRight or Opcode.ShiftRightLogical) >= 2, IrPrinter.Print(Function(module, name)));
        // The tested edge's target is also reached from (= x -6): -6 / 4 must round toward zero (-1), not down (-2).
        using (var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1)) Assert.AreEqual(-1L, o1.Call("either", -6));
        foreach (var name in new[] { "half", "quarter", "masked", "masked-left", "zero-left", "bigger", "joined", "shifted", "either", "chained" })
            AssertSameAtBothLevels(source, name, [.. Dividends.Select(x => new[] { x })]);
        AssertSameAtBothLevels(source, "other", [.. Dividends.SelectMany(x => new[] { new[] { x, 2L }, new[] { x, 3L } })]);
    }
}
