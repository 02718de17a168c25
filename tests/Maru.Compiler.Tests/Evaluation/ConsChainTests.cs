using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// Chains of calls of the built-in cons (what quasiquote templates become) are evaluated in a loop
/// (Interpreter.EvalConsChain) rather than one nested evaluation per element. They must mean
/// exactly what the nested evaluation means: the same values, the same lookups at the same moments
/// (a local or reassigned cons or quote), the same steps and memory charged in the same order (the
/// budgets' errors at the same places), and errors at the same locations.
/// </summary>
[TestClass]
public sealed class ConsChainTests
{
    [TestMethod]
    [DataRow("`(a b c)", "(a b c)")]
    [DataRow("(let ((x 5)) `(a (b ,x) (c (d ,@(list 1 2) e)) . f))", "(a (b 5) (c (d 1 2 e)) . f)")]
    [DataRow("`[1 -2 \"s\" (x . y) ()]", "(bracket 1 -2 \"s\" (x . y) ())")]
    [DataRow("`(((((deep)))) ((1) 2) . ((3)))", "(((((deep)))) ((1) 2) (3))")]
    [DataRow("(let ((n -9223372036854775808)) `(,(- n 1) ,(/ 7 0) ,(% -7 2)))", "(9223372036854775807 0 -1)")]
    [DataRow("(cons 1 (cons 2 3))", "(1 2 . 3)")]
    [DataRow("(cons 'a)", "(a)")]
    [DataRow("(cons 'a 'b (cons 'c ()))", "(a . b)")]
    [DataRow("(cons (quote) (cons (quote a b) (quote)))", "(() a)")]
    [DataRow("(let ((cons list)) `(a b))", "(a (b ()))")]
    [DataRow("(let ((quote (lambda (x) 7))) (cons (quote 1) (cons 2 (quote 3))))", "(7 2 . 7)")]
    // The first argument reassigns cons: the next level looks it up afterwards and finds list.
    [DataRow("(let ((cons cons)) (cdr (cons (set cons list) (cons 2 (cons 3 ())))))", "(2 (3 ()))")]
    [DataRow("(let ((cons cons)) (let ((r (cons (cons (set cons list) 'x) (cons 'y ())))) (list (cdr (car r)) (cdr r))))", "(x (y ()))")]
    [DataRow("(let ((l (list 1 2)) (quote quote)) (cdr (cdr (cons 'a (cons (set quote car) (cons (quote l) ()))))))", "(1)")]
    public void ChainsHaveTheValuesOfNestedCalls(string expression, string expected)
    {
        Assert.AreEqual(expected, CompileTime.Value(expression));
        Assert.AreEqual(expected, Value(expression, chains: false));
    }

    // Programs whose macros and top-level forms build lists by cons chains, with errors inside them.
    private static readonly string[] Programs =
    [
        """
        (define-form twice (x) `(let ((t ,x)) (+ t t)))
        (define-form wrap (name . body) `(define-function ,name (a b) (let ((s (+ a b)) (d (- a b))) ,@body)))
        (wrap f (twice (* s d)))
        (define-function nest (x) `(((,x (1 2 (3 (4 . 5)))) . ,x) [x ,x] {y}))
        (dump (nest 9))
        """,
        """
        (define-form bad (x) `(a (b (c ,(+ x "s") d) e) f))
        (define-function g () (bad 1))
        """,
        """
        (define-function build (n) (if (= n 0) () `(,n (q ,(- n 1)) . ,(build (- n 1)))))
        (dump (build 5))
        (dump (cons 'a (cons (build 2) (cons (undefined-name) ()))))
        """,
        """
        (define-function mk (x) `(a (b (c ,(%check-fields 'n x) d) e) f))
        (dump (mk '(p q)))
        (dump (mk '(1)))
        """,
        """
        (define count 0)
        (while 1 (set count (+ count 1)) (set count `(,count (a b (c d)) e . ,count)) (set count (car count)))
        """,
    ];

    [TestMethod]
    public void ChainsAgreeWithNestedCallsInDiagnosticsAndOutput()
    {
        foreach (var program in Programs)
        {
            var (on, onMessages) = Run(program, chains: true, maxSteps: 2_000_000);
            var (off, offMessages) = Run(program, chains: false, maxSteps: 2_000_000);
            CollectionAssert.AreEqual(off, on, program);
            CollectionAssert.AreEqual(offMessages, onMessages, program);
        }
    }

    [TestMethod]
    public void AMacrosErrorInsideATemplateIsAtTheMacroCall()
    {
        var error = CompileTime.Error("(define-form bad (x) `(a (b (c ,(+ x \"s\") d) e) f))\n(define-function g ()\n  (bad 1))\n");
        Assert.AreEqual(DiagnosticCode.TypeError, error.Code, error.ToString());
        Assert.AreEqual(3, error.Location.Line, error.ToString());
    }

