using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Maru.Compiler.Interop;
using Maru.Runtime;

namespace Maru.Compiler.Tests.Runtime;

/// <summary>
/// The run-time API: Maru source compiled inside this process, loaded, called, unloaded. Every test
/// runs twice, once per compiler Maru.Runtime can use: the managed one (<see cref="MaruModuleTests"/>)
/// and the native library (<see cref="NativeCompilerModuleTests"/>), which must behave the same.
/// </summary>
public abstract unsafe class MaruModuleTestBase
{
    /// <summary>The options every compilation of the test starts from: they choose the compiler.</summary>
    protected abstract MaruCompileOptions Options { get; }

    private const string Fib = """
        (define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))
        (define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
        """;

    [TestMethod]
    public void CompilesLoadsCallsAndDeletesTheLibraryOnDispose()
    {
        var module = MaruModule.Compile(Fib, Options);
        var path = module.LibraryPath;
        Assert.IsTrue(File.Exists(path), "the library is on disk while loaded");
        StringAssert.StartsWith(Path.GetFileName(Path.GetDirectoryName(path))!, "maru-runtime-");

        Assert.AreEqual(12586269025L, module.GetFunction<Func<long, long>>("fib-iter")(50));
        var fib = (delegate* unmanaged<long, long>)module.GetFunctionPointer("fib");
        Assert.AreEqual(832040L, fib(30));
        Assert.AreEqual(55L, module.GetFunction("fib").Invoke(10));
        CollectionAssert.AreEqual(new[] { "fib-iter", "fib" }, module.Functions.Select(f => f.Name).ToArray());

        module.Dispose();
        Assert.IsFalse(File.Exists(path), "Dispose deletes the library");
        Assert.IsTrue(module.IsDisposed);
        Assert.ThrowsExactly<ObjectDisposedException>(() => module.GetFunctionPointer("fib"));
        module.Dispose(); // idempotent
    }

    [TestMethod]
    public void EveryModuleHasItsOwnLibraryAndItsOwnState()
    {
        const string counter = "(define count 0) (define-function bump () (set count (+ count 1)))";
        using var first = MaruModule.Compile(counter, Options);
        using var second = MaruModule.Compile(counter, Options);
        Assert.AreNotEqual(first.LibraryPath, second.LibraryPath);
        var bumpFirst = first.GetFunction<Func<long>>("bump");
        bumpFirst();
        bumpFirst();
        Assert.AreEqual(3L, bumpFirst());
        Assert.AreEqual(1L, second.GetFunction<Func<long>>("bump")(), "the second library has its own global");
    }

