using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.Conformance;
using Maru.Runtime;
using Maru.Runtime.Native;

namespace Maru.Compiler.Tests.Runtime;

/// <summary>
/// The native compiler library is the managed compiler compiled ahead of time, reached through
/// Native/CompilerWire: for the same request it must give the same result, byte for byte. Checked on
/// every conformance program for two targets, on errors and warnings, and on what Maru.Runtime
/// chooses when the package carries no library.
/// </summary>
[TestClass]
public sealed class NativeCompilerTests
{
    [TestMethod]
    public void EveryConformanceProgramCompilesToTheSameBytesOnBothCompilers()
    {
        var native = NativeCompilerLibrary.Compiler;
        var compared = 0;
        foreach (var name in ConformanceProgram.Names())
        {
            var program = ConformanceProgram.Load(name);
            foreach (var target in new[] { TargetPlatform.LinuxX64, TargetPlatform.OsxArm64 })
            {
                var options = new CompilationOptions
                {
                    Target = target,
                    LibraryName = "conformance",
                    BaseDirectory = ConformanceProgram.ProgramsDirectory,
                    Optimisation = compared % 3 == 0 ? OptimisationLevel.O0 : OptimisationLevel.O1,
                };
                AssertSameResult($"{name} ({target}, {options.Optimisation})", MaruCompiler.Compile(program.Sources, options), native.Compile(program.Sources, options));
                compared++;
            }
        }
        Assert.IsGreaterThan(40, compared);
    }

    [TestMethod]
    public void ErrorsWarningsAndCompileTimeOutputAreTheSame()
    {
        var native = NativeCompilerLibrary.Compiler;
        SourceFile[] sources =
        [
            new("a.l", "(println \"hello\") (define-function f (x) x) (define-function f (x) (+ x 1))"),
            new("b.l", "(define-function g () (f 1 2))\n(define-function h () (undefined-thing))\n(define-function k (s) s) (define-export k (s <string>))"),
        ];
        var managedLines = new List<string>();
        var nativeLines = new List<string>();
        var managed = MaruCompiler.Compile(sources, new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "bad", CompileTimeOutput = managedLines.Add });
        var fromNative = native.Compile(sources, new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "bad", CompileTimeOutput = nativeLines.Add });
        Assert.IsFalse(managed.Success);
        AssertSameResult("errors", managed, fromNative);
        CollectionAssert.AreEqual(new[] { "hello" }, nativeLines);
        CollectionAssert.AreEqual(managedLines, nativeLines);

        var limited = new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "loop", MaxEvaluationSteps = 10_000 };
        SourceFile[] loop = [new("loop.l", "(define-form forever () (while 1 0)) (forever)")];
        AssertSameResult("a step limit", MaruCompiler.Compile(loop, limited), native.Compile(loop, limited));
    }

    /// <summary>Strings cross as UTF-16: text outside ASCII (and outside the BMP) survives both ways, in sources, paths, output and messages.</summary>
    [TestMethod]
    public void TextOutsideAsciiCrossesTheWireUnchanged()
    {
        var native = NativeCompilerLibrary.Compiler;
        SourceFile[] sources = [new("grüße/𝄞-ünï.l", "; ç 𝄞\n(println \"grüße 𝄞 ✓\")\n(define-function f (x) (+ x 1))\n(define-function g () (f 1 2))")];
        var options = new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "ünï" };
        var managed = MaruCompiler.Compile(sources, options);
        var fromNative = native.Compile(sources, options);
        AssertSameResult("non-ASCII text", managed, fromNative);
        CollectionAssert.AreEqual(new[] { "grüße 𝄞 ✓" }, fromNative.Messages.ToArray());
        Assert.IsTrue(fromNative.Diagnostics.Any(d => d.IsError && d.Location.File == "grüße/𝄞-ünï.l" && d.Location.Line == 4), string.Join("\n", fromNative.Diagnostics));
    }

    /// <summary>
    /// Maru.Runtime has the native compiler write the library: into a new owner-only folder when its
    /// parent exists, the same bytes as the managed compiler's; where it cannot, the bytes come back.
    /// </summary>
    [TestMethod]
    public void TheNativeCompilerWritesTheLibraryOrReturnsItsBytes()
    {
        var native = NativeCompilerLibrary.Compiler;
        SourceFile[] sources = [new("one.l", "(define-function one () 1)")];
        var options = new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "one", GenerateCSharpShims = false };
        var expected = MaruCompiler.Compile(sources, options).Library;
        var root = Directory.CreateTempSubdirectory("maru-wire-").FullName;
        try
        {
            var path = Path.Combine(root, "made", "libone.so");
            var result = native.CompileToFile(sources, options, path, out var written);
            Assert.IsTrue(written);
            Assert.IsNull(result.Library);
            CollectionAssert.AreEqual(expected, File.ReadAllBytes(path));
            if (!OperatingSystem.IsWindows())
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));

            var unreachable = Path.Combine(root, "no-such-parent", "folder", "libone.so");
            result = native.CompileToFile(sources, options, unreachable, out written);
            Assert.IsFalse(written);
            CollectionAssert.AreEqual(expected, result.Library);
            Assert.IsFalse(Directory.Exists(Path.Combine(root, "no-such-parent")), "only the library's own folder is ever made");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void WithoutTheLibraryInThePackageTheManagedCompilerRuns()
    {
        // The test host has no Maru.Compiler.Native next to it: MaruModule falls back to the managed compiler.
        Assert.IsNull(NativeCompiler.Default);
        using var module = MaruModule.Compile("(define-function seven () 7)");
        Assert.AreEqual(7L, module.GetFunction<Func<long>>("seven")());
    }

    private static void AssertSameResult(string what, CompilationResult managed, CompilationResult native)
    {
        CollectionAssert.AreEqual(managed.Diagnostics.Select(d => d.ToString()).ToArray(), native.Diagnostics.Select(d => d.ToString()).ToArray(), what);
        Assert.AreEqual(managed.Success, native.Success, what);
        if (managed.Library is null) Assert.IsNull(native.Library, what);
        else CollectionAssert.AreEqual(managed.Library, native.Library, $"{what}: the libraries differ");
        Assert.AreEqual(managed.CSharpShims, native.CSharpShims, what);
        CollectionAssert.AreEqual(managed.Messages.ToArray(), native.Messages.ToArray(), what);
        CollectionAssert.AreEqual(managed.LoadedFiles.ToArray(), native.LoadedFiles.ToArray(), what);
        CollectionAssert.AreEqual(managed.Globals.ToArray(), native.Globals.ToArray(), what);
        Assert.AreEqual(managed.Exports.Count, native.Exports.Count, what);
        for (var i = 0; i < managed.Exports.Count; i++)
        {
            var (m, n) = (managed.Exports[i], native.Exports[i]);
            Assert.AreEqual((m.MaruName, m.SymbolName, m.Location, m.Documentation, m.Signature.Result), (n.MaruName, n.SymbolName, n.Location, n.Documentation, n.Signature.Result), what);
            CollectionAssert.AreEqual(m.Parameters.ToArray(), n.Parameters.ToArray(), what);
            CollectionAssert.AreEqual(m.Signature.Parameters.Select(p => $"{p.MaruName} {p.Type} {string.Join(",", p.CallbackParameters)}").ToArray(),
                n.Signature.Parameters.Select(p => $"{p.MaruName} {p.Type} {string.Join(",", p.CallbackParameters)}").ToArray(), what);
        }
    }
}
