using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// When a macro's result is a template and a list in it calls a macro that ignores its arguments
/// (<c>(define-form check prog ())</c>), the arguments that are themselves templates are not built
/// unless something keeps them (Interpreter.TryDefer, DeferredArguments.cs). Nothing may show it:
/// the values and compiled code, the errors and their places, and the steps and memory charged in
/// the same order, against the evaluation without cons chains (which never defers).
/// </summary>
[TestClass]
public sealed class DeferredArgumentsTests
{
    private const string Check = """
        (define-form check prog ())
        (check)
        """;

    // Programs whose templates call check with templates of every kind, kept or not, with errors.
    private static readonly string[] Programs =
    [
        Check + """
        (define-form m (x) `(let ((v ,x)) (check (a (b ,x c) [d ,x]) (e . f) "s" -7 ,x (g . ,x)) (check) (+ v 1)))
        (dump (expand '(m 5)))
        (define-form q (x) `(quote (check (a ,x) (b (c ,x)))))
        (dump (expand '(q 6)))
        (define-form k (x) `(quote2 (check (a ,x))))
        (define-form quote2 (y) (list 'quote y))
        (dump (expand '(k 7)))
        """,
        Check + """
        (define-form m (x) `(let ((v ,x)) (check (a (b ,unknown-name c))) v))
        (dump (expand '(m 5)))
        """,
        Check + """
        (define-form m (x) `(let ((v ,x)) (check (a (b ,(+ x "s") c))) v))
        (dump (expand '(m 5)))
        """,
        // check is redefined by code the template runs: its arguments are built after all.
        Check + """
        (define arm-now (lambda () (eval '(define-form check prog `(quote ,prog))) ()))
        (define-form m (x) `(list (check (a ,x (b ,x))) (check ,(arm-now) (c ,x)) (check (d ,x))))
        (dump (expand '(m 5)))
        """,
        // ... or by a macro the expansion reaches before the call.
        Check + """
        (define-form arm () (eval '(define-form check prog `(quote ,prog))) ())
        (define-form m (x) `(list (arm) (check (a ,x (b . ,x)) "t")))
        (dump (expand '(m 5)))
        (define-form unarm () (eval '(define check 0)) ())
        (define-form n (x) `(list (unarm) (check (a ,x))))
        (dump (expand '(n 5)))
        """,
        // The macro's result is not only the template: built as ever.
        Check + """
        (define-form m (x) (let ((r `(let () (check (a ,x))))) (dump r) r))
        (dump (expand '(m 5)))
        (define-form p (x) `(check (a ,x) . ,(cons 1 2)))
        (dump (expand '(p 5)))
        """,
    ];

    [TestMethod]
    public void DeferringAgreesWithNestedCallsInValuesAndDiagnostics()
    {
        foreach (var program in Programs)
        {
            var on = Run(program, chains: true);
            var off = Run(program, chains: false);
            CollectionAssert.AreEqual(off.Diagnostics, on.Diagnostics, program);
            CollectionAssert.AreEqual(off.Messages, on.Messages, program);
        }
        var first = Run(Programs[0], chains: true);
        Assert.IsEmpty(first.Diagnostics, string.Join("\n", first.Diagnostics));
        Assert.AreEqual("(let ((v 5)) () () (+ v 1))(quote (check (a 6) (b (c 6))))(quote (check (a 7)))", string.Concat(first.Messages));
        var armed = Run(Programs[3], chains: true);
        Assert.IsEmpty(armed.Diagnostics, string.Join("\n", armed.Diagnostics));
        Assert.AreEqual("(list (quote ((a 5 (b 5)))) (quote (() (c 5))) (quote ((d 5))))", string.Concat(armed.Messages));
    }