    /// <summary>
    /// Every step and every charge lands where the nested evaluation puts it: with each limit in a
    /// sweep, the endless template loop stops after the same output at the same place either way.
    /// </summary>
    [TestMethod]
    public void TheStepAndMemoryBudgetsRunOutAtTheSamePlaces()
    {
        const string program = """
            (define n 0)
            (while 1
              (set n (+ n 1))
              (dump `(,n (a (b ,(+ n 1) . c) [d]) e ,@(list n n) . f)))
            """;
        var baseline = Run(program, chains: false, maxSteps: 50_000_000, maxMemory: 1 << 20).Diagnostics;
        Assert.HasCount(1, baseline);
        Assert.AreEqual(DiagnosticCode.EvaluationMemoryLimitExceeded, baseline[0].Code, baseline[0].ToString());
        var stepStops = new HashSet<SourceLocation>();
        for (var steps = 400_000L; steps < 400_120; steps++)
        {
            var on = Run(program, chains: true, maxSteps: steps);
            var off = Run(program, chains: false, maxSteps: steps);
            CollectionAssert.AreEqual(off.Diagnostics, on.Diagnostics, $"step limit {steps}");
            CollectionAssert.AreEqual(off.Messages, on.Messages, $"step limit {steps}");
            Assert.AreEqual("test.l", on.Diagnostics[0].Location.File, on.Diagnostics[0].ToString());
            stepStops.Add(on.Diagnostics[0].Location);
        }
        Assert.IsGreaterThan(3, stepStops.Count, "the sweep stops at several places of the template");
        for (var memory = 1L << 20; memory < (1 << 20) + 48 * 40; memory += 16)
        {
            var on = Run(program, chains: true, maxMemory: memory);
            var off = Run(program, chains: false, maxMemory: memory);
            CollectionAssert.AreEqual(off.Diagnostics, on.Diagnostics, $"memory limit {memory}");
            CollectionAssert.AreEqual(off.Messages, on.Messages, $"memory limit {memory}");
        }
    }

    /// <summary>Functions written by template macros, compiled and run on x86-64 (O0, O1) and arm64 under qemu.</summary>
    [TestMethod]
    public void FunctionsWrittenByTemplatesRun()
    {
        const string source = """
            (define-form horner (name . coefficients)
              (let ((body (car coefficients)))
                (let ((rest (cdr coefficients)))
                  (while rest (set body `(+ (* x ,body) ,(car rest))) (set rest (cdr rest))))
                `(define-function ,name (x) ,body)))
            (horner poly 3 -2 0 7)
            (define-form clamp-div (name lo hi) `(define-function ,name (a b) (let ((q (/ a b))) (if (< q ,lo) ,lo (if (> q ,hi) ,hi q)))))
            (clamp-div cdiv -100 100)
            (define-form sum-of (name . terms)
              (let ((body (car terms)) (rest (cdr terms)))
                (while rest (set body `(+ ,body ,(car rest))) (set rest (cdr rest)))
                `(define-function ,name (a b) ,body)))
            (sum-of mix (* a a) (- b) (% a 7) (/ b a) 9223372036854775807)
            """;
        static long Poly(long x) => unchecked(((3 * x - 2) * x + 0) * x + 7);
        static long Div(long a, long b) => b == 0 ? 0 : (a == long.MinValue && b == -1) ? a : a / b;
        static long Rem(long a, long b) => b == 0 ? 0 : (a == long.MinValue && b == -1) ? 0 : a % b;
        static long CDiv(long a, long b) => Math.Clamp(Div(a, b), -100, 100);
        static long Mix(long a, long b) => unchecked(a * a + -b + Rem(a, 7) + Div(b, a) + long.MaxValue);
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        foreach (var x in new long[] { 0, 1, -1, 5, -7, 1L << 21, long.MaxValue, long.MinValue })
            cases.Add(("poly", [x], Poly(x)));
        foreach (var (a, b) in new (long, long)[] { (7, 2), (-7, 2), (1000, 3), (-1000, 3), (5, 0), (long.MinValue, -1), (0, 0), (3, -1) })
        {
            cases.Add(("cdiv", [a, b], CDiv(a, b)));
            cases.Add(("mix", [a, b], Mix(a, b)));
        }
        CompiledLibrary.AssertCallsAtO0AndO1(source, cases);
        Arm64Batch.AssertCalls(source, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }

    private static string Value(string expression, bool chains)
    {
        var (diagnostics, messages) = Run($"(dump {expression})", chains);
        Assert.IsEmpty(diagnostics, string.Join("\n", diagnostics));
        return messages[^1];
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
