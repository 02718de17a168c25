using Maru.Compiler.Diagnostics;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>Errors of compile-time evaluation: code, message and location, and the limits that keep the build safe.</summary>
[TestClass]
public sealed class EvaluationErrorTests
{
    [TestMethod]
    public void UnknownVariableAtTheSymbol() =>
        CompileTime.AssertError(CompileTime.Error("(define x (+ 1\n   nowhere))"), DiagnosticCode.UnknownVariable, 2, 4, "unknown variable 'nowhere'");

    [TestMethod]
    public void UnknownFunctionAtTheSymbol() =>
        CompileTime.AssertError(CompileTime.Error("(println (frobnicate 1))"), DiagnosticCode.UnknownVariable, 1, 11, "unknown function 'frobnicate'");

    [TestMethod]
    public void SetOfAnUndefinedVariable() =>
        CompileTime.AssertError(CompileTime.Error("(set nowhere 1)"), DiagnosticCode.UnknownVariable, 1, 6, "cannot set undefined variable 'nowhere'");

    [TestMethod]
    public void UserErrorsCarryTheirMessage() =>
        CompileTime.AssertError(CompileTime.Error("(define x 1)\n  (error \"bad value: \" 42 \" for \" 'x)"), DiagnosticCode.UserError, 2, 3, "bad value: 42 for x");

    [TestMethod]
    public void PrimitivesCheckTheirArgumentTypes()
    {
        CompileTime.AssertError(CompileTime.Error("(+ 1 \"two\")"), DiagnosticCode.TypeError, 1, 1, "'+' expects an integer as argument 2, not the string \"two\"");
        CompileTime.AssertError(CompileTime.Error("(string-length 'sym)"), DiagnosticCode.TypeError, 1, 1, "'string-length' expects a string as argument 1, not the symbol 'sym'");
        CompileTime.AssertError(CompileTime.Error("(car 1 2)"), DiagnosticCode.WrongArgumentCount, 1, 1, "'car' takes 1 argument but is called with 2");
    }

    [TestMethod]
    public void ErrorsInsidePreludeFunctionsPointAtTheUsersCall() =>
        CompileTime.AssertError(CompileTime.Error("(define x\n  (foldr + 0 '(1 a)))"), DiagnosticCode.TypeError, 2, 3, "'+' expects an integer as argument 1, not the symbol 'a'");

    [TestMethod]
    public void WrongArgumentCountOfAClosure() =>
        CompileTime.AssertError(CompileTime.Error("(define-function f (a b) a)\n(f 1)\n(compile-begin)(compile-end)"), DiagnosticCode.WrongArgumentCount, 2, 1, "'f' takes 2 arguments but is called with 1");

