namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// The evaluator remembers where a symbol datum's name was found (GlobalEnvironment's lookup slots);
/// each test looks the same datum up again after something changed what the name means.
/// </summary>
[TestClass]
public sealed class GlobalLookupTests
{
    /// <summary>What the source's dumps printed, one value after another.</summary>
    private static string Printed(string source)
    {
        var run = CompileTime.Evaluate(source);
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        return string.Concat(run.Result.Messages);
    }

    [TestMethod]
    public void ADefinitionInASectionHidesTheRootsAfterTheSameDatumFoundTheRoots()
    {
        var printed = Printed("""
            (define k 1)
            (define probe '(+ k 0))
            (dump (eval probe))
            (compile-begin)
            (dump (eval probe))
            (define k 2)
            (dump (eval probe))
            (compile-end)
            (dump (eval probe))
            """);
        Assert.AreEqual("1121", printed);
    }

    [TestMethod]
    public void ANameFoundNowhereIsFoundOnceDefined()
    {
        // Expansion asks whether the bare zz is a symbol macro: no, then yes.
        var printed = Printed("""
            (define ready ())
            (define probe '(if ready zz 7))
            (dump (eval probe))
            (define zz (form () (lambda (env sym) 42)))
            (set ready 1)
            (dump (eval probe))
            (compile-begin)
            (compile-end)
            """);
        Assert.AreEqual("742", printed);
    }

    [TestMethod]
    public void AMacrosCopiedSymbolsSeeTheNameHiddenLater()
    {
        // Each expansion copies the template's f (with the call's location); every copy must find
        // the f that is visible where it is evaluated.
        var printed = Printed("""
            (define f (lambda () 1))
            (define-form call-f () '(f))
            (dump (call-f))
            (compile-begin)
            (dump (call-f))
            (define f (lambda () 2))
            (dump (call-f))
            (dump (call-f))
            (compile-end)
            (dump (call-f))
            """);
        Assert.AreEqual("11221", printed);
    }

    [TestMethod]
    public void OneDatumLookedUpFromTwoEnvironmentsInTurn()
    {
        var printed = Printed("""
            (define k 1)
            (define probe '(+ k 0))
            (define root-env ())
            (define-form capture-env () (set root-env *env*) ())
            (capture-env)
            (compile-begin)
            (define k 2)
            (dump (list (eval probe) (eval probe root-env) (eval probe) (eval probe root-env)))
            (compile-end)
            """);
        Assert.AreEqual("(2 1 2 1)", printed);
    }

    [TestMethod]
    public void DatumsOfOneNameLookedUpFromTwoEnvironmentsInTurn()
    {
        // Every datum of a name shares the name's slot: the k in root-k's body (home: the root) and
        // the k of each dump (the section) must each find their own environment's k, before and
        // after the section hides the root's.
        var printed = Printed("""
            (define k 1)
            (define root-k (lambda () k))
            (compile-begin)
            (dump (list (root-k) k (root-k) k))
            (define k 2)
            (dump (list (root-k) k (root-k) k))
            (define f (lambda () 0))
            (compile-end)
            (dump (list (root-k) k))
            """);
        Assert.AreEqual("(1 1 1 1)(1 2 1 2)(1 1)", printed);
    }

    [TestMethod]
    public void ANameMissingEverywhereIsFoundByOtherDatumsOnceDefined()
    {
        // Expansion asks for zz (a symbol macro?) through one datum, then another datum of zz is
        // evaluated after its definition.
        var printed = Printed("""
            (define probe '(if () zz 7))
            (dump (eval probe))
            (define zz 5)
            (dump (eval 'zz))
            (compile-begin)
            (define zz 6)
            (dump zz)
            (compile-end)
            """);
        Assert.AreEqual("756", printed);
    }
}
