using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>What gets compiled: compile-begin/compile-end sections, whole files, each kind of definition.</summary>
[TestClass]
public sealed class CompilationSelectionTests
{
    private static string[] Names(CompileTime.Run run) => run.Unit.Definitions.Select(d => d.Name).ToArray();

    [TestMethod]
    public void OnlyDefinitionsInsideASectionAreCompiled()
    {
        var run = CompileTime.Evaluate("""
            (define-function helper (x) (cons x x))
            (define table '(1 2 3))
            (compile-begin)
            (define-function twice (x) (* 2 x))
            (define counter 5)
            (define-form m () 1)
            (compile-end)
            (define-function after () 0)
            """);
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        CollectionAssert.AreEqual(new[] { "twice", "counter" }, Names(run));
        Assert.IsInstanceOfType<FunctionDefinition>(run.Unit.Lookup("twice"));
        Assert.AreEqual(5, ((IntegerDefinition)run.Unit.Lookup("counter")!).Value);
        foreach (var name in new[] { "helper", "table", "m", "after", "define-function", "cond", "car", "map" })
            Assert.IsTrue(run.Unit.IsCompileTimeOnly(name), name);
        foreach (var name in new[] { "twice", "counter", "if", "let", "+", "oop-at", "set-oop-at" })
            Assert.IsFalse(run.Unit.IsCompileTimeOnly(name), name);
    }

    [TestMethod]
    public void ASectionMayDefineCompiledCarAndConsWithoutBreakingTheMacros()
    {
        // Free names in a closure's body are looked up in the environment the closure was made in:
        // define-function, quasiquote and a root helper keep the compile-time cons and car while
        // the section defines compiled ones (as an emit.l program provides its own runtime).
        var run = CompileTime.Evaluate("""
            (define-function first-of (l) (car l))
            (define-form second (l) `(car (cdr ,l)))
            (compile-begin)
            (define malloc (extern 'malloc))
            (define-function cons (a d) (let ((c (malloc 16))) (set-oop-at c 0 a) (set-oop-at c 1 d) c))
            (define-function car (c) (oop-at c 0))
            (define-function cdr (c) (oop-at c 1))
            (define-function g (l) (second l))
            (define at-compile-time (first-of '(7 8)))
            (compile-end)
            """);
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        CollectionAssert.AreEqual(new[] { "malloc", "cons", "car", "cdr", "g", "at-compile-time" }, Names(run));
        Assert.AreEqual("(car (cdr l))", DatumPrinter.Print(((FunctionDefinition)run.Unit.Lookup("g")!).Body[0]));
        Assert.AreEqual(7, ((IntegerDefinition)run.Unit.Lookup("at-compile-time")!).Value);
    }

    [TestMethod]
    public void AFileWithoutCompileBeginIsCompiledWhole()
    {
        var run = CompileTime.Evaluate("(define-function f () 1)\n(define g 2)\n(define-form m () 3)\n(define s \"text\")\n(define printf (extern 'printf))\n(define z)");
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        CollectionAssert.AreEqual(new[] { "f", "g", "s", "printf", "z" }, Names(run));
        Assert.AreEqual("text", ((StringDefinition)run.Unit.Lookup("s")!).Value);
        Assert.AreEqual("printf", ((ExternDefinition)run.Unit.Lookup("printf")!).Symbol);
        Assert.AreEqual(0, ((IntegerDefinition)run.Unit.Lookup("z")!).Value);
    }

    [TestMethod]
    public void DefinitionValuesAreTakenWhenTheSectionEnds()
    {
        var run = CompileTime.Evaluate("(compile-begin)\n(define n 1)\n(set n (+ n 41))\n(compile-end)");
        Assert.AreEqual(42, ((IntegerDefinition)run.Unit.Lookup("n")!).Value);
    }

    [TestMethod]
    public void DefinitionsComputedAtCompileTime()
    {
        var run = CompileTime.Evaluate("""
            (define-function square (x) (* x x))
            (define-form define-squares (n)
              (let ((forms ()))
                (for (i 0 n) (push forms `(define ,(concat-symbol 'square- (long->string i)) ,(square i))))
                `(let () ,@forms)))
            (compile-begin)
            (define-squares 4)
            (compile-end)
            """);
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        CollectionAssert.AreEquivalent(new[] { "square-0", "square-1", "square-2", "square-3" }, Names(run));
        Assert.AreEqual(9, ((IntegerDefinition)run.Unit.Lookup("square-3")!).Value);
    }