    [TestMethod]
    public void WrongArgumentCountOfAMacroCountsOnlyTheWrittenArguments()
    {
        // The expander's hidden *env* parameter is not the user's business.
        CompileTime.AssertError(CompileTime.Error("(define-form two (a b) a)\n(define-function f () (two 1))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'two' takes 2 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(define-form one (a) a)\n(define-function f () (one 1 2))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'one' takes 1 argument but is called with 2");
        CompileTime.AssertError(CompileTime.Error("(define-form some (a . rest) a)\n(define-function f () (some))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'some' takes at least 1 argument but is called with 0");
        CompileTime.AssertError(CompileTime.Error("(define-form pair (a b . rest) a)\n(define-function f () (pair 1))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'pair' takes at least 2 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(define-form none () 1)\n(define-function f () (none 1))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'none' takes 0 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(define-macro twice (a b) (+ a b))\n(define-function f () (twice 1 2 3))"), DiagnosticCode.WrongArgumentCount, 2, 23, "'twice' takes 2 arguments but is called with 3");
        // The right count expands: the same macros, called as written.
        Assert.AreEqual(3, CompiledLibrary.Evaluate("(f)", "(define-form two (a b) `(+ ,a ,b))\n(define-function f () (two 1 2))"));
    }

    [TestMethod]
    public void WrongArgumentCountsOfFunctionsLambdasAndRestParametersAreTheWrittenOnes()
    {
        // Compile-time functions: too few, too many, a rest parameter, an anonymous lambda, apply.
        CompileTime.AssertError(CompileTime.Error("(define-function f (a b) a)\n(f 1 2 3)"), DiagnosticCode.WrongArgumentCount, 2, 1, "'f' takes 2 arguments but is called with 3");
        CompileTime.AssertError(CompileTime.Error("(define-function f () 0)\n(f 1)"), DiagnosticCode.WrongArgumentCount, 2, 1, "'f' takes 0 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(define-function g (a b . r) a)\n(g 1)\n(compile-begin)(compile-end)"), DiagnosticCode.WrongArgumentCount, 2, 1, "'g' takes at least 2 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(define-function g (a . r) a)\n(g)\n(compile-begin)(compile-end)"), DiagnosticCode.WrongArgumentCount, 2, 1, "'g' takes at least 1 argument but is called with 0");
        CompileTime.AssertError(CompileTime.Error("(println ((lambda (a) a)))"), DiagnosticCode.WrongArgumentCount, 1, 10, "the closure takes 1 argument but is called with 0");
        CompileTime.AssertError(CompileTime.Error("(define-function f (a b) a)\n(apply f '(1 2 3))"), DiagnosticCode.WrongArgumentCount, 2, 1, "'f' takes 2 arguments but is called with 3");
        // Primitives: a fixed count and a minimum.
        CompileTime.AssertError(CompileTime.Error("(string-at \"a\")"), DiagnosticCode.WrongArgumentCount, 1, 1, "'string-at' takes 2 arguments but is called with 1");
        CompileTime.AssertError(CompileTime.Error("(- 1 2 3)"), DiagnosticCode.WrongArgumentCount, 1, 1, "'-' takes 1 to 2 arguments but is called with 3");
        CompileTime.AssertError(CompileTime.Error("(apply)"), DiagnosticCode.WrongArgumentCount, 1, 1, "'apply' takes at least 1 argument but is called with 0");
    }

    [TestMethod]
    public void CallingANonFunction() =>
        CompileTime.AssertError(CompileTime.Error("(1 2)"), DiagnosticCode.NotCallable, 1, 1, "cannot call the integer 1");

    [TestMethod]
    public void ErrorsInsideAMacroPointAtTheCallAndNameTheMacro()
    {
        const string source = """
            (define-form checked (x)
              (if (symbol? x) x (error "checked wants a symbol, not " x)))
            (define-function f ()
              (checked 42))
            """;
        CompileTime.AssertError(CompileTime.Error(source), DiagnosticCode.UserError, 4, 3, "in expansion of macro 'checked': checked wants a symbol, not 42");
    }

    [TestMethod]
    public void ErrorsInHelpersCalledByAMacroPointAtTheCall()
    {
        const string source = "(define-function helper (x) (car x x))\n(define-form m () (helper 1))\n(compile-begin)\n  (define-function f () (m))\n(compile-end)";
        CompileTime.AssertError(CompileTime.Error(source), DiagnosticCode.WrongArgumentCount, 4, 25, "in expansion of macro 'm': 'car' takes 1 argument but is called with 2");
    }

    [TestMethod]
    public void PreludeMacroErrorsPointAtTheUsersCall() =>
        CompileTime.AssertError(CompileTime.Error("(compile-begin)\n(define-structure <p> (x y x))\n(compile-end)"), DiagnosticCode.UserError, 2, 1,
            "in expansion of macro 'define-structure': field 'x' multiply-defined in structure: <p>");

