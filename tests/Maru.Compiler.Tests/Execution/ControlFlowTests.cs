using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>let, if, while, set, and, or, return: compiled, run, compared with Maru 2.4's meaning.</summary>
public abstract class ControlFlowTests : ExecutionTests
{
    [TestMethod]
    [DataRow("(if)", 0L)]
    [DataRow("(if 1)", 0L)]
    [DataRow("(if 1 2)", 2L)]
    [DataRow("(if 1 2 3)", 2L)]
    [DataRow("(if 1 2 3 4)", 2L)]
    [DataRow("(if ())", 0L)]
    [DataRow("(if () 5)", 0L)]
    [DataRow("(if () 5 6)", 6L)]
    [DataRow("(if () 5 6 7)", 7L)]
    [DataRow("(if 0 5 6)", 6L)]
    [DataRow("(if -1 5 6)", 5L)]
    public void IfWithZeroToFourArguments(string expression, long expected) =>
        Assert.AreEqual(expected, Evaluate(expression));

    [TestMethod]
    public void IfElseFormsRunInOrder() =>
        Assert.AreEqual(110, Evaluate("(let ((x 1)) (if 0 (set x 5) (set x (* x 10)) (set x (+ x 100))) x)"));

    [TestMethod]
    [DataRow("(and)", 1L)]
    [DataRow("(or)", 0L)]
    [DataRow("(and 1 2 3)", 3L)]
    [DataRow("(or 1 2 3)", 1L)]
    [DataRow("(and 1 0 3)", 0L)]
    [DataRow("(or 0 0 7)", 7L)]
    [DataRow("(or 0 0 0)", 0L)]
    [DataRow("(and 5)", 5L)]
    public void AndOrGiveTheLastValueEvaluated(string expression, long expected) =>
        Assert.AreEqual(expected, Evaluate(expression));

    // maru-2.4's interpreter and emit.l both take (set v e extra...) as (set v e): the extras never run.
    [TestMethod]
    public void FormsAfterTheValueOfSetAreIgnored()
    {
        Assert.AreEqual(7, Evaluate("(let ((x 1) (y 2)) (set x 5 (set y 100) (return 9)) (+ x y))"));
        Assert.AreEqual(5, Evaluate("(let ((x 1)) (set x 5 (return 9)))"));
        Assert.AreEqual("(5 2)", Evaluation.CompileTime.Value("(let ((x 1) (y 2)) (set x 5 (set y 100)) (list x y))"));
    }

    [TestMethod]
    public void AndOrShortCircuit()
    {
        Assert.AreEqual(1, Evaluate("(let ((x 1)) (and 0 (set x 2)) x)"));
        Assert.AreEqual(1, Evaluate("(let ((x 1)) (or 3 (set x 2)) x)"));
        Assert.AreEqual(2, Evaluate("(let ((x 1)) (and 3 (set x 2)) x)"));
    }

    [TestMethod]
    [DataRow("(let ((y 1 2 3 42)) y)", 42L)]
    [DataRow("(let ((y)) y)", 0L)]
    [DataRow("(let (y) y)", 0L)]
    [DataRow("(let () 9)", 9L)]
    [DataRow("(let ((a 1)))", 0L)]
    [DataRow("(let ((a 1) (b 2)) (+ a b))", 3L)]
    [DataRow("(let ((a 1)) (let ((a 2) (b a)) b))", 1L)]   // inits see the OUTER scope
    [DataRow("(let ((a 1)) (let ((a 10)) (set a 11)) a)", 1L)] // inner binding shadows
    [DataRow("(let ((y 1)) (set y (+ 1 y)) y)", 2L)]
    public void LetBindings(string expression, long expected) =>
        Assert.AreEqual(expected, Evaluate(expression));

    [TestMethod]
    public void SetYieldsTheAssignedValue() =>
        Assert.AreEqual(14, Evaluate("(let ((a 0)) (+ (set a 7) a))"));

    [TestMethod]
    public void OperandsAreEvaluatedLeftToRight() =>
        Assert.AreEqual(1 * 10 + 5, Evaluate("(let ((a 1)) (+ (* a 10) (set a 5)))"));

    [TestMethod]
    public void VariableReadBeforeASiblingAssignmentKeepsItsValue() =>
        Assert.AreEqual(1 - 5, Evaluate("(let ((a 1)) (- a (set a 5)))"));

    [TestMethod]
    public void WhileLoopsAndYieldsZero()
    {
        Assert.AreEqual(5050, Evaluate("(let ((i 0) (s 0)) (while (<= i 100) (set s (+ s i)) (set i (+ i 1))) s)"));
        Assert.AreEqual(0, Evaluate("(let ((i 3)) (while (> i 0) (set i (- i 1))))"));
        Assert.AreEqual(7, Evaluate("(let ((i 7)) (while 0 (set i 0)) i)"));
    }

    [TestMethod]
    public void ReturnLeavesTheFunctionEarly()
    {
        using var library = Compile("""
            (define-function first-multiple (n k)
              (let ((i 1))
                (while 1
                  (if (= 0 (% i k)) (return (* i n)))
                  (set i (+ i 1)))))
            (define-function early (x) (return x) 99)
            """);
        Assert.AreEqual(36, library.Call("first-multiple", 6, 6));
        Assert.AreEqual(5, library.Call("early", 5));
    }

    [TestMethod]
    public void TheIssueExampleComputesFibonacciIteratively()
    {
        using var library = Compile("""
            (define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))
            (define-function triple (x) (* 3 x))
            """);
        Assert.AreEqual(12586269025, library.Call("fib-iter", 50));
        Assert.AreEqual(-42, library.Call("triple", -14));
        Assert.AreEqual(0, library.Call("fib-iter", 0));
        Assert.AreEqual(7540113804746346429, library.Call("fib-iter", 92));
    }
}

[TestClass]
public sealed class ControlFlowTestsAtO0 : ControlFlowTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class ControlFlowTestsAtO1 : ControlFlowTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
