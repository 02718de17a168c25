using Maru.Compiler.Diagnostics;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Lowering;

/// <summary>Programs the compiler must refuse: each error's code, message and exact position.</summary>
[TestClass]
public sealed class DiagnosticTests
{
    private static Diagnostic Single(string source)
    {
        var errors = CompiledLibrary.Errors(source, "lisp/bad.l");
        Assert.HasCount(1, errors, string.Join("\n", errors));
        return errors[0];
    }

    private static void AssertError(string source, DiagnosticCode code, int line, int column, string message)
    {
        var error = Single(source);
        Assert.AreEqual(code, error.Code, error.ToString());
        Assert.AreEqual(new SourceLocation("lisp/bad.l", line, column), error.Location, error.ToString());
        Assert.AreEqual(message, error.Message);
        Assert.AreEqual($"lisp/bad.l({line},{column}): error MARU{(int)code:D4}: {message}", error.ToString());
    }

    [TestMethod]
    public void UnknownVariable() =>
        AssertError("(define-function f (x)\n  (+ x y))", DiagnosticCode.UnknownVariable, 2, 8, "unknown variable 'y'");

    [TestMethod]
    public void UnknownFunction() =>
        AssertError("(define-function f (x) (g x))", DiagnosticCode.UnknownVariable, 1, 25, "unknown function 'g'");

    [TestMethod]
    public void WrongArityOfADirectCall() =>
        AssertError("(define-function add (a b) (+ a b))\n(define-function f () (add 1))", DiagnosticCode.WrongArgumentCount, 2, 24,
            "'add' takes 2 arguments but is called with 1 (defined at lisp/bad.l(1,1))");

    [TestMethod]
    public void WrongArityOfADirectCallCountsWhatIsWritten()
    {
        AssertError("(define-function add (a b) (+ a b))\n(define-function f () (add 1 2 3))", DiagnosticCode.WrongArgumentCount, 2, 24,
            "'add' takes 2 arguments but is called with 3 (defined at lisp/bad.l(1,1))");
        AssertError("(define-function zero () 0)\n(define-function f () (zero 1))", DiagnosticCode.WrongArgumentCount, 2, 24,
            "'zero' takes 0 arguments but is called with 1 (defined at lisp/bad.l(1,1))");
        AssertError("(define one (lambda (a) a))\n(define-function f () (one))", DiagnosticCode.WrongArgumentCount, 2, 24,
            "'one' takes 1 argument but is called with 0 (defined at lisp/bad.l(1,1))");
    }

    [TestMethod]
    public void WrongOperandCount() =>
        AssertError("(define-function f () (+ 1 2 3))", DiagnosticCode.WrongOperandCount, 1, 23, "operator '+' takes 2 operands, but 3 were given");

    // Every operator with an operand count it does not take: the message names the counts it does
    // (a unary and binary '-', a unary 'not', the ternary stores), so the table of names, counts and
    // operators lowering compiles inline is checked name by name.
    [TestMethod]
    [DataRow("-", "1 2 3", "1 or 2 operands", "3 were")]
    [DataRow("not", "1 2", "1 operand", "2 were")]
    [DataRow("+", "1", "2 operands", "1 was")]
    [DataRow("*", "1 2 3", "2 operands", "3 were")]
    [DataRow("/", "1", "2 operands", "1 was")]
    [DataRow("%", "1", "2 operands", "1 was")]
    [DataRow("&", "1", "2 operands", "1 was")]
    [DataRow("|", "1", "2 operands", "1 was")]
    [DataRow("^", "1", "2 operands", "1 was")]
    [DataRow("<<", "1", "2 operands", "1 was")]
    [DataRow(">>", "1", "2 operands", "1 was")]
    [DataRow("<", "1", "2 operands", "1 was")]
    [DataRow("<=", "1", "2 operands", "1 was")]
    [DataRow("=", "1", "2 operands", "1 was")]
    [DataRow("!=", "1", "2 operands", "1 was")]
    [DataRow(">=", "1", "2 operands", "1 was")]
    [DataRow(">", "1", "2 operands", "1 was")]
    [DataRow("oop-at", "1", "2 operands", "1 was")]
    [DataRow("string-at", "1 2 3", "2 operands", "3 were")]
    [DataRow("set-oop-at", "1 2", "3 operands", "2 were")]
    [DataRow("set-string-at", "1", "3 operands", "1 was")]
    public void EveryOperatorNamesTheOperandCountsItTakes(string name, string operands, string takes, string given) =>
        AssertError($"(define-function f () ({name} {operands}))", DiagnosticCode.WrongOperandCount, 1, 23,
            $"operator '{name}' takes {takes}, but {given} given");

