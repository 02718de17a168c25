using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>Operators compiled natively and executed; expectations are the language's defined 64-bit semantics.</summary>
public abstract class ArithmeticTests : ExecutionTests
{
    private CompiledLibrary _library = null!;

    // Compiled per test (a few milliseconds) so each level's class has its own library.
    [TestInitialize]
    public void CompileOperators()
    {
        _library = Compile("""
            (define-function add (a b) (+ a b))
            (define-function sub (a b) (- a b))
            (define-function mul (a b) (* a b))
            (define-function div (a b) (/ a b))
            (define-function rem (a b) (% a b))
            (define-function band (a b) (& a b))
            (define-function bor (a b) (| a b))
            (define-function bxor (a b) (^ a b))
            (define-function shl (a b) (<< a b))
            (define-function shr (a b) (>> a b))
            (define-function lt (a b) (< a b))
            (define-function le (a b) (<= a b))
            (define-function eq (a b) (= a b))
            (define-function ne (a b) (!= a b))
            (define-function ge (a b) (>= a b))
            (define-function gt (a b) (> a b))
            (define-function neg (a) (- a))
            (define-function lnot (a) (not a))
            """);
    }

    [TestCleanup]
    public void Unload() => _library.Dispose();

    private static readonly long[] Samples = [0, 1, -1, 2, -2, 3, 7, -7, 63, 64, 65, 1000, -1000, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue, long.MinValue + 1];

    private void ForAllPairs(string function, Func<long, long, long> expected)
    {
        foreach (var a in Samples)
            foreach (var b in Samples)
                Assert.AreEqual(expected(a, b), _library.Call(function, a, b), $"({function} {a} {b})");
    }

    [TestMethod] public void AdditionWrapsAround() => ForAllPairs("add", (a, b) => unchecked(a + b));
    [TestMethod] public void SubtractionWrapsAround() => ForAllPairs("sub", (a, b) => unchecked(a - b));
    [TestMethod] public void MultiplicationWrapsAround() => ForAllPairs("mul", (a, b) => unchecked(a * b));
    [TestMethod] public void BitwiseAnd() => ForAllPairs("band", (a, b) => a & b);
    [TestMethod] public void BitwiseOr() => ForAllPairs("bor", (a, b) => a | b);
    [TestMethod] public void BitwiseXor() => ForAllPairs("bxor", (a, b) => a ^ b);

    [TestMethod]
    public void DivisionTruncatesTowardZeroAndIsTotal()
    {
        ForAllPairs("div", (a, b) => b == 0 ? 0 : b == -1 ? unchecked(-a) : a / b);
        Assert.AreEqual(-3, _library.Call("div", -7, 2));
        Assert.AreEqual(0, _library.Call("div", 42, 0), "division by zero is defined as 0");
        Assert.AreEqual(long.MinValue, _library.Call("div", long.MinValue, -1), "MIN / -1 wraps to MIN instead of trapping");
    }

    [TestMethod]
    public void RemainderTakesTheSignOfTheDividendAndIsTotal()
    {
        ForAllPairs("rem", (a, b) => b == 0 || b == -1 ? 0 : a % b);
        Assert.AreEqual(-1, _library.Call("rem", -7, 2));
        Assert.AreEqual(0, _library.Call("rem", 42, 0));
        Assert.AreEqual(0, _library.Call("rem", long.MinValue, -1));
    }

    [TestMethod]
    public void ShiftsTakeTheirCountModulo64AndRightShiftIsArithmetic()
    {
        ForAllPairs("shl", (a, b) => a << (int)(b & 63));
        ForAllPairs("shr", (a, b) => a >> (int)(b & 63));
        Assert.AreEqual(-4, _library.Call("shr", -16, 2));
        Assert.AreEqual(-1, _library.Call("shr", -1, 63));
        Assert.AreEqual(2, _library.Call("shl", 1, 65));
    }

    [TestMethod]
    public void ComparisonsAreSignedAndYieldZeroOrOne()
    {
        ForAllPairs("lt", (a, b) => a < b ? 1 : 0);
        ForAllPairs("le", (a, b) => a <= b ? 1 : 0);
        ForAllPairs("eq", (a, b) => a == b ? 1 : 0);
        ForAllPairs("ne", (a, b) => a != b ? 1 : 0);
        ForAllPairs("ge", (a, b) => a >= b ? 1 : 0);
        ForAllPairs("gt", (a, b) => a > b ? 1 : 0);
    }

    [TestMethod]
    public void UnaryMinusAndNot()
    {
        foreach (var a in Samples)
        {
            Assert.AreEqual(unchecked(-a), _library.Call("neg", a));
            Assert.AreEqual(a == 0 ? 1 : 0, _library.Call("lnot", a));
        }
    }

    [TestMethod]
    [DataRow("42", 42L)]
    [DataRow("-42", -42L)]
    [DataRow("0x7fffffffffffffff", long.MaxValue)]
    [DataRow("-9223372036854775808", long.MinValue)]
    [DataRow("0xffffffffffffffff", -1L)]
    [DataRow("010", 8L)]
    [DataRow("?a", 97L)]
    [DataRow("?\\n", 10L)]
    [DataRow("()", 0L)]
    [DataRow("4294967296", 4294967296L)]
    [DataRow("-2147483649", -2147483649L)]
    [DataRow("(+ 1 (* 2 3))", 7L)]
    [DataRow("(- (- 5 8))", 3L)]
    public void LiteralsAndConstantExpressions(string expression, long expected) =>
        Assert.AreEqual(expected, Evaluate(expression));
}

[TestClass]
public sealed class ArithmeticTestsAtO0 : ArithmeticTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class ArithmeticTestsAtO1 : ArithmeticTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
