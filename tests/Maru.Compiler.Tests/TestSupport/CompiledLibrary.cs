using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Maru source compiled in-process to a real shared library in a temp folder, loaded with
/// NativeLibrary.Load, and called through unmanaged function pointers.
/// </summary>
internal sealed unsafe class CompiledLibrary : IDisposable
{
    private readonly string _directory;
    private nint _handle;

    private CompiledLibrary(string directory, string path, CompilationResult result)
    {
        _directory = directory;
        Path = path;
        Result = result;
        _handle = NativeLibrary.Load(path);
    }

    public string Path { get; }
    public nint Handle => _handle;
    public CompilationResult Result { get; }

    public static CompilationResult CompileOnly(string source, string fileName = "test.l", OptimisationLevel level = OptimisationLevel.O1, bool unroll = true) =>
        MaruCompiler.Compile([new SourceFile(fileName, source)], new CompilationOptions
        {
            Target = TargetPlatform.LinuxX64, LibraryName = "test", Optimisation = level, VerifyIr = true, UnrollLoopsForTesting = unroll,
            MaxCompilationTime = TimeLimit,
        });

    public static CompiledLibrary Compile(string source, OptimisationLevel level = OptimisationLevel.O1) =>
        Compile([new SourceFile("test.l", source)], level);

    public static CompiledLibrary Compile(IReadOnlyList<SourceFile> sources, OptimisationLevel level = OptimisationLevel.O1)
    {
        var result = MaruCompiler.Compile(sources, OptionsAt(level));
        if (!result.Success)
            Assert.Fail("compilation failed:\n" + string.Join("\n", result.Diagnostics));
        return Load(result);
    }

    /// <summary>Writes a successful compilation's library to a temp folder and loads it.</summary>
    public static CompiledLibrary Load(CompilationResult result)
    {
        var directory = Directory.CreateTempSubdirectory("maru-test-").FullName;
        var path = System.IO.Path.Combine(directory, "libtest.so");
        File.WriteAllBytes(path, result.Library!);
        return new CompiledLibrary(directory, path, result);
    }

    public static CompilationOptions Options { get; } = OptionsAt(OptimisationLevel.O1);

    /// <summary>
    /// The compilation time limit of tests that check what code does, not the limit: the largest
    /// test programs compile in 5-17 s alone but near the 60 s default on a machine loaded 40 deep.
    /// (CompilationBudgetTests sets its own limits.)
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromMinutes(10);

    /// <summary>Test compilations always verify the IR after every stage.</summary>
    public static CompilationOptions OptionsAt(OptimisationLevel level, bool listing = false) =>
        new() { Target = TargetPlatform.LinuxX64, LibraryName = "test", Optimisation = level, VerifyIr = true, ProduceListing = listing, MaxCompilationTime = TimeLimit };

    public nint Export(string maruName) => NativeLibrary.GetExport(_handle, SymbolNames.ToSymbolName(maruName));

    /// <summary>Calls a compiled function with 0 to 10 word arguments.</summary>
    public long Call(string maruName, params long[] a)
    {
        var f = Export(maruName);
        return a.Length switch
        {
            0 => ((delegate* unmanaged<long>)f)(),
            1 => ((delegate* unmanaged<long, long>)f)(a[0]),
            2 => ((delegate* unmanaged<long, long, long>)f)(a[0], a[1]),
            3 => ((delegate* unmanaged<long, long, long, long>)f)(a[0], a[1], a[2]),
            4 => ((delegate* unmanaged<long, long, long, long, long>)f)(a[0], a[1], a[2], a[3]),
            5 => ((delegate* unmanaged<long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4]),
            6 => ((delegate* unmanaged<long, long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4], a[5]),
            7 => ((delegate* unmanaged<long, long, long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]),
            8 => ((delegate* unmanaged<long, long, long, long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]),
            9 => ((delegate* unmanaged<long, long, long, long, long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]),
            10 => ((delegate* unmanaged<long, long, long, long, long, long, long, long, long, long, long>)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]),
            _ => throw new ArgumentException("too many arguments for the test helper"),
        };
    }

    /// <summary>Reads an exported integer global.</summary>
    public long Global(string maruName) => Marshal.ReadInt64(Export(maruName));

    public void Dispose()
    {
        if (_handle != 0)
        {
            NativeLibrary.Free(_handle);
            _handle = 0;
        }
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Compiles a single expression as the body of a nullary function and runs it.</summary>
    public static long Evaluate(string expression, string definitions = "", OptimisationLevel level = OptimisationLevel.O1)
    {
        using var library = Compile($"{definitions}\n(define-function test-main () {expression})", level);
        return library.Call("test-main");
    }

    /// <summary>
    /// Each call must give its expected value in the source compiled at O0 and at O1 (the x86-64
    /// half of a test whose arm64 half is <see cref="Arm64Batch"/>).
    /// </summary>
    public static void AssertCallsAtO0AndO1(string source, IEnumerable<(string Function, long[] Arguments, long Expected)> cases)
    {
        using var o0 = Compile(source, OptimisationLevel.O0);
        using var o1 = Compile(source, OptimisationLevel.O1);
        foreach (var (function, arguments, expected) in cases)
        {
            var call = $"({function} {string.Join(" ", arguments)})";
            Assert.AreEqual(expected, o0.Call(function, arguments), $"{call} at O0");
            Assert.AreEqual(expected, o1.Call(function, arguments), $"{call} at O1");
        }
    }

    /// <summary>
    /// Each call gives the same value at O1 as at O0, and each known answer holds at both levels
    /// (so the two cannot agree on a wrong value): the x86-64 half of a test whose arm64 half is
    /// <see cref="Arm64Batch.AssertSameAsX64"/>.
    /// </summary>
    public static void AssertO1AgreesWithO0(
        string source,
        IEnumerable<(string Function, long[] Arguments)> calls,
        IEnumerable<(string Function, long[] Arguments, long Expected)> knownAnswers)
    {
        using var o0 = Compile(source, OptimisationLevel.O0);
        using var o1 = Compile(source, OptimisationLevel.O1);
        foreach (var (function, arguments) in calls)
        {
            var call = $"({function} {string.Join(" ", arguments)})";
            Assert.AreEqual(o0.Call(function, arguments), o1.Call(function, arguments), $"{call}: O0 and O1 differ");
        }
        foreach (var (function, arguments, expected) in knownAnswers)
        {
            var call = $"({function} {string.Join(" ", arguments)})";
            Assert.AreEqual(expected, o0.Call(function, arguments), $"{call} at O0");
            Assert.AreEqual(expected, o1.Call(function, arguments), $"{call} at O1");
        }
    }

    /// <summary>The errors of a compilation that must fail.</summary>
    public static IReadOnlyList<Diagnostic> Errors(string source, string fileName = "test.l")
    {
        var result = CompileOnly(source, fileName);
        Assert.IsFalse(result.Success, "expected the compilation to fail");
        Assert.IsNull(result.Library);
        return result.Diagnostics.Where(d => d.IsError).ToList();
    }
}