    [TestMethod]
    public void RedefinitionWarnsAndTheLaterDefinitionWins()
    {
        var result = CompiledLibrary.CompileOnly("(define x 1)\n(define x 2)\n(define-function f () x)", "lisp/bad.l");
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var warning = result.Diagnostics.Single();
        Assert.AreEqual(DiagnosticCode.Redefinition, warning.Code);
        Assert.AreEqual(DiagnosticSeverity.Warning, warning.Severity);
        Assert.AreEqual("lisp/bad.l(2,1): warning MARU0608: 'x' is defined again; this definition replaces the one at lisp/bad.l(1,1)", warning.ToString());
        using var library = CompiledLibrary.Compile("(define x 1)\n(define x 2)\n(define-function f () x)");
        Assert.AreEqual(2, library.Call("f"));
    }

    [TestMethod]
    public void DuplicateParameter() =>
        AssertError("(define-function f (a a) a)", DiagnosticCode.DuplicateParameter, 1, 23, "parameter 'a' appears twice in 'f'");

    [TestMethod]
    public void AssigningAFunction() =>
        AssertError("(define-function f () (set f 1))", DiagnosticCode.NotAssignable, 1, 28, "cannot assign to 'f': it is a function");

    [TestMethod]
    public void QuotedDataIsNotCompilable() =>
        AssertError("(define-function f () '(1 2))", DiagnosticCode.NotCompilable, 1, 23, "quoted data exists only at compile time and cannot be compiled into a function");

    [TestMethod]
    public void RealNumbersAreNotCompilable() =>
        AssertError("(define-function f () 1.5)", DiagnosticCode.NotCompilable, 1, 23, "floating-point numbers are not compilable: compiled Maru works on 64-bit integer words");

    [TestMethod]
    public void MalformedLet() =>
        AssertError("(define-function f () (let ((1 2)) 3))", DiagnosticCode.MalformedForm, 1, 29, "malformed let binding (1 2): expected (name value...)");

    [TestMethod]
    public void TopLevelExpressionsAreEvaluatedAtCompileTime()
    {
        using var library = CompiledLibrary.Compile("(define-function f () 1)\n(f)");
        Assert.AreEqual(1, library.Call("f"));
    }

    [TestMethod]
    public void EveryBadDefinitionIsReportedNotJustTheFirst()
    {
        var errors = CompiledLibrary.Errors("(define-function f () y)\n(define-function g () z)", "lisp/bad.l");
        CollectionAssert.AreEqual(new[] { "unknown variable 'y'", "unknown variable 'z'" }, errors.Select(e => e.Message).ToArray());
    }

    [TestMethod]
    public void DeeplyNestedExpressionsCompile()
    {
        var depth = 990; // within the reader's limit, far beyond any real program
        var source = "(define-function f (x) " + string.Concat(Enumerable.Repeat("(- ", depth)) + "x" + new string(')', depth) + ")";
        using var library = CompiledLibrary.Compile(source);
        Assert.AreEqual(depth % 2 == 0 ? 5 : -5, library.Call("f", 5));
    }

    [TestMethod]
    public void CompiledCodeCannotCallAPreludeFunction() =>
        AssertError("(define-function f (x)\n  (list-length x))", DiagnosticCode.CompileTimeOnly, 2, 4,
            "'list-length' exists only at compile time and cannot be used by compiled code; define it between (compile-begin) and (compile-end) to compile it");

    [TestMethod]
    public void CompiledCodeCannotUseAFunctionDefinedOutsideTheCompileSection() =>
        AssertError("(define helper (lambda (x) (+ x 1)))\n(compile-begin)\n(define-function f (x) (helper x))\n(compile-end)", DiagnosticCode.CompileTimeOnly, 3, 25,
            "'helper' exists only at compile time and cannot be used by compiled code; define it between (compile-begin) and (compile-end) to compile it");
}
