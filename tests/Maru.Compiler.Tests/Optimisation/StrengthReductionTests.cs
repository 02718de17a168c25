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
    public void OtherDivisorsKeepTheDivide()
    {
        var function = Function(Optimise("(define-function d (x) (/ x 10))"), "d");
        Assert.IsTrue(Instructions(function).Any(i => i.Op == Opcode.Divide));
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
}
