using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>Macro expansion: define-form, quasiquote, the set rewrite, constants, and where generated code is located.</summary>
[TestClass]
public sealed class ExpansionTests
{
    private static FunctionDefinition Function(CompileTime.Run run, string name)
    {
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        return (FunctionDefinition)run.Unit.Lookup(name)!;
    }

    private static string Body(string source, string name = "f") =>
        string.Join(" ", Function(CompileTime.Evaluate(source), name).Body.Select(DatumPrinter.Print));

    [TestMethod]
    [DataRow("`(a b)", "(a b)")]
    [DataRow("(let ((x 1)) `(a ,x))", "(a 1)")]
    [DataRow("(let ((x '(1 2))) `(a ,@x b))", "(a 1 2 b)")]
    [DataRow("(let ((x '(1 2))) `(a ,@x))", "(a 1 2)")]
    [DataRow("(let ((x 3)) `(a . ,x))", "(a . 3)")]
    [DataRow("(let ((x 3)) `((nested ,x) ,(+ x 1)))", "((nested 3) 4)")]
    [DataRow("`x", "x")]
    [DataRow("(let ((x 5)) `,x)", "5")]
    public void Quasiquote(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    public void DefineFormMacrosRewriteTheirCallsAndSeeTheEnvironment()
    {
        const string definitions = """
            (define-form swap! (a b) `(let ((_t_ ,a)) (set ,a ,b) (set ,b _t_)))
            (define-form env-kind () (list 'quote (type-name-of *env*)))
            """;
        Assert.AreEqual("(2 1)", CompileTime.Value("(let ((x 1) (y 2)) (swap! x y) (list x y))", definitions));
        Assert.AreEqual("<env>", CompileTime.Value("(env-kind)", definitions));
    }

    [TestMethod]
    public void MacroResultsAreExpandedAgain() =>
        Assert.AreEqual("(if a (let () b c) (if d e ()))",
            CompileTime.Value("(expand '(my-cond (a b c) (d e)))", "(define-form my-cond clauses `(cond ,@clauses))"));

    [TestMethod]
    public void DefineMacroSubstitutesItsParameters() =>
        Assert.AreEqual("7", CompileTime.Value("(add3 4)", "(define-macro add3 (x) (+ x 3))"));

    [TestMethod]
    public void SetOfAnAccessorCallIsRewritten()
    {
        Assert.AreEqual("(set-oop-at p 2 7)", Body("(define-function f (p) (set (oop-at p 2) 7))"));
        Assert.AreEqual("(set-string-at s (+ i 1) 65)", Body("(define-function f (s i) (set (string-at s (+ i 1)) ?A))"));
    }

    [TestMethod]
    public void AConstantCanBeDefinedAgain()
    {
        // e.g. a file with (define-constant ...) loaded twice: the name in (define NAME ...) is not replaced by the old value
        Assert.AreEqual("7", CompileTime.Value("SIZE", "(define-constant SIZE 4)\n(define-constant SIZE 7)"));
        Assert.AreEqual("(+ x 7)", Body("(compile-begin)\n(define-constant SIZE 4)\n(define-constant SIZE (+ SIZE 3))\n(define-function f (x) (+ x SIZE))\n(compile-end)"));
    }

    [TestMethod]
    public void ConstantsAreFoldedIntoCompiledCode()
    {
        Assert.AreEqual("(+ x 32)", Body("(compile-begin)\n(define-constant SIZE (* 4 8))\n(define-function f (x) (+ x SIZE))\n(compile-end)"));
        Assert.AreEqual("32", CompileTime.Value("SIZE", "(define-constant SIZE (* 4 8))"));
    }

    [TestMethod]
    public void FunctionBodiesAreFullyExpanded() =>
        Assert.AreEqual("(let ((i 0) (_limit_ n)) (while (< i _limit_) (set s (+ s i)) (set i (+ i 1))))",
            Body("(define-function f (n s) (for (i 0 n) (incr s i)))"));

    [TestMethod]
    public void GeneratedCodeIsLocatedAtTheMacroCallAndArgumentsKeepTheirOwnLocations()
    {
        var f = Function(CompileTime.Evaluate("(define-function f (x)\n  (when x\n        (g x)))\n(define-function g (y) y)"), "f");
        var and = (PairDatum)f.Body[0]; // (and x (let () (g x)))
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 2, 3), and.Location);
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 2, 3), and.Head.Location); // 'and' came from the prelude's template
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 2, 9), ((PairDatum)and.Tail).Head.Location); // x is the user's
        var call = ((PairDatum)((PairDatum)((PairDatum)((PairDatum)and.Tail).Tail).Head).Tail).Tail;
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 3, 9), ((PairDatum)call).Head.Location);
    }

    [TestMethod]
    public void PairsAMacroMadeAreLocatedAtTheCallThatReturnsThem()
    {
        // remember keeps a list it made without returning it; replay, called later, returns it; twice
        // returns one list it made in two places. Every pair and template symbol takes the location of
        // the call that returned it, however the macro shared or kept it.
        const string source = """
            (define *kept* ())
            (define-form remember (x) (set *kept* (cons 'g (cons x ()))) x)
            (define-form replay () *kept*)
            (define-form twice (x) (let ((call (cons 'g (cons x ())))) (cons '+ (cons call (cons call ())))))
            (compile-begin)
            (define-function g (y) y)
            (define-function f (a)
              (remember a)
              (replay)
              (twice a))
            (compile-end)
            """;
        var f = Function(CompileTime.Evaluate(source), "f");
        Assert.AreEqual("a (g a) (+ (g a) (g a))", string.Join(" ", f.Body.Select(DatumPrinter.Print)));
        var replayed = (PairDatum)f.Body[1];
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 9, 3), replayed.Location);
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 9, 3), replayed.Head.Location);
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 9, 3), ((PairDatum)replayed.Tail).Head.Location); // the a remember was given, read before this call
        var sum = (PairDatum)f.Body[2];
        foreach (var call in new[] { (PairDatum)((PairDatum)sum.Tail).Head, (PairDatum)((PairDatum)((PairDatum)sum.Tail).Tail).Head })
        {
            Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 10, 3), call.Location);
            Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 10, 3), call.Head.Location);
            Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 10, 10), ((PairDatum)call.Tail).Head.Location);
        }
    }

    [TestMethod]
    public void LoweringErrorsInExpandedCodePointAtTheUsersFile()
    {
        var errors = TestSupport.CompiledLibrary.Errors("(define-function f (x)\n  (unless x (nowhere 1)))");
        Assert.HasCount(1, errors);
        Assert.AreEqual("unknown function 'nowhere'", errors[0].Message);
        Assert.AreEqual(new Diagnostics.SourceLocation("test.l", 2, 14), errors[0].Location);
    }
}