    [TestMethod]
    public void WrongNamesAndDelegateShapesAreRefusedClearly()
    {
        using var module = MaruModule.Compile(Fib, Options);
        var missing = Assert.ThrowsExactly<KeyNotFoundException>(() => module.GetFunctionPointer("fibb"));
        StringAssert.Contains(missing.Message, "fib-iter");
        Assert.IsFalse(module.TryGetFunctionPointer("fibb", out _));
        Assert.IsTrue(module.TryGetFunctionPointer("fib", out var pointer) && pointer != 0);
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction<Func<long, long, long>>("fib"));
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction("fib").Invoke(1, 2));
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction("fib").Invoke("ten"));
        Assert.ThrowsExactly<NotSupportedException>(() => module.GetFunction<Func<int, long>>("fib"));
        Assert.ThrowsExactly<KeyNotFoundException>(() => module.GetGlobalAddress("fib"));
    }

    private const string Exports = """
        (define-function count-a (s) (let ((n 0) (i 0)) (while (string-at s i) (if (= (string-at s i) ?a) (set n (+ n 1))) (set i (+ i 1))) n))
        (define-export count-a (s <string>))
        (define-function sum-bytes (p len) (let ((t 0) (i 0)) (while (< i len) (set t (+ t (string-at p i))) (set i (+ i 1))) t))
        (define-export sum-bytes (p <bytes>))
        (define-function upcase (p len) (let ((i 0)) (while (< i len) (set-string-at p i (- (string-at p i) 32)) (set i (+ i 1))) len))
        (define-export upcase (p <mutable-bytes>))
        (define greeting "héllo")
        (define-function greeting-address () greeting)
        (define-export greeting-address <pointer>)
        (define-function apply-twice (f x) (f (f x)))
        (define-export apply-twice (f (<callback> <long>)))
        (define limit 7)
        (define-function over-limit (x) (> x limit))
        """;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate long CountA([MarshalAs(UnmanagedType.LPUTF8Str)] string text);

    [UnmanagedCallersOnly]
    private static long Triple(long x) => x * 3;

    [TestMethod]
    public void DefineExportKindsWorkThroughInvokeAndDeclaredDelegates()
    {
        using var module = MaruModule.Compile(Exports, Options);
        Assert.AreEqual(3L, module.GetFunction("count-a").Invoke("banana"));
        Assert.AreEqual(5L, module.GetFunction<CountA>("count-a")("abracadabra"));
        Assert.AreEqual(1L + 2 + 250, module.GetFunction("sum-bytes").Invoke(new byte[] { 1, 2, 250 }));
        Assert.AreEqual(6L, module.GetFunction("sum-bytes").Invoke(new ReadOnlyMemory<byte>([9, 1, 2, 3, 9], 1, 3)));

        var text = Encoding.ASCII.GetBytes("shout");
        Assert.AreEqual(5L, module.GetFunction("upcase").Invoke(text));
        Assert.AreEqual("SHOUT", Encoding.ASCII.GetString(text));
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction("upcase").Invoke(new ReadOnlyMemory<byte>(text)), "read-only memory is refused for <mutable-bytes>");

        var address = (nint)module.GetFunction("greeting-address").Invoke();
        Assert.AreEqual("héllo", Marshal.PtrToStringUTF8(address));
        Assert.AreEqual(address, Marshal.ReadIntPtr(module.GetGlobalAddress("greeting")), "the string global holds the text's address");

        Assert.AreEqual(45L, module.GetFunction("apply-twice").Invoke((nint)(delegate* unmanaged<long, long>)&Triple, 5L));

        var limit = module.GetGlobalAddress("limit");
        Assert.AreEqual(7L, Marshal.ReadInt64(limit));
        var overLimit = module.GetFunction<Func<long, long>>("over-limit");
        Assert.AreEqual(1L, overLimit(8));
        Marshal.WriteInt64(limit, 100);
        Assert.AreEqual(0L, overLimit(8), "compiled code reads the global C# wrote");
        CollectionAssert.AreEquivalent(new[] { "greeting", "limit" }, module.Globals.Select(g => g.MaruName).ToArray());
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate bool BoolResult(long x);

    [TestMethod]
    public void BoolExportsAreTestedAsCDoesThroughInvoke()
    {
        using var module = MaruModule.Compile("""
            (define-function odd? (n) (& n 1))
            (define-export odd? <bool>)
            (define-function high? (shift) (<< 1 shift))
            (define-export high? <bool>)
            (define-function as-word (flag) flag)
            (define-export as-word (flag <bool>))
            """, Options);
        var odd = module.GetFunction("odd?");
        Assert.AreEqual(InteropType.Bool, odd.Signature.Result);
        Assert.AreEqual(1L, odd.Invoke(7L));
        Assert.AreEqual(0L, odd.Invoke(8L));
        // 2^32, 2^40 and 2^63 have no bit in the low 32 (a 4-byte BOOL would read false); -2^63 is non-zero.
        var high = module.GetFunction("high?");
        foreach (var shift in new long[] { 0, 1, 32, 40, 63 })
        {
            Assert.AreEqual(1L, high.Invoke(shift), $"1 << {shift}");
            Assert.IsTrue(high.InvokePredicate(shift), $"1 << {shift}");
        }
        Assert.IsFalse(odd.InvokePredicate(8L));
        var asWord = module.GetFunction("as-word");
        Assert.AreEqual(1L, asWord.Invoke(true));
        Assert.AreEqual(0L, asWord.Invoke(false));
        Assert.ThrowsExactly<ArgumentException>(() => asWord.Invoke(1L), "a <bool> parameter takes a bool");
        // A delegate cannot declare the conversion: bool in its signature is refused, not misread.
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction<BoolResult>("high?"));
        Assert.ThrowsExactly<ArgumentException>(() => module.GetFunction<Func<long, bool>>("high?"));
        Assert.AreEqual(1L << 40, module.GetFunction<Func<long, long>>("high?")(40), "as long, the raw word");
    }

    [TestMethod]
    public void CompileTimeOutputIsKeptAndStreamed()
    {
        var streamed = new List<string>();
        using var module = MaruModule.Compile("""
            (define-form twice (x) (println "expanding twice") `(* 2 ,x))
            (println "top level")
            (define-function f (n) (twice n))
            """, Options with { CompileTimeOutput = streamed.Add });
        CollectionAssert.AreEqual(new[] { "top level", "expanding twice" }, module.CompileTimeOutput.ToArray());
        CollectionAssert.AreEqual(module.CompileTimeOutput.ToArray(), streamed.ToArray());
        Assert.AreEqual(42L, module.GetFunction<Func<long, long>>("f")(21));
    }

    [TestMethod]
    public void AnExceptionFromTheOutputCallbackLeavesCompileAsItselfAndNothingBehind()
    {
        var before = Directory.GetFiles(LibraryFolderPath());
        var lines = new List<string>();
        var thrown = Assert.ThrowsExactly<FormatException>(() => MaruModule.Compile("""
            (println "first")
            (println "second")
            (define-function f () 1)
            """, Options with { CompileTimeOutput = line => { lines.Add(line); throw new FormatException("refused: " + line); } }));
        Assert.AreEqual("refused: first", thrown.Message);
        CollectionAssert.AreEqual(new[] { "first" }, lines, "the compilation stops at the first failure");
        CollectionAssert.AreEquivalent(before, Directory.GetFiles(LibraryFolderPath()), "nothing is loaded or left");
    }

    [TestMethod]
    public void BadSourceThrowsOneExceptionWithEveryLocatedErrorAndLeavesNothingBehind()
    {
        using (MaruModule.Compile("(define-function warm-up () 0)", Options)) { }
        var before = Directory.GetFiles(LibraryFolderPath());
        var failure = Assert.ThrowsExactly<MaruCompilationException>(() => MaruModule.Compile("""
            (define-function g (a) a)
            (define-function f (x) (g x 1))
            (define-function h () (no-such-function 1))
            """, Options with { FileName = "bad.l" }));
        var errors = failure.Errors.ToList();
        Assert.IsGreaterThanOrEqualTo(2, errors.Count, failure.Message);
        Assert.IsTrue(errors.All(e => e.Location.File == "bad.l" && e.Location.Line > 0 && e.Location.Column > 0), failure.Message);
        CollectionAssert.IsSubsetOf(new[] { 2, 3 }, errors.Select(e => e.Location.Line).Distinct().ToArray(), failure.Message);
        StringAssert.Contains(failure.Message, "bad.l(2,");
        StringAssert.Contains(failure.Message, "error MARU");
        CollectionAssert.AreEquivalent(before, Directory.GetFiles(LibraryFolderPath()), "a failed compilation writes no file");

        var missing = Assert.ThrowsExactly<MaruCompilationException>(() => MaruModule.CompileFiles(["no/such/file.l"], Options));
        StringAssert.Contains(missing.Message, "MARU0002");
    }

    [TestMethod]
    public void CompilesFilesRelativeToTheBaseDirectory()
    {
        var folder = Directory.CreateTempSubdirectory("maru-runtime-test-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "square.l"), "(define-function square (x) (* x x))");
            File.WriteAllText(Path.Combine(folder, "main.l"), "(define-function sum-squares (a b) (+ (square a) (square b)))");
            using var module = MaruModule.CompileFiles(["square.l", "main.l"], Options with { BaseDirectory = folder });
            Assert.AreEqual(25L, module.GetFunction<Func<long, long, long>>("sum-squares")(3, 4));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void ManyThreadsCompileLoadCallAndDisposeAtOnce()
    {
        var paths = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 48, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var module = MaruModule.Compile($"(define k {i}) (define-function scaled (x) (+ (* x {i + 1}) k))", Options);
            paths.Add(module.LibraryPath);
            var scaled = module.GetFunction<Func<long, long>>("scaled");
            for (var x = 0L; x < 100; x++)
                if (scaled(x) != x * (i + 1) + i) throw new AssertFailedException($"module {i}: scaled({x}) = {scaled(x)}");
        });
        Assert.AreEqual(48, paths.Distinct().Count(), "every module gets its own file");
        Assert.IsFalse(paths.Any(File.Exists), "every library was deleted");
    }

    /// <summary>On Linux (TMPDIR not set) the libraries go to a folder of the process's own in /dev/shm (memory), readable by its owner only.</summary>
    [TestMethod]
    public void OnLinuxLibrariesAreWrittenToAPrivateFolderInMemory()
    {
        if (!OperatingSystem.IsLinux()) return; // the temp folder elsewhere
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TMPDIR")) || !Directory.Exists("/dev/shm"))
            Assert.Inconclusive("Linux with /dev/shm and no TMPDIR");
        var folder = LibraryFolderPath();
        Assert.AreEqual("/dev/shm", Path.GetDirectoryName(folder));
        StringAssert.StartsWith(Path.GetFileName(folder), $"maru-runtime-{Environment.ProcessId}-");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
    }

    /// <summary>
    /// Every compilation starts from its own copy of the prelude (made lazily, name by name, from the
    /// process's snapshot): one that redefines a prelude macro, or fails after doing so, changes
    /// nothing for the others, in sequence or at once.
    /// </summary>
    [TestMethod]
    public void CompilationsThatRedefinePreludeNamesOrFailStayIndependent()
    {
        const string redefines = "(define-form incr (x) `(set ,x (+ ,x 10))) (define-function f (n) (incr n) n)";
        const string uses = "(define-function f (n) (incr n) (incr n) n)";
        const string fails = "(define-form incr (x) `(set ,x (+ ,x 100))) (define push 0) (define-function g (n) (incr n) (+ n undefined-name))";
        void Check(int kind)
        {
            if (kind == 2)
            {
                var error = Assert.ThrowsExactly<MaruCompilationException>(() => MaruModule.Compile(fails, Options));
                StringAssert.Contains(error.Message, "undefined-name");
                return;
            }
            using var module = MaruModule.Compile(kind == 0 ? redefines : uses, Options);
            var result = module.GetFunction<Func<long, long>>("f")(1);
            Assert.AreEqual(kind == 0 ? 11L : 3L, result, kind == 0 ? "the redefined incr" : "the prelude's incr");
        }
        foreach (var kind in new[] { 1, 0, 1, 2, 1, 0, 2, 0, 1 }) Check(kind);
        Parallel.For(0, 36, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i => Check(i % 3));
        Check(1);
    }

    private static readonly ManualResetEventSlim s_entered = new();
    private static readonly ManualResetEventSlim s_release = new();
    // The two test classes run in parallel and share the blocker's events: one replacement test at a time.
    private static readonly SemaphoreSlim s_blockerInUse = new(1);

    [UnmanagedCallersOnly]
    private static long Blocker(long x)
    {
        s_entered.Set();
        s_release.Wait(TimeSpan.FromSeconds(30));
        return x;
    }

    [TestMethod]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void AModuleReplacedWhileInUseStaysLoadedUntilTheCallReturns()
    {
        s_blockerInUse.Wait();
        try
        {
            s_entered.Reset();
            s_release.Reset();
            ReplaceWhileInUse();
        }
        finally
        {
            s_blockerInUse.Release();
        }
    }

    private void ReplaceWhileInUse()
    {
        const string version = "(define-function run (f) (+ (f 40) {0})) (define-export run (f (<callback> <long>)))";
        var old = MaruModule.Compile(string.Format(version, 1), Options);
        var blocker = (nint)(delegate* unmanaged<long, long>)&Blocker;
        var call = Task.Run(() => old.GetFunction("run").Invoke(blocker));
        Assert.IsTrue(s_entered.Wait(TimeSpan.FromSeconds(30)), "the old code is running");

        using var replacement = MaruModule.Compile(string.Format(version, 2), Options);
        old.Dispose();
        Assert.IsTrue(File.Exists(old.LibraryPath), "still loaded: a thread is inside its code");
        Assert.ThrowsExactly<ObjectDisposedException>(() => old.GetFunction("run"), "no new call starts once disposed");

        s_release.Set();
        Assert.AreEqual(41L, call.Result, "the call in progress finished in the old code");
        Assert.IsFalse(File.Exists(old.LibraryPath), "the last call out unloaded and deleted the old library");
        Assert.AreEqual(42L, replacement.GetFunction("run").Invoke(blocker), "the new code runs");

        var leased = MaruModule.Compile(string.Format(version, 3), Options);
        var lease = leased.Acquire();
        leased.Dispose();
        Assert.IsTrue(File.Exists(leased.LibraryPath), "a lease holds the library");
        lease.Dispose();
        lease.Dispose();
        Assert.IsFalse(File.Exists(leased.LibraryPath));
        Assert.ThrowsExactly<ObjectDisposedException>(() => leased.Acquire());
    }

    private string LibraryFolderPath()
    {
        using var module = MaruModule.Compile("(define-function probe () 0)", Options);
        return Path.GetDirectoryName(module.LibraryPath)!;
    }
}

/// <summary>The run-time API on the managed compiler (Maru.Compiler.dll), as where no native compiler library is shipped.</summary>
[TestClass]
public sealed class MaruModuleTests : MaruModuleTestBase
{
    protected override MaruCompileOptions Options { get; } = new() { ManagedCompiler = true };
}

/// <summary>The run-time API on the compiler published as a NativeAOT shared library (<see cref="NativeCompilerLibrary"/>), as the package ships it for linux-x64.</summary>
[TestClass]
public sealed class NativeCompilerModuleTests : MaruModuleTestBase
{
    protected override MaruCompileOptions Options => new() { NativeCompiler = NativeCompilerLibrary.Compiler };
}
