using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// The prelude is evaluated once per process and each compilation works on its own copy
/// (<see cref="PreludeSnapshot"/>); evaluation starts on the caller's thread and moves to the big
/// stack when that runs short. Neither may change what any compilation sees or reports.
/// </summary>
[TestClass]
public sealed class PreludeIsolationTests
{
    /// <summary>Changes everything of the prelude's a program can reach: tables, globals, functions, macros, strings in macro code.</summary>
    private const string Vandal = """
        (set-array-at %type-names 2 'bogus)
        (define-structure <point> (x y))
        (set %last-type 100)
        (set-array-at %structure-sizes 3 99)
        (set-array-at %structure-fields 3 '(a b c))
        (define-selector describe)
        (define-method describe <long> () 'long)
        (define-generic combine)
        (define-multimethod combine ((<long> a) (<long> b)) (+ a b))
        (set %selectors (cons (cons 'junk (array)) %selectors))
        (set-cdr (car %selectors) 'broken)
        (define-function memq (object list) 'hacked)
        (set assq (lambda (key list) 'hacked))
        (define-form when (test . body) ''hacked)
        (define-constant <long> 99)
        (define-function scribble (x)
          (if (pair? x)
              (let () (scribble (car x)) (scribble (cdr x)))
            (if (string? x) (set-string-at x 0 ?X))))
        (scribble (expand '(define-selector foo)))
        (scribble (expand '(define-generic bar)))
        (println "vandalised " (memq 1 '(1)) " " (when 1 2) " " %last-type)
        (compile-begin)(compile-end)
        """;

    /// <summary>Prints what the vandal changed, as a compilation sees it.</summary>
    private const string Probe = """
        (println (array-at %type-names 2) " " (name-of-type 17) " " %last-type " " (array-at %structure-sizes 3) " " %selectors " " %generics)
        (println (memq 2 '(1 2 3)) " " (assq 'b '((a . 1) (b . 2))) " " (when 1 2) " " <long>)
        (define-structure <q> (a))
        (println <q> " " (size-of-type <q>) " " (fields-of-type <q>) " " (name-of-type <q>))
        (define-selector sel)
        (define-method sel <long> () (+ self 1))
        (println (sel 41))
        (println (expand '(define-selector foo)))
        (println (expand '(define-generic bar)))
        (compile-begin)(compile-end)
        """;

    private static (IReadOnlyList<string> Messages, IReadOnlyList<Diagnostic> Diagnostics) Evaluate(string source, bool reusePrelude = true)
    {
        var diagnostics = new DiagnosticBag();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test" };
        var result = Evaluator.Process([new SourceFile("test.l", source)], options, diagnostics, reusePrelude);
        return (result.Messages, diagnostics.Items);
    }

    /// <summary>What the probe prints in a compilation that evaluates the prelude itself, as the first of a process does.</summary>
    private static IReadOnlyList<string> Pristine()
    {
        var (messages, diagnostics) = Evaluate(Probe, reusePrelude: false);
        Assert.IsEmpty(diagnostics, string.Join("\n", diagnostics));
        return messages;
    }

    private static void AssertVandalised()
    {
        var (messages, diagnostics) = Evaluate(Vandal);
        Assert.IsEmpty(diagnostics, string.Join("\n", diagnostics));
        CollectionAssert.AreEqual(new[] { "vandalised hacked hacked 100" }, messages.ToArray());
    }

    private static void AssertPristine(IReadOnlyList<string> pristine)
    {
        var (messages, diagnostics) = Evaluate(Probe);
        Assert.IsEmpty(diagnostics, string.Join("\n", diagnostics));
        CollectionAssert.AreEqual(pristine.ToArray(), messages.ToArray());
    }

    [TestMethod]
    public void TheProbeSeesThePrelude()
    {
        var pristine = Pristine();
        Assert.AreEqual("<long> () 16 1 () ()", pristine[0]); // <double> is a structure of one field, as in boot.l
        Assert.AreEqual("(2 3) (b . 2) 2 2", pristine[1]);
        Assert.AreEqual("17 1 (a) <q>", pristine[2]);
        Assert.AreEqual("42", pristine[3]);
        StringAssert.Contains(pristine[4], "(error selector  (quote foo)  has no method for ");
        StringAssert.Contains(pristine[5], "(error no method in  (quote bar)  for  arguments)");
    }

    [TestMethod]
    public void ACompilationThatChangesThePreludeLeavesTheNextOneAlone()
    {
        var pristine = Pristine();
        AssertPristine(pristine);
        AssertVandalised();
        AssertPristine(pristine);
        AssertVandalised();
        AssertVandalised();
        AssertPristine(pristine);
    }

