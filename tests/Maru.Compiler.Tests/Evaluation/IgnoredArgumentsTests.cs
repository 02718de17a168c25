using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// A macro whose body never names its arguments (<c>(define-form check prog ())</c>, a debugging
/// form compiled out) cannot see them, so relocating a macro result leaves the arguments of such a
/// call as the macro made them when the expansion is sure to hand them to it (Interpreter.Relocate).
/// Everything else must be as before: the code compiled, the locations of errors, data that is a
/// copy of a template, and arguments that do become code after all because the macro changed first.
/// </summary>
[TestClass]
public sealed class IgnoredArgumentsTests
{
    private const string Macros = """
        (define-form check prog ())
        (define-function warm-up () (check this is never compiled) 0)
        (define-form checked-div (a b)
          `(let ((d ,b))
             (check (and d (not (= d 0))) (fatal "division by zero" d) (size-of-nothing d) "text" 42)
             (/ ,a d)))
        (define-form tagged (x)
          `(let ((v ,x))
             (check (let ((w (check v))) (or (& w 1) (undefined-function w))))
             (if (& v 1) (>> v 1) (- 0 v))))
        """;

    /// <summary>Functions whose macros' templates call a macro that ignores its arguments, run on x86-64 (O0, O1) and arm64 under qemu.</summary>
    [TestMethod]
    public void FunctionsWhoseTemplatesCallAnIgnoringMacroRun()
    {
        var source = Macros + """

            (define-function f (a b) (checked-div (+ a 1) b))
            (define-function g (x) (+ (tagged x) (tagged (checked-div x 3))))
            (define-function h (x y) (let ((s 0)) (while (> x 0) (set s (+ s (checked-div (tagged y) x))) (set x (- x 1))) s))
            """;
        static long Div(long a, long b) => b == 0 ? 0 : (a == long.MinValue && b == -1) ? a : a / b;
        static long Tagged(long v) => (v & 1) != 0 ? v >> 1 : unchecked(0 - v);
        static long F(long a, long b) => Div(unchecked(a + 1), b);
        static long G(long x) => unchecked(Tagged(x) + Tagged(Div(x, 3)));
        static long H(long x, long y)
        {
            long s = 0;
            for (; x > 0; x--) s = unchecked(s + Div(Tagged(y), x));
            return s;
        }
        var cases = new List<(string Function, long[] Arguments, long Expected)>();
        foreach (var (a, b) in new (long, long)[] { (7, 2), (-7, 2), (5, 0), (long.MaxValue, 1), (long.MinValue, -1), (-1, -1), (0, 0) })
            cases.Add(("f", [a, b], F(a, b)));
        foreach (var x in new long[] { 0, 1, -1, 6, 7, -9, long.MaxValue, long.MinValue })
        {
            cases.Add(("g", [x], G(x)));
            cases.Add(("h", [5, x], H(5, x)));
        }
        CompiledLibrary.AssertCallsAtO0AndO1(source, cases);
        Arm64Batch.AssertCalls(source, cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
    }

    /// <summary>
    /// A macro expanded between the relocation and the call makes check use its arguments (arm), or
    /// makes it no macro at all (unarm): they are relocated before the expansion reaches them, so
    /// what they compile to is the same and an error in them is at the macro call, as if they had
    /// been relocated with the rest.
    /// </summary>
    [TestMethod]
    public void ArgumentsAreRelocatedWhenTheMacroChangesBeforeTheCall()
    {
        const string redefine = """
            (define-form arm () (eval '(define-form check prog `(let () ,@prog))) ())
            (define-form m (x) `(let ((v ,x)) (arm) (check (set v (+ v 10))) v))
            (define-form unarm () (eval '(define check 0)) ())
            (define-form bad (x) `(let ((v ,x)) (unarm) (check (set v (+ v unknown-name))) v))
            """;
        using (var library = CompiledLibrary.Compile(Macros + "\n" + redefine + "\n(define-function f (x) (m x))"))
        {
            Assert.AreEqual(17L, library.Call("f", 7));
            Assert.AreEqual(unchecked(long.MaxValue + 10), library.Call("f", long.MaxValue));
        }
        var text = Macros + "\n" + redefine + "\n(define-function f (x)\n  (bad x))\n";
        var result = MaruCompiler.Compile([new SourceFile("test.l", text)], CompiledLibrary.Options);
        var errors = result.Diagnostics.Where(d => d.IsError).ToList();
        Assert.HasCount(1, errors, string.Join("\n", result.Diagnostics));
        Assert.AreEqual(DiagnosticCode.UnknownVariable, errors[0].Code, errors[0].ToString());
        // At the call of bad (the last line), where the template's pieces are located, not in bad's template.
        Assert.AreEqual(new SourceLocation("test.l", text.Split('\n').Length - 1, 3), errors[0].Location, errors[0].ToString());
    }

    /// <summary>
    /// A call of check inside quoted data, or inside the arguments of a macro that may keep it as
    /// data, is copied whole with the template's other pieces: changing the data one expansion
    /// returned leaves the template, and so the next expansion, as it was.
    /// </summary>
    [TestMethod]
    public void DataThatHoldsACallIsStillACopy()
    {
        const string program = """
            (define-form check prog ())
            (check)
            (define-form keep (x) (list 'quote x))
            (define-form q1 () '(quote (check (1 2) 3)))
            (define-form q2 () '(keep (check (1 2) 3)))
            (define a (q1))
            (set-car (car (cdr a)) 99)
            (dump (q1))
            (define b (q2))
            (set-car (car (cdr b)) 99)
            (dump (q2))
            (compile-begin)
            (compile-end)
            """;
        var run = CompileTime.Evaluate(program);
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        Assert.AreEqual("(check (1 2) 3)(check (1 2) 3)", string.Concat(run.Result.Messages));
    }
}