    [TestMethod]
    public void DocstringsAreDocumentationNotCode()
    {
        var run = CompileTime.Evaluate("(define-function f (x) \"Adds one.\" (+ x 1))\n(define-function g () \"just a string\")");
        var f = (FunctionDefinition)run.Unit.Lookup("f")!;
        Assert.AreEqual("Adds one.", f.Documentation);
        Assert.AreEqual("(+ x 1)", string.Join(" ", f.Body.Select(DatumPrinter.Print)));
        var g = (FunctionDefinition)run.Unit.Lookup("g")!;
        Assert.IsNull(g.Documentation);
        Assert.HasCount(1, g.Body);
    }

    [TestMethod]
    public void TheDefinitionIsLocatedAtTheDefiningForm()
    {
        var run = CompileTime.Evaluate("\n  (define-function f (a b) (+ a b))");
        var f = (FunctionDefinition)run.Unit.Lookup("f")!;
        Assert.AreEqual(new SourceLocation("test.l", 2, 3), f.Location);
        CollectionAssert.AreEqual(new[] { "a", "b" }, f.Parameters.Select(p => p.Name).ToArray());
        Assert.AreEqual(new SourceLocation("test.l", 2, 25), f.Parameters[1].Location);
    }

    [TestMethod]
    [DataRow("(define xs '(1 2))", "'xs' is the list (1 2) at compile time")]
    [DataRow("(define s 'sym)", "'s' is the symbol 'sym' at compile time")]
    [DataRow("(define p car)", "'p' is the primitive 'car' at compile time")]
    [DataRow("(define c (let ((n 1)) (lambda () n)))", "'c' is a closure over local variables at compile time")]
    public void ValuesWithoutANativeFormAreRefused(string definition, string start)
    {
        var error = CompileTime.Error($"(compile-begin)\n{definition}\n(compile-end)");
        Assert.AreEqual(DiagnosticCode.NotCompilableValue, error.Code);
        Assert.AreEqual(new SourceLocation("test.l", 2, 1), error.Location);
        StringAssert.StartsWith(error.Message, start);
        StringAssert.EndsWith(error.Message, "define it outside (compile-begin)/(compile-end) to keep it compile-time only");
    }

    [TestMethod]
    public void RestParametersAreNotCompilable()
    {
        var error = CompileTime.Error("(define-function f (a . more) a)");
        CompileTime.AssertError(error, DiagnosticCode.NotCompilableValue, 1, 25,
            "'f' takes a variable number of arguments ('more'), which compiled functions cannot; give it fixed parameters or keep it compile-time only");
    }

    [TestMethod]
    public void SectionsMustBeBalanced()
    {
        CompileTime.AssertError(CompileTime.Error("(compile-end)"), DiagnosticCode.CompileSectionMismatch, 1, 1, "(compile-end) without a matching (compile-begin)");
        CompileTime.AssertError(CompileTime.Error("\n(compile-begin)\n(define x 1)"), DiagnosticCode.CompileSectionMismatch, 2, 1, "(compile-begin) has no matching (compile-end)");
    }

    [TestMethod]
    public void StructureTypesAreConstantsAndAccessorsAreMacros()
    {
        var run = CompileTime.Evaluate("(compile-begin)\n(define-structure <point> (x y))\n(define-function py (p) (<point>-y p))\n(define-function t () <point>)\n(compile-end)");
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        CollectionAssert.AreEqual(new[] { "py", "t" }, Names(run));
        Assert.AreEqual("(oop-at p 1)", DatumPrinter.Print(((FunctionDefinition)run.Unit.Lookup("py")!).Body[0]));
        Assert.IsInstanceOfType<IntegerDatum>(((FunctionDefinition)run.Unit.Lookup("t")!).Body[0]);
    }

    [TestMethod]
    public void CompileTimeValuesSplicedIntoCodeAreRefusedAtTheMacroCall()
    {
        var error = CompileTime.Error("(define-form m () (list car 1))\n(define-function f ()\n  (m))");
        CompileTime.AssertError(error, DiagnosticCode.NotCompilableValue, 3, 3,
            "the body of 'f' contains the primitive 'car', a compile-time value (spliced in by a macro?) that cannot be compiled");
    }
}