    [TestMethod]
    public void CompilationsRunningAtOnceLeaveEachOtherAlone()
    {
        var pristine = Pristine();
        Parallel.For(0, 32, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (i % 2 == 0)
                AssertVandalised();
            else
                AssertPristine(pristine);
        });
        AssertPristine(pristine);
    }

    [TestMethod]
    public void CompilationsReuseTheEvaluatedPrelude()
    {
        AssertPristine(Pristine());
        var snapshot = PreludeSnapshot.Current;
        Assert.IsNotNull(snapshot, "the prelude snapshot was not taken (something in the prelude's graph cannot be copied?)");
        Assert.IsGreaterThan(0L, snapshot.Steps);

        var first = snapshot.Instantiate();
        var second = snapshot.Instantiate();
        Assert.HasCount(first.Variables.Count, second.Variables);
        for (var i = 0; i < first.Variables.Count; i++)
        {
            var (a, b) = (first.Variables[i], second.Variables[i]);
            Assert.AreEqual(a.Name, b.Name);
            Assert.AreNotSame(a, b, a.Name);
            Assert.AreSame(first, a.Environment);
            Assert.AreSame(second, b.Environment);
            switch (a.Value)
            {
                case Primitive or SpecialForm or SymbolDatum or IntegerDatum or NilDatum:
                    Assert.AreSame(a.Value, b.Value, a.Name);
                    break;
                case Closure closure:
                    Assert.AreNotSame(a.Value, b.Value, a.Name);
                    Assert.AreSame(first, closure.Home, a.Name);
                    Assert.AreEqual(Printer.Print(a.Value, quoted: true), Printer.Print(b.Value, quoted: true));
                    break;
                default:
                    Assert.AreNotSame(a.Value, b.Value, a.Name);
                    break;
            }
        }
    }

    /// <summary>
    /// The snapshot shares the primitives and special forms between compilations (PreludeSnapshot.IsShared):
    /// each built-in's function must get the interpreter as its argument and capture at most names,
    /// numbers and other such functions - never an interpreter, an evaluator or a value.
    /// </summary>
    [TestMethod]
    public void EveryBuiltInFunctionIsStateless()
    {
        AssertPristine(Pristine());
        var root = PreludeSnapshot.Current!.Instantiate();
        var functions = new List<(string Name, Delegate Function)>();
        var pending = new Stack<(string, Datum)>(root.Variables.Select(v => (v.Name, v.Value)));
        while (pending.TryPop(out var item))
        {
            var (name, value) = item;
            switch (value)
            {
                case Primitive primitive: functions.Add((name, primitive.Function)); break;
                case SpecialForm special: functions.Add((name, special.Function)); break;
                case FormValue form:
                    pending.Push((name, form.Function));
                    pending.Push((name, form.SymbolFunction));
                    break;
            }
        }
        Assert.IsGreaterThan(100, functions.Count, "the built-ins were not found");
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var (name, function) in functions)
            Assert.IsTrue(IsStateless(function, seen, depth: 0), $"the built-in '{name}' captures state ({function.Method})");
    }

    private static bool IsStateless(Delegate function, HashSet<object> seen, int depth) =>
        function.GetInvocationList().All(part => IsStatelessTarget(part.Target, seen, depth));

    private static bool IsStatelessTarget(object? target, HashSet<object> seen, int depth)
    {
        if (target is null || !seen.Add(target)) return true;
        var type = target.GetType();
        // Only the compiler's lambda classes (<>c, <>c__DisplayClass...): never an Interpreter or anything else.
        if (depth > 8 || !type.Name.StartsWith('<')
            || type.GetCustomAttributes(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false).Length == 0)
            return false;
        foreach (var field in type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
        {
            var ok = field.GetValue(target) switch
            {
                null or string or Enum => true,
                var primitive when primitive.GetType().IsPrimitive => true,
                Delegate inner => IsStateless(inner, seen, depth + 1),
                var other => IsStatelessTarget(other, seen, depth + 1),
            };
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>A compilation copies only what it reads of the prelude, and what it copies behaves as the prelude's own.</summary>
    [TestMethod]
    public void ACompilationCopiesWhatItReadsAndThatCopyIsComplete()
    {
        AssertPristine(Pristine());
        var snapshot = PreludeSnapshot.Current!;
        var root = snapshot.Instantiate();
        var memq = root.Find("memq")!;
        var closure = (Closure)memq.Value;
        Assert.AreSame(closure, memq.Value, "a variable's value is copied once");
        Assert.AreSame(root, closure.Home);
        // Everything the closure reaches was copied with it: its body prints as the prelude's.
        var other = (Closure)snapshot.Instantiate().Find("memq")!.Value;
        Assert.AreNotSame(other, closure);
        Assert.AreEqual(Printer.Print(other.Parameters, quoted: true), Printer.Print(closure.Parameters, quoted: true));
        CollectionAssert.AreEqual(other.Body.Select(b => Printer.Print(b, quoted: true)).ToList(), closure.Body.Select(b => Printer.Print(b, quoted: true)).ToList());
        StringAssert.Contains(Printer.Print(closure.Body[0], quoted: true), "while");
        Assert.AreNotSame(other.Body[0], closure.Body[0]);
    }

    // ---- the caller's stack and the big one ------------------------------------------------------

    private static (CompilationResult Result, List<string> Sink) Compile(string source)
    {
        var sink = new List<string>();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test", CompileTimeOutput = sink.Add };
        return (MaruCompiler.Compile([new SourceFile("test.l", source)], options), sink);
    }

    [TestMethod]
    public void DeepRecursionOnASmallCallerStackGivesTheSameResultWithOutputAndWarningsOnce()
    {
        const string source = """
            (println "before")
            (define-function depth (n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))
            (println (depth 1000))
            (define-form deep () (depth 1000))
            (compile-begin)
            (define-function f () 1)
            (define-function f () (deep))
            (compile-end)
            (println "after")
            """;
        var (onSmallStack, smallSink) = SmallStack.Run(() => Compile(source));
        var (onTestThread, testSink) = Compile(source);
        foreach (var (result, sink) in new[] { (onSmallStack, smallSink), (onTestThread, testSink) })
        {
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            CollectionAssert.AreEqual(new[] { "before", "1000", "after" }, sink);
            CollectionAssert.AreEqual(new[] { "before", "1000", "after" }, result.Messages.ToArray());
            Assert.HasCount(1, result.Diagnostics, string.Join("\n", result.Diagnostics));
            Assert.AreEqual(DiagnosticCode.Redefinition, result.Diagnostics[0].Code);
        }
        CollectionAssert.AreEqual(onTestThread.Library, onSmallStack.Library);
    }

    [TestMethod]
    public void EndlessRecursionInAMacroIsLocatedWhateverTheCallersStack()
    {
        const string source = "(println \"start\")\n(define-function loop (n) (+ 1 (loop n)))\n(define-form m () (loop 0))\n(define-function g () (m))";
        var (onSmallStack, smallSink) = SmallStack.Run(() => Compile(source));
        var (onTestThread, testSink) = Compile(source);
        foreach (var (result, sink) in new[] { (onSmallStack, smallSink), (onTestThread, testSink) })
        {
            Assert.IsFalse(result.Success);
            CollectionAssert.AreEqual(new[] { "start" }, sink);
            Assert.HasCount(1, result.Diagnostics, string.Join("\n", result.Diagnostics));
            var error = result.Diagnostics[0];
            Assert.AreEqual(DiagnosticCode.EvaluationDepthExceeded, error.Code, error.ToString());
            Assert.AreEqual(new SourceLocation("test.l", 4, 23), error.Location);
            StringAssert.StartsWith(error.Message, "in expansion of macro 'm': compile-time evaluation nested more than");
        }
        Assert.AreEqual(onTestThread.Diagnostics[0], onSmallStack.Diagnostics[0]);
    }

    [TestMethod]
    public void AQuasiquoteOfDeepDataWithinTheLimitCompilesWhateverTheCallersStack()
    {
        // Data nested 5,000 deep (under the 10,000-level limit, far more than 256 KB of stack holds in
        // quasiquote's recursion): the evaluation starts again on its own large stack and the template's
        // copy is as deep as the data.
        const string source = """
            (define x 1)
            (let ((i 0)) (while (< i 5000) (set x (list x)) (set i (+ i 1))))
            (define y (eval (list 'quasiquote x)))
            (define-form depth-of-y () (let ((n 0) (z y)) (while (pair? z) (set z (car z)) (set n (+ n 1))) n))
            (compile-begin)
            (define-function f () (depth-of-y))
            (compile-end)
            """;
        var (onSmallStack, _) = SmallStack.Run(() => Compile(source));
        Assert.IsTrue(onSmallStack.Success, string.Join("\n", onSmallStack.Diagnostics));
        using var library = CompiledLibrary.Load(onSmallStack);
        Assert.AreEqual(5000, library.Call("f"));
    }

    [TestMethod]
    public void ExpandingDeepDataWithinTheLimitCompilesWhateverTheCallersStack()
    {
        // `expand` of a list nested 5,000 deep (built at compile time; under the 10,000-level limit)
        // recurses in the expander alone, with no evaluation between the levels to notice the stack
        // running short: its own check must start the evaluation again on a large stack. Without that
        // restart the small stack ends it early as "nested too deeply to expand".
        const string source = """
            (define x 1)
            (let ((i 0)) (while (< i 5000) (set x (list x)) (set i (+ i 1))))
            (define y (expand x))
            (define-form depth-of-y () (let ((n 0) (z y)) (while (pair? z) (set z (car z)) (set n (+ n 1))) n))
            (compile-begin)
            (define-function f () (depth-of-y))
            (compile-end)
            """;
        var (result, _) = SmallStack.Run(() => Compile(source));
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        using var library = CompiledLibrary.Load(result);
        Assert.AreEqual(5000, library.Call("f"));
    }

    [TestMethod]
    public void AMacroExpandingWithoutEndIsLocatedWhateverTheCallersStack()
    {
        const string source = "(define-form f () '(f))\n(define-function g ()\n  (f))";
        var (result, _) = SmallStack.Run(() => Compile(source));
        Assert.HasCount(1, result.Diagnostics, string.Join("\n", result.Diagnostics));
        CompileTime.AssertError(result.Diagnostics[0], DiagnosticCode.MacroError, 3, 3,
            "macro 'f' expands without end: expansion nested more than 10,000 levels deep");
    }
}
