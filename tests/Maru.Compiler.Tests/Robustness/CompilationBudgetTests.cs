using System.Runtime.InteropServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Robustness;

/// <summary>
/// The budget of one compilation: compile-time code that would take gigabytes or minutes is
/// stopped by a located MARU06xx error naming the limit, having used little memory, and the
/// wall clock and the caller's cancellation stop anything else. The hostile programs are the
/// ones an attacker's .l file would hold (a NuGet dependency, a pull request).
/// </summary>
[TestClass]
public sealed class CompilationBudgetTests
{
    private static CompilationOptions Options(long memory = CompilationOptions.DefaultMaxEvaluationMemory, long steps = CompilationOptions.DefaultMaxEvaluationSteps,
        TimeSpan? time = null, CancellationToken cancel = default, long fileSize = CompilationOptions.DefaultMaxLoadedFileSize) => new()
    {
        Target = CompiledLibrary.Options.Target, LibraryName = "test",
        MaxEvaluationMemory = memory, MaxEvaluationSteps = steps, MaxCompilationTime = time ?? TimeSpan.FromMinutes(10),
        CancellationToken = cancel, MaxLoadedFileSize = fileSize,
    };

    /// <summary>Compiles and returns the errors, checking the compilation allocated well under 1 GB on the way.</summary>
    private static IReadOnlyList<Diagnostic> Errors(string source, CompilationOptions? options = null)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = MaruCompiler.Compile([new SourceFile("test.l", source)], options ?? Options());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(700L << 20, allocated, $"the compilation allocated {allocated >> 20} MiB");
        Assert.IsFalse(result.Success, "expected the compilation to fail");
        Assert.IsNull(result.Library);
        return result.Diagnostics.Where(d => d.IsError).ToList();
    }

    private static void AssertOnly(IReadOnlyList<Diagnostic> errors, DiagnosticCode code, int line, int column, string messagePart)
    {
        Assert.HasCount(1, errors, string.Join("\n", errors));
        Assert.AreEqual(code, errors[0].Code, errors[0].ToString());
        Assert.AreEqual(new SourceLocation("test.l", line, column), errors[0].Location, errors[0].ToString());
        StringAssert.Contains(errors[0].Message, messagePart);
    }

    [TestMethod]
    public void AHugeFormatWidthIsChargedBeforeItIsPadded() =>
        AssertOnly(Errors("(define-function f () 1)\n(define s (format \"%1000000000d\" 1))"),
            DiagnosticCode.EvaluationMemoryLimitExceeded, 2, 11, "allocated more than 256 MiB (MaxEvaluationMemory");

    [TestMethod]
    public void BigArraysKeptInALoopRunOutOfMemoryBudget() =>
        AssertOnly(Errors("(define keep ())\n(let ((i 0)) (while (< i 1000) (set keep (cons (array 16777216) keep)) (set i (+ i 1))))\n(compile-begin)(compile-end)"),
            DiagnosticCode.EvaluationMemoryLimitExceeded, 2, 48, "MaxEvaluationMemory");

    [TestMethod]
    public void ADoublingStringStopsAtTheBudget() =>
        AssertOnly(Errors("(define s \"xxxxxxxxxxxxxxxx\")\n(let ((i 0)) (while (< i 40) (set s (concat-string s s)) (set i (+ i 1))))\n(compile-begin)(compile-end)"),
            DiagnosticCode.EvaluationMemoryLimitExceeded, 2, 37, "MaxEvaluationMemory");

    [TestMethod]
    public void ConsingWithoutEndRunsOutOfMemoryBudgetNotSteps()
    {
        var errors = Errors("(define l ())\n(while 1 (set l (cons 1 l)))\n(compile-begin)(compile-end)", Options(memory: 4 << 20));
        AssertOnly(errors, DiagnosticCode.EvaluationMemoryLimitExceeded, 2, 17, "allocated more than 4 MiB");
    }

    [TestMethod]
    public void ALimitStopsTheWholeEvaluationNotJustItsForm()
    {
        // Past the budget nothing more is evaluated: one error, not one per remaining form.
        // (A limit well above the prelude's own steps, which count against it.)
        var errors = Errors("(while 1)\n(while 1)\n(define x (car 1 2))", Options(steps: 2_000_000));
        AssertOnly(errors, DiagnosticCode.EvaluationStepLimitExceeded, 1, 1, "2,000,000 steps (MaxEvaluationSteps");
    }

    [TestMethod]
    public void DeeplyNestedMacroCallsReachTheDepthLimitInLinearTime()
    {
        // 20,000 nested (when 1 ...) built at compile time and expanded: the relocation of each
        // expansion no longer walks the whole call, so this stops at the depth limit in seconds.
        var errors = Errors("(define x 1)\n(let ((i 0)) (while (< i 20000) (set x (list 'when 1 x)) (set i (+ i 1))))\n(expand x)\n(compile-begin)(compile-end)");
        AssertOnly(errors, DiagnosticCode.MacroError, 2, 47, "macro 'when' expands without end");
    }

    [TestMethod]
    public void AQuasiquotedListOfTwoHundredThousandElementsStopsWithALocatedError()
    {
        // quasiquote translated the template's spine by recursion per element and overflowed the
        // stack (the process died); the translation is a loop, and the expansion's own limits report.
        var ones = string.Join(' ', Enumerable.Repeat("1", 200_000));
        AssertOnly(Errors($"(define-form big () `(+ 0 {ones}))\n(define-function f () (big))"),
            DiagnosticCode.MacroError, 1, 21, "a macro produced a circular or enormous expansion");
    }

    [TestMethod]
    public void AQuasiquoteOfDataNestedHundredThousandDeepStopsWithALocatedError()
    {
        // Read code nests at most 1,000 deep, data built at compile time without end: quasiquote's
        // recursion into an element overflowed the stack (the process died) at 100,000 levels.
        var errors = Errors(DeepQuasiquote);
        AssertOnly(errors, DiagnosticCode.MacroError, 3, 24, "a quasiquote template nested more than 10,000 levels deep");
    }

    private const string DeepQuasiquote =
        "(define x 1)\n(let ((i 0)) (while (< i 100000) (set x (list x)) (set i (+ i 1))))\n(define y (eval (list 'quasiquote x)))\n(compile-begin)(compile-end)";

    [TestMethod]
    public void ALongQuasiquotedListWithUnquotesAndSplicesBuildsItsCode()
    {
        // 3,000 template elements (one unquoted, one spliced in the middle, a dotted unquoted tail)
        // become code that runs: the loop over the spine keeps the order and the tail.
        var steps = string.Join(' ', Enumerable.Repeat("(set s (+ s 1))", 3_000));
        var source = "(define-form count-up (extra . rest) `(let ((s 0)) " + steps + " ,@extra (set s (+ s ,(car rest))) s))\n"
                   + "(define-form pair-of (a . b) `(,a . ,b))\n"
                   + "(define-function f (x) (+ (count-up ((set s (+ s x)) (set s (+ s 2))) 1000) (pair-of + 7 0)))";
        using var library = CompiledLibrary.Compile(source);
        Assert.AreEqual(3_000 + 5 + 2 + 1_000 + 7, library.Call("f", 5));
        Assert.AreEqual(3_000 - 9 + 2 + 1_000 + 7, library.Call("f", -9));
    }

    [TestMethod]
    public void ASelfRecursiveMacroRedefiningLetStops() =>
        AssertOnly(Errors("(define-form let (bindings . body) `(let ,bindings ,@body))\n(define-function f () (let ((a 1)) a))"),
            DiagnosticCode.MacroError, 2, 23, "macro 'let' expands without end");

    [TestMethod]
    public void MessagesAboutCircularAndHugeDataAreShort()
    {
        var circular = Errors("(define c (cons 1 2))\n(set-car c c)\n(set-cdr c c)\n(error c)\n(compile-begin)(compile-end)");
        AssertOnly(circular, DiagnosticCode.UserError, 4, 1, "(((");
        Assert.IsLessThan(5_000, circular[0].Message.Length);

        var huge = Errors("(define s (string 10000000))\n(+ 1 s)\n(error s s)\n(compile-begin)(compile-end)", Options());
        Assert.HasCount(2, huge, string.Join("\n", huge));
        Assert.IsTrue(huge.All(e => e.Message.Length < 5_000), string.Join("\n", huge.Select(e => e.Message.Length)));
        StringAssert.StartsWith(huge[0].Message, "'+' expects an integer as argument 2, not the string \"\\x00\\x00");
    }

    [TestMethod]
    [DataRow("(set-cdr (cddr saved) (cdr saved))", DisplayName = "cdr cycle")]
    [DataRow("(set-car (cdr saved) saved)", DisplayName = "car cycle")]
    public void CodeMadeCircularAfterItWasExpandedIsReportedNotLowered(string mutation)
    {
        // The macro returns its argument, which stays the function's code (it is the user's own
        // form), and keeps it: compile-time code after the definition can then make it circular.
        var source = "(define saved ())\n(define-form keep (x) (set saved x) x)\n(compile-begin)\n" +
            $"(define f (lambda () (keep (+ 1 2))))\n(compile-end)\n{mutation}";
        AssertOnly(Errors(source), DiagnosticCode.FunctionTooLarge, 4, 1, "the code of 'f' is circular or has more than 4,000,000 nodes");
    }

    [TestMethod]
    public void LoadRefusesUnusableNamesDevicesAndBigFiles()
    {
        AssertOnly(Errors("(load \"\\0\")"), DiagnosticCode.SourceFileRejected, 1, 1, "not a usable file name");
        AssertOnly(Errors("(load (string 100000))"), DiagnosticCode.SourceFileRejected, 1, 1, "not a usable file name");
        AssertOnly(Errors("(require \"/dev/zero\")"), DiagnosticCode.SourceFileRejected, 1, 1, "only regular files can be loaded");
        using var big = new TemporaryFile("big.l", System.Text.Encoding.UTF8.GetBytes(new string(' ', 5000) + "(define-function g () 2)\n"));
        AssertOnly(Errors($"(load \"{big.Path}\")", Options(fileSize: 4096)), DiagnosticCode.SourceFileRejected, 1, 1, "larger than 4,096 bytes (MaxLoadedFileSize)");
        using var small = new TemporaryFile("small.l", "(define-function g () 2)\n"u8.ToArray());
        Assert.IsTrue(MaruCompiler.Compile([new SourceFile("test.l", $"(load \"{small.Path}\")")], Options(fileSize: 4096)).Success);
    }

    [TestMethod]
    public void LoadOfAFifoIsRefusedWithoutWaitingForAWriter()
    {
        if (OperatingSystem.IsWindows()) Assert.Inconclusive("FIFOs are a Unix feature");
        var directory = Directory.CreateTempSubdirectory("maru-fifo-").FullName;
        try
        {
            var fifo = System.IO.Path.Combine(directory, "pipe.l");
            Assert.AreEqual(0, MakeFifo(fifo, 0b110_000_000), $"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
            AssertLoadAnswersWithoutAWriter(fifo);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    private static void AssertLoadAnswersWithoutAWriter(string fifo)
    {
        // open(2) of a FIFO blocks until a writer appears: the compilation must answer on its own.
        var compilation = Task.Run(() => Errors($"(load \"{fifo}\")"));
        var finished = compilation.Wait(TimeSpan.FromSeconds(30));
        if (!finished)
        {
            using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write); // unblocks the stuck reader
            Assert.Fail("load of a FIFO waited for a writer");
        }
        AssertOnly(compilation.Result, DiagnosticCode.SourceFileRejected, 1, 1, "only regular files can be loaded");
    }

    [TestMethod]
    public void ANameBothExternAndCompiledIsALocatedError() =>
        AssertOnly(Errors("(define e (extern 'f)) (define-function f () (e))"), DiagnosticCode.ExternAndFunction, 1, 1,
            "'e' imports the C symbol 'f', which this library also exports for 'f' (test.l(1,24))");

    [TestMethod]
    public void TheWallClockStopsWhatTheOtherLimitsAllow()
    {
        var errors = Errors("(while 1)", Options(steps: long.MaxValue, time: TimeSpan.FromMilliseconds(300)));
        AssertOnly(errors, DiagnosticCode.CompilationTimeLimitExceeded, 1, 1, "did not finish within 0.3 s (MaxCompilationTime");
    }

    [TestMethod]
    public void CancellingStopsARunningCompilation()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var errors = Errors("(while 1)", Options(steps: long.MaxValue, cancel: cancel.Token));
        AssertOnly(errors, DiagnosticCode.CompilationCancelled, 1, 1, "cancelled");
        Assert.IsLessThan(60_000, watch.ElapsedMilliseconds, "cancellation is prompt (the wall clock would be 10 minutes)");
    }

    [TestMethod]
    public void TheOptimiserStopsBetweenPassesOnceCancelled()
    {
        // Cancelled while the first pass of the first function ends: no later pass runs, so one
        // huge function cannot outlast the limit by a whole pipeline.
        using var cancel = new CancellationTokenSource();
        var stages = new List<string>();
        var options = new CompilationOptions
        {
            Target = CompiledLibrary.Options.Target, LibraryName = "test", CancellationToken = cancel.Token,
            DumpIr = dump =>
            {
                stages.Add(dump.Stage);
                if (stages.Count == 2) cancel.Cancel();
            },
        };
        var errors = Errors("(define-function f (n) (+ n 1))\n(define-function g (n) (* (f n) 2))", options);
        Assert.HasCount(1, errors, string.Join("\n", errors));
        Assert.AreEqual(DiagnosticCode.CompilationCancelled, errors[0].Code, errors[0].ToString());
        Assert.HasCount(2, stages, string.Join(", ", stages));
    }

    [TestMethod]
    public void RealProgramsStayFarFromTheDefaults()
    {
        // Every conformance program compiles with a tenth of each default budget.
        foreach (var name in Conformance.ConformanceProgram.Names())
        {
            var source = File.ReadAllText(Path.Combine(Conformance.ConformanceProgram.ProgramsDirectory, name + ".l"));
            var result = MaruCompiler.Compile([new SourceFile(name + ".l", source)],
                Options(memory: CompilationOptions.DefaultMaxEvaluationMemory / 10, steps: CompilationOptions.DefaultMaxEvaluationSteps / 10));
            Assert.IsFalse(result.Diagnostics.Any(d => d.Code is DiagnosticCode.EvaluationMemoryLimitExceeded or DiagnosticCode.EvaluationStepLimitExceeded),
                name + ": " + string.Join("\n", result.Diagnostics));
        }
    }
}