    /// <summary>
    /// Every step and every charge of an unbuilt argument lands where building it puts them: with
    /// each limit in a sweep, an endless loop of expansions stops after the same output at the same
    /// place either way.
    /// </summary>
    [TestMethod]
    public void TheStepAndMemoryBudgetsRunOutAtTheSamePlaces()
    {
        const string program = Check + """
            (define-form m (x) `(let ((v ,x)) (check (a (b ,x c) [d (e (f (g ,x)))]) "s" (h . i)) (+ v 1)))
            (define n 0)
            (while 1
              (set n (+ n 1))
              (dump (expand '(m 5))))
            """;
        var baseline = Run(program, chains: false, maxSteps: 50_000_000, maxMemory: 1 << 20).Diagnostics;
        Assert.IsNotEmpty(baseline);
        Assert.AreEqual(DiagnosticCode.EvaluationMemoryLimitExceeded, baseline[0].Code, baseline[0].ToString());
        var stepStops = new HashSet<long>();
        for (var steps = 100_000L; steps < 100_300; steps++)
        {
            var on = Run(program, chains: true, maxSteps: steps);
            var off = Run(program, chains: false, maxSteps: steps);
            CollectionAssert.AreEqual(off.Diagnostics, on.Diagnostics, $"step limit {steps}");
            CollectionAssert.AreEqual(off.Messages, on.Messages, $"step limit {steps}");
            stepStops.Add(string.Concat(on.Messages).Length);
        }
        Assert.IsGreaterThan(1, stepStops.Count, "the sweep stops in several expansions");
        for (var memory = 1L << 20; memory < (1 << 20) + 48 * 60; memory += 16)
        {
            var on = Run(program, chains: true, maxMemory: memory);
            var off = Run(program, chains: false, maxMemory: memory);
            CollectionAssert.AreEqual(off.Diagnostics, on.Diagnostics, $"memory limit {memory}");
            CollectionAssert.AreEqual(off.Messages, on.Messages, $"memory limit {memory}");
        }
    }

    /// <summary>Functions whose templates pass templates (with the macro's variables in them) to check, compiled and run on x86-64 (O0, O1) and arm64 under qemu.</summary>
    [TestMethod]
    public void FunctionsWhoseTemplatesDeferArgumentsRun()
    {
        const string source = Check + """
            (define-form safe-div (a b)
              `(let ((d ,b))
                 (check (let ((t (- d 0))) (or (not (= t 0)) (fatal ,a t))) (and ,b (size-of-nothing ,a)))
                 (/ ,a d)))
            (define-form twice (x) `(let ((v ,x)) (check (+ v ,x) [v]) (+ v v)))
            (define-function f (a b) (safe-div (twice a) (- b 1)))
            (define-function g (x) (let ((s 0)) (while (> x 0) (set s (+ s (safe-div 100 x))) (set x (- x 1))) (twice s)))
            """;
        static long Div(long a, long b) => b == 0 ? 0 : (a == long.MinValue && b == -1) ? a : a / b;
        static long F(long a, long b) => Div(unchecked(a + a), unchecked(b - 1));
        static long G(long x)
        {
            long s = 0;
            for (; x > 0; x--) s = unchecked(s + Div(100, x));
            return unchecked(s + s);
        }
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        foreach (var (a, b) in new (long, long)[] { (7, 3), (-7, 3), (5, 1), (long.MaxValue, 2), (long.MinValue, 0), (-1, -1), (0, 0) })
            cases.Add(("f", [a, b], F(a, b)));
        foreach (var x in new long[] { 0, 1, 7, -3, 100 })
            cases.Add(("g", [x], G(x)));
        CompiledLibrary.AssertCallsAtO0AndO1(source, cases);
        Arm64Batch.AssertCalls(source, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }

    /// <summary>check armed between the relocation and the call: its arguments, built then, hold the variables' values of the expansion.</summary>
    [TestMethod]
    public void ArgumentsBuiltLateHoldTheExpansionsValues()
    {
        const string source = Check + """
            (define-form arm () (eval '(define-form check prog `(let () ,@prog))) ())
            (define-form m (x k) `(let ((v ,x)) (arm) (check (set v (+ v ,k)) (set v (* v ,k))) v))
            (define-function f (x) (m x 3))
            (define-function g (x) (m (+ x 1) -2))
            """;
        using var library = CompiledLibrary.Compile(source);
        foreach (var x in new long[] { 0, 5, -9, long.MaxValue, long.MinValue })
        {
            Assert.AreEqual(unchecked((x + 3) * 3), library.Call("f", x));
            Assert.AreEqual(unchecked((x + 1 - 2) * -2), library.Call("g", x));
        }
    }

    private static (List<Diagnostic> Diagnostics, List<string> Messages) Run(string source, bool chains,
        long maxSteps = 50_000_000, long maxMemory = CompilationOptions.DefaultMaxEvaluationMemory)
    {
        var diagnostics = new DiagnosticBag();
        var options = new CompilationOptions
        {
            Target = CompiledLibrary.Options.Target, LibraryName = "test", MaxEvaluationSteps = maxSteps, MaxEvaluationMemory = maxMemory,
            ConsChainsForTesting = chains,
        };
        // The empty section keeps the file from being compiled whole: everything stays compile-time only.
        var result = Evaluator.Process([new SourceFile("test.l", source + "\n(compile-begin)\n(compile-end)\n")], options, diagnostics);
        return (diagnostics.Items.ToList(), result.Messages.ToList());
    }
}
