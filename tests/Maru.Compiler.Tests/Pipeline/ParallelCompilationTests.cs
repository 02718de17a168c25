using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.Conformance;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Pipeline;

/// <summary>
/// Optimisation and x86-64 code generation run on several threads for a large module
/// (<see cref="ParallelWork"/>): the libraries must be the sequential ones byte for byte, on every
/// target, however the threads interleave, and the code must run.
/// </summary>
[TestClass]
public sealed class ParallelCompilationTests
{
    private static readonly TargetPlatform[] Targets = [TargetPlatform.LinuxX64, TargetPlatform.LinuxArm64, TargetPlatform.OsxX64, TargetPlatform.OsxArm64];

    private static CompilationResult Compile(IReadOnlyList<SourceFile> sources, TargetPlatform target, int? parallelism, OptimisationLevel level = OptimisationLevel.O1) =>
        MaruCompiler.Compile(sources, new CompilationOptions
        {
            Target = target, LibraryName = "test", Optimisation = level, VerifyIr = true, ParallelismForTesting = parallelism,
        });

    /// <summary>
    /// Sixty small functions each inlined into a looping caller, callers calling the previous
    /// caller (a chain the scheduler must respect), a mutually recursive pair (one component
    /// optimised on one thread) and a function calling them all.
    /// </summary>
    private static string ManyFunctions(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Append($"(define-function step{i} (x) (+ (* x {i}) 3))\n");
            var previous = i == 0 ? "0" : $"(sum{i - 1} n)";
            text.Append($"(define-function sum{i} (n) (let ((s 0) (k 0)) (while (< k n) (set s (+ s (step{i} k))) (set k (+ k 1))) (+ s {previous})))\n");
        }
        text.Append("(define-function even? (n) (if (= n 0) 1 (odd? (- n 1))))\n");
        text.Append("(define-function odd? (n) (if (= n 0) 0 (even? (- n 1))))\n");
        text.Append("(define-function all (n) (let ((s (even? n)) (i 0))");
        for (var i = 0; i < count; i += 7) text.Append($" (set s (+ s (sum{i} n)))");
        text.Append(" s))\n");
        return text.ToString();
    }

    /// <summary>What sum0..sum{count-1} return for <paramref name="n"/>.</summary>
    private static long[] Sums(int count, long n)
    {
        var sums = new long[count];
        for (var i = 0; i < count; i++)
        {
            long s = 0;
            for (long k = 0; k < n; k++) s += k * i + 3;
            sums[i] = s + (i == 0 ? 0 : sums[i - 1]);
        }
        return sums;
    }

    private static long All(int count, long n)
    {
        var sums = Sums(count, n);
        var all = n % 2 == 0 ? 1L : 0L;
        for (var i = 0; i < count; i += 7) all += sums[i];
        return all;
    }

    [TestMethod]
    public void ParallelCompilesAreTheSequentialBytesOnEveryTarget()
    {
        var programs = ConformanceProgram.Names().Select(name => ConformanceProgram.Load(name).Sources)
            .Append([new SourceFile("many.l", ManyFunctions(60))]).ToList();
        foreach (var target in Targets)
            foreach (var sources in programs)
            {
                var sequential = Compile(sources, target, parallelism: 1);
                foreach (var parallelism in new int?[] { 2, 4, null, 2 })
                {
                    var parallel = Compile(sources, target, parallelism);
                    var what = $"{sources[0].Path} for {target} on {parallelism?.ToString() ?? "auto"} threads";
                    Assert.AreEqual(string.Join("\n", sequential.Diagnostics), string.Join("\n", parallel.Diagnostics), what);
                    if (sequential.Library is null) continue;
                    CollectionAssert.AreEqual(sequential.Library, parallel.Library, what);
                }
            }
    }

    [TestMethod]
    public void UnoptimisedAndListedCompilesAreTheSequentialOnesToo()
    {
        // O0 generates in parallel without an optimiser to stream from; a listing keeps one machine
        // (its positions are module-wide) while the optimiser still runs on several threads.
        SourceFile[] sources = [new SourceFile("many.l", ManyFunctions(60))];
        foreach (var target in Targets)
        {
            var sequential = Compile(sources, target, parallelism: 1, OptimisationLevel.O0);
            CollectionAssert.AreEqual(sequential.Library, Compile(sources, target, parallelism: 3, OptimisationLevel.O0).Library, $"O0 for {target}");
            var listed = Listed(sources, target, parallelism: 1);
            var listedInParallel = Listed(sources, target, parallelism: 3);
            CollectionAssert.AreEqual(listed.Library, listedInParallel.Library, $"listed for {target}");
            Assert.AreEqual(listed.Listing, listedInParallel.Listing, $"listing for {target}");
        }
    }

    private static CompilationResult Listed(IReadOnlyList<SourceFile> sources, TargetPlatform target, int parallelism) =>
        MaruCompiler.Compile(sources, new CompilationOptions
        {
            Target = target, LibraryName = "test", VerifyIr = true, ParallelismForTesting = parallelism, ProduceListing = true,
        });

    [TestMethod]
    public void ALargeModuleIsParallelAutomaticallyWhereThereAreProcessors()
    {
        var module = CompileToIr(ManyFunctions(150));
        Assert.IsTrue(module.Functions.Sum(f => f.Blocks.Sum(b => b.Instructions.Count + 1)) >= ParallelWork.MinParallelInstructions);
        var auto = new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "test" };
        Assert.AreEqual(Math.Min(Environment.ProcessorCount, 4), ParallelWork.Workers(auto, module));
        Assert.AreEqual(1, ParallelWork.Workers(auto, CompileToIr("(define-function f (x) (+ x 1))")), "a small function stays on the caller's thread");
    }

    private static Ir.IrModule CompileToIr(string source)
    {
        var diagnostics = new Diagnostics.DiagnosticBag();
        var options = new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "test" };
        var evaluation = Maru.Compiler.Evaluation.Evaluator.Process([new SourceFile("t.l", source)], options, diagnostics);
        var module = Maru.Compiler.Lowering.ModuleLowerer.Lower(evaluation.Unit, diagnostics);
        Assert.IsFalse(diagnostics.HasErrors, string.Join("\n", diagnostics.Items));
        return module;
    }

    [TestMethod]
    public void CodeCompiledInParallelRuns()
    {
        foreach (var parallelism in new[] { 2, 4 })
        {
            var result = Compile([new SourceFile("many.l", ManyFunctions(60))], TargetPlatform.LinuxX64, parallelism);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            using var library = CompiledLibrary.Load(result);
            foreach (var n in new long[] { 0, 1, 7, 100 })
                Assert.AreEqual(All(60, n), library.Call("all", n), $"all({n}) on {parallelism} threads");
            Assert.AreEqual(Sums(60, 33)[59], library.Call("sum59", 33));
            Assert.AreEqual(0L, library.Call("even?", 33));
        }
    }

    /// <summary>
    /// Functions using string literals (some shared between functions, some their own), string and
    /// integer globals between them, and C functions: lowered on several threads, each function's
    /// strings and imports must get the names and places sequential lowering gives them.
    /// </summary>
    private static string StringsEverywhere(int count)
    {
        var text = new StringBuilder("(define strlen (extern 'strlen))\n(define abs (extern 'abs))\n");
        for (var i = 0; i < count; i++)
        {
            text.Append($"(define text{i} \"{new string('g', i % 5 + 1)}\")\n");
            text.Append($"(define weight{i} {i * 1000})\n");
            var imported = i % 4 == 1 ? $"(abs (- 0 {i}))" : "0";
            text.Append($"(define-function len{i} () (+ (+ weight{i} (strlen \"{new string('s', i % 7 + 1)}\")) (+ (+ (* 10 (strlen \"own {i}\")) (* 100 (strlen text{i}))) {imported})))\n");
        }
        return text.ToString();
    }

    private static long Length(int i) => i * 1000 + (i % 7 + 1) + 10 * $"own {i}".Length + 100 * (i % 5 + 1) + (i % 4 == 1 ? i : 0);

    [TestMethod]
    public void FunctionsLoweredInParallelKeepTheSequentialStringsAndImports()
    {
        SourceFile[] sources = [new SourceFile("strings.l", StringsEverywhere(50))];
        foreach (var target in Targets)
        {
            var sequential = Compile(sources, target, parallelism: 1);
            Assert.IsTrue(sequential.Success, string.Join("\n", sequential.Diagnostics));
            foreach (var level in new[] { OptimisationLevel.O1, OptimisationLevel.O0 })
                CollectionAssert.AreEqual(Compile(sources, target, parallelism: 1, level).Library, Compile(sources, target, parallelism: 4, level).Library, $"{target} {level}");
        }
        var result = Compile(sources, TargetPlatform.LinuxX64, parallelism: 4, OptimisationLevel.O0);
        using var library = CompiledLibrary.Load(result);
        for (var i = 0; i < 50; i++) Assert.AreEqual(Length(i), library.Call($"len{i}"), $"len{i}");
    }

    [TestMethod]
    public void ExportsAndShimsMadeWhileFunctionsAreLoweredAreTheSequentialOnes()
    {
        // The exports and the C# shims are made on another thread while the functions are lowered:
        // the same shims, and the same diagnostics in the same order (an export naming no compiled
        // function is reported after the lowering's errors, as sequentially).
        var text = new StringBuilder(StringsEverywhere(30));
        for (var i = 0; i < 30; i += 4) text.Append($"(define-export len{i} <bool>)\n");
        SourceFile[] good = [new SourceFile("exports.l", text.ToString())];
        var sequential = Compile(good, TargetPlatform.LinuxX64, parallelism: 1);
        Assert.IsTrue(sequential.Success, string.Join("\n", sequential.Diagnostics));
        StringAssert.Contains(sequential.CSharpShims, "Len8");
        foreach (var parallelism in new int?[] { 2, 4, null })
        {
            var parallel = Compile(good, TargetPlatform.LinuxX64, parallelism);
            Assert.AreEqual(sequential.CSharpShims, parallel.CSharpShims, $"{parallelism}");
            CollectionAssert.AreEqual(sequential.Library, parallel.Library, $"{parallelism}");
        }
        text.Append("(define-export no-such-function <bool>)\n(define-function broken (x) (+ x missing))\n");
        SourceFile[] bad = [new SourceFile("exports.l", text.ToString())];
        var badSequential = Compile(bad, TargetPlatform.LinuxX64, parallelism: 1);
        Assert.IsFalse(badSequential.Success);
        foreach (var parallelism in new int?[] { 2, 4 })
            Assert.AreEqual(string.Join("\n", badSequential.Diagnostics), string.Join("\n", Compile(bad, TargetPlatform.LinuxX64, parallelism).Diagnostics), $"{parallelism}");
        // Without the lowering's error, the export's own error is reported.
        SourceFile[] mismatch = [new SourceFile("exports.l", StringsEverywhere(30) + "(define-export no-such-function <bool>)\n")];
        var mismatchSequential = Compile(mismatch, TargetPlatform.LinuxX64, parallelism: 1);
        StringAssert.Contains(string.Join("\n", mismatchSequential.Diagnostics), "no-such-function");
        foreach (var parallelism in new int?[] { 2, 4 })
            Assert.AreEqual(string.Join("\n", mismatchSequential.Diagnostics), string.Join("\n", Compile(mismatch, TargetPlatform.LinuxX64, parallelism).Diagnostics), $"{parallelism}");
    }

    [TestMethod]
    public void ErrorsOfFunctionsLoweredInParallelComeInTheSequentialOrder()
    {
        // Unknown names and compile-time-only names in several functions among good ones: every
        // error is reported, in the order sequential lowering finds them.
        var text = new StringBuilder("(define strlen (extern 'strlen))\n");
        for (var i = 0; i < 40; i++)
        {
            text.Append($"(define-function good{i} (x) (+ x (strlen \"good {i % 3}\")))\n");
            if (i % 9 == 4) text.Append($"(define-function unknown{i} (x) (+ x (strlen \"bad\") missing{i}))\n");
            if (i % 11 == 6) text.Append($"(define-function macro-only{i} (x) (list x {i}))\n");
        }
        SourceFile[] sources = [new SourceFile("errors.l", text.ToString())];
        var sequential = Compile(sources, TargetPlatform.LinuxX64, parallelism: 1);
        Assert.AreEqual(8, sequential.Diagnostics.Count(d => d.Severity == Diagnostics.DiagnosticSeverity.Error), string.Join("\n", sequential.Diagnostics));
        var lines = sequential.Diagnostics.Select(d => d.Location.Line).ToList();
        CollectionAssert.AreEqual(lines.Order().ToList(), lines, "in source order");
        foreach (var parallelism in new int?[] { 2, 4, null })
            Assert.AreEqual(string.Join("\n", sequential.Diagnostics), string.Join("\n", Compile(sources, TargetPlatform.LinuxX64, parallelism).Diagnostics), $"{parallelism}");
    }

    [TestMethod]
    public void WorkItemsRunAfterWhatTheyWaitForAndEachOnce()
    {
        // A layered graph: item i waits for i/2 and i-3 (when they exist).
        const int count = 500;
        var waiting = new int[count];
        var dependants = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        for (var i = 1; i < count; i++)
            foreach (var d in new[] { i / 2, i - 3 }.Where(d => d >= 0 && d < i).Distinct())
            {
                waiting[i]++;
                dependants[d].Add(i);
            }
        var finished = new int[count];
        var clock = 0;
        var runs = new int[count];
        var threads = new ConcurrentDictionary<int, bool>();
        ParallelWork.Run(4, waiting, [.. dependants.Select(d => d.ToArray())], i =>
        {
            Interlocked.Increment(ref runs[i]);
            threads[Environment.CurrentManagedThreadId] = true;
            if (i > 0) Assert.IsTrue(Volatile.Read(ref finished[i / 2]) > 0, $"{i} ran before {i / 2}");
            if (i >= 3) Assert.IsTrue(Volatile.Read(ref finished[i - 3]) > 0, $"{i} ran before {i - 3}");
            Thread.SpinWait(200);
            Volatile.Write(ref finished[i], Interlocked.Increment(ref clock));
        });
        Assert.IsTrue(runs.All(r => r == 1), "every item ran once");
        Assert.IsTrue(finished.All(f => f > 0), "every item finished before Run returned");
    }

    [TestMethod]
    public void TheLowestFailingItemsExceptionReachesTheCaller()
    {
        var started = 0;
        var error = Assert.ThrowsExactly<InvalidDataException>(() => ParallelWork.Run(2, 200, i =>
        {
            Interlocked.Increment(ref started);
            if (i is 3 or 150) throw new InvalidDataException($"item {i}");
        }));
        Assert.AreEqual("item 3", error.Message);
        Assert.IsTrue(started < 200, "no item starts after a failure is known");
    }

    [TestMethod]
    public void ACycleAmongWorkItemsIsReportedNotWaitedFor()
    {
        // 0 waits for 1 and 1 for 0: nothing is ever ready.
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ParallelWork.Run(2, [1, 1], [[1], [0]], _ => { }));
        StringAssert.Contains(error.Message, "cycle");
    }
}