    [TestMethod]
    public void AMacroExpandingToItselfStops() =>
        CompileTime.AssertError(CompileTime.Error("(define-form f () '(f))\n(define-function g ()\n  (f))"), DiagnosticCode.MacroError, 3, 3,
            "macro 'f' expands without end: expansion nested more than 10,000 levels deep");

    [TestMethod]
    public void EndlessRecursionInMacroCodeStops()
    {
        var error = CompileTime.Error("(define-function loop (n) (+ 1 (loop n)))\n(define-form m () (loop 0))\n(define-function g () (m))");
        Assert.AreEqual(DiagnosticCode.EvaluationDepthExceeded, error.Code, error.ToString());
        Assert.AreEqual(new SourceLocation("test.l", 3, 23), error.Location);
        StringAssert.StartsWith(error.Message, "in expansion of macro 'm': compile-time evaluation nested more than");
    }

    // Which form of the loop takes the last step depends on how many steps the prelude used (they
    // count against the limit), so the error is only required to point into the looping form.
    [TestMethod]
    public void EndlessLoopsRunOutOfSteps()
    {
        var error = CompileTime.Error("(define x 0)\n(while 1 (set x (+ x 1)))", maxSteps: 100_000);
        Assert.AreEqual(DiagnosticCode.EvaluationStepLimitExceeded, error.Code, error.ToString());
        Assert.AreEqual("compile-time evaluation did not finish within 100,000 steps (MaxEvaluationSteps; an endless loop in a macro or top-level form?)", error.Message);
        Assert.AreEqual("test.l", error.Location.File);
        Assert.AreEqual(2, error.Location.Line, error.ToString());
    }

    [TestMethod]
    public void TheDefaultStepLimitStopsAnEndlessLoop()
    {
        // How fast the limit is reached is for the benchmark (docs/performance.md), not for a timed unit test.
        var error = CompileTime.Error("(while 1)");
        Assert.AreEqual(DiagnosticCode.EvaluationStepLimitExceeded, error.Code);
        StringAssert.Contains(error.Message, "50,000,000 steps");
    }

    [TestMethod]
    public void EachBadTopLevelFormIsReported()
    {
        var run = CompileTime.Evaluate("(car 1 2)\n(define ok 1)\n(nowhere)");
        CollectionAssert.AreEqual(new[] { "'car' takes 1 argument but is called with 2", "unknown function 'nowhere'" }, run.Errors.Select(e => e.Message).ToArray());
    }

    [TestMethod]
    public void EvaluationErrorsFailTheCompilation()
    {
        var errors = CompiledLibrary.Errors("(define-function f () 1)\n(error \"stop\")", "lisp/bad.l");
        Assert.HasCount(1, errors);
        Assert.AreEqual("lisp/bad.l(2,1): error MARU0603: stop", errors[0].ToString());
    }

    [TestMethod]
    public void CopyingWorkCountsAgainstTheStepBudget()
    {
        // Growing a string one character at a time copies it each time: quadratic work, charged by size.
        var error = CompileTime.Error("(let ((s \"\") (i 0)) (while 1 (set-string-at s i ?x) (set i (+ i 1))))", maxSteps: 1_000_000);
        Assert.AreEqual(DiagnosticCode.EvaluationStepLimitExceeded, error.Code);
    }

    [TestMethod]
    public void CircularDataIsPrintedCutShort()
    {
        var run = CompileTime.Evaluate("(define l (list 1 2))\n(set-cdr (cdr l) l)\n(print l)\n(compile-begin)(compile-end)");
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        StringAssert.EndsWith(run.Result.Messages[0], " ...)");
    }

    [TestMethod]
    public void ACircularMacroResultIsAnError()
    {
        var error = CompileTime.Error("(define-form m () (let ((l (list 'f 1))) (set-cdr (cdr l) l) l))\n(define-function g () (m))");
        Assert.AreEqual(DiagnosticCode.MacroError, error.Code, error.ToString());
        Assert.AreEqual(new SourceLocation("test.l", 2, 23), error.Location);
    }
}
