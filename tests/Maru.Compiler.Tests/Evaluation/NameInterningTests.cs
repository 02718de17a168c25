using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// Local bindings are found by comparing names by reference (Frame.TryFind), which is right only if
/// every symbol of a compilation takes its name from the compilation's NameTable. Each test binds a
/// local under a name from one source (the reader, string-&gt;symbol, concat-symbol, a macro's
/// template, the expander's set- rewrite, quasiquote's cons, the static t, the prelude snapshot)
/// and looks it up under the same name from another; a symbol made outside the table is not found
/// (unknown variable) or finds the wrong binding. Each runs with the prelude evaluated afresh and
/// copied from the snapshot (whose names seed the table).
/// </summary>
[TestClass]
public sealed class NameInterningTests
{
    private static string Printed(string source, bool reusePrelude)
    {
        var diagnostics = new DiagnosticBag();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test" };
        var result = Evaluator.Process([new SourceFile("test.l", source + "\n(compile-begin)\n(compile-end)")], options, diagnostics, reusePrelude);
        Assert.IsEmpty(diagnostics.Items, string.Join("\n", diagnostics.Items));
        return string.Join(" ", result.Messages);
    }

    /// <summary>The same output with a fresh prelude and with the snapshot's copy (taken by then: a clean prelude evaluated twice).</summary>
    private static void AssertPrints(string expected, string source)
    {
        Assert.AreEqual(expected, Printed(source, reusePrelude: false), "prelude evaluated afresh");
        Printed("(dumpln 0)", reusePrelude: false);
        Printed("(dumpln 0)", reusePrelude: false);
        Assert.IsNotNull(PreludeSnapshot.Current, "no prelude snapshot (its names were not one instance each?)");
        Assert.AreEqual(expected, Printed(source, reusePrelude: true), "prelude copied from the snapshot");
    }

    [TestMethod]
    public void ASymbolMadeByStringToSymbolBindsTheNameTheSourceReads() =>
        AssertPrints("42", "(dumpln (eval (list 'let (list (list (string->symbol \"counter\") 41)) '(+ counter 1))))");

    [TestMethod]
    public void AParameterTheSourceNamesIsFoundUnderASymbolMadeAtCompileTime() =>
        AssertPrints("21 24", """
            (define triple (eval (list 'lambda '(n) (list '* (string->symbol "n") 3))))
            (define quad (eval (list 'lambda (list (concat-symbol 'm "m")) '(* mm 4))))
            (dumpln (triple 7)) (dumpln (quad 6))
            """);

    [TestMethod]
    public void AMadeSymbolWithAPreludeNameShadowsThePreludesBinding() =>
        // car is a name the prelude snapshot holds: the made symbol and the read one must be its instance.
        AssertPrints("99 1", "(dumpln (eval (list 'let (list (list (string->symbol \"car\") '(lambda (x) 99))) '(car '(1 2))))) (dumpln (car '(1 2)))");

    [TestMethod]
    public void AMacrosTemplateBindsWhatTheCallersBodyReadsAndShadowingStillNests() =>
        AssertPrints("11 10 1 5", """
            (define-form with-x body `(let ((x 10)) ,@body))
            (dumpln (with-x (+ x 1)))
            (let ((x 1))
              (dumpln (with-x x))
              (dumpln x)
              (dumpln (let ((x 5)) x)))
            """);

    [TestMethod]
    public void TheSetRewritesNameFindsALocalBinding() =>
        // (set (thing 1) 2) becomes (set-thing 1 2): the expander makes the set-thing symbol.
        AssertPrints("3", "(dumpln (let ((set-thing (lambda (a v) (+ a v)))) (set (thing 1) 2)))");

    [TestMethod]
    public void QuasiquotesConsFindsALocalCons() =>
        // `(x ,1) is (cons 'x (cons 1 '())) made by the quasiquote form: a local cons is the one called.
        AssertPrints("mine", "(dumpln (let ((cons (lambda (a b) 'mine))) `(x ,1)))");

    [TestMethod]
    public void TheStaticTruthSymbolBindsTheNameTheSourceReads() =>
        // (= 1 1) returns the interpreter's own t symbol, here used as a binding name.
        AssertPrints("5", "(dumpln (eval (list 'let (list (list (= 1 1) 5)) 't)))");

    [TestMethod]
    public void NamesFromALoadedFileAndTheMainFileAreOneInstance()
    {
        var root = Directory.CreateTempSubdirectory("maru-names-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "lib.l"), "(define-form bind-v body `(let ((v 3)) ,@body))\n(define make-w (lambda () (string->symbol \"w\")))");
            var main = Path.Combine(root, "main.l");
            File.WriteAllText(main, "(load \"lib.l\")\n(dumpln (bind-v (* v 2)))\n(dumpln (eval (list 'let (list (list (make-w) 4)) 'w)))\n(compile-begin)\n(compile-end)");
            var result = MaruCompiler.Compile([SourceFile.Load(main)], CompiledLibrary.Options);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            CollectionAssert.AreEqual(new[] { "6", "4" }, result.Messages.ToArray());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void TheTableGivesOneInstancePerNameAndPrefersItsFrozenBase()
    {
        var names = new NameTable();
        var first = names.Intern("alpha".AsSpan());
        Assert.AreSame(first, names.Intern(new string("alpha".ToCharArray())));
        Assert.AreSame(first, names.Intern("xalphax".AsSpan(1, 5)));
        var made = new List<string>();
        for (var i = 0; i < 2000; i++) made.Add(names.Intern($"name{i}"));   // grows many times
        for (var i = 0; i < 2000; i++) Assert.AreSame(made[i], names.Intern($"name{i}".AsSpan()));
        Assert.AreSame(Interpreter.True.Name, names.Intern("t"));

        var frozen = NameTable.Frozen([first, made[7]])!;
        Assert.IsNotNull(frozen);
        Assert.ThrowsExactly<InvalidOperationException>(() => frozen.Intern("beta"));
        var later = new NameTable(frozen);
        Assert.AreSame(first, later.Intern(new string("alpha".ToCharArray())));
        Assert.AreSame(made[7], later.Intern("name7".AsSpan()));
        Assert.AreSame(Interpreter.True.Name, later.Intern("t"));
        Assert.AreNotSame(made[8], later.Intern("name8"));   // not in the base: the later table's own instance
        Assert.IsTrue(later.Holds(first));
        Assert.IsFalse(later.Holds(made[8]));
    }

    [TestMethod]
    public void AFrozenTableRefusesTwoInstancesOfOneName()
    {
        Assert.IsNull(NameTable.Frozen(["gamma", new string("gamma".ToCharArray())]));
        Assert.IsNull(NameTable.Frozen([new string("t".ToCharArray())]));   // t is the interpreter's instance in every table
        Assert.ThrowsExactly<ArgumentException>(() => new NameTable(new NameTable()));
    }
}
