using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Pipeline;

/// <summary>What the whole pipeline writes, checked by independent tools and for determinism.</summary>
[TestClass]
public sealed class CompiledLibraryValidationTests
{
    private const string Program = """
        (define counter 7)
        (define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))
        (define-function bump () (set counter (+ counter 1)))
        (define-function prime? (n) (let ((d 2) (r (> n 1))) (while (and r (<= (* d d) n)) (if (= 0 (% n d)) (set r 0)) (set d (+ d 1))) r))
        (define-function bench (n) (if (< n 2) n (+ (bench (- n 1)) (bench (- n 2)))))
        """;

    private static byte[] CompileProgram()
    {
        var result = CompiledLibrary.CompileOnly(Program);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        return result.Library!;
    }

    [TestMethod]
    public void CompiledLibraryPassesEuElflintStrict()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("maru-lint-").FullName, "libprogram.so");
        File.WriteAllBytes(path, CompileProgram());
        ElfLint.AssertStrictlyValid(path);
    }

    [TestMethod]
    public void ExportsAreInTheDynamicSymbolTableUnderTheirDocumentedNames()
    {
        if (!ExternalTool.Exists("readelf"))
            ExternalTool.MissingTool("readelf not installed: apt-get install binutils");
        var path = Path.Combine(Directory.CreateTempSubdirectory("maru-syms-").FullName, "libprogram.so");
        File.WriteAllBytes(path, CompileProgram());
        var symbols = ExternalTool.Run("readelf", "--dyn-syms", "-W", path);
        Assert.AreEqual(0, symbols.ExitCode, symbols.ToString());
        var lines = symbols.StandardOutput.Split('\n');
        foreach (var (name, type) in new[] { ("bench", "FUNC"), ("__maru_fib_2diter", "FUNC"), ("__maru_prime_3f", "FUNC"), ("counter", "OBJECT") })
            Assert.IsTrue(lines.Any(l => l.Contains($" {type} ") && l.Contains(" GLOBAL ") && l.TrimEnd().EndsWith(" " + name)), $"{name} missing:\n{symbols.StandardOutput}");
    }

    [TestMethod]
    public void TheSameSourcesGiveByteIdenticalLibrariesAndShims()
    {
        var first = CompiledLibrary.CompileOnly(Program);
        var second = CompiledLibrary.CompileOnly(Program);
        CollectionAssert.AreEqual(first.Library, second.Library);
        Assert.AreEqual(first.CSharpShims, second.CSharpShims);
    }

    [TestMethod]
    public void CompilationsRunConcurrentlyWithoutInterfering()
    {
        // MSBuild may run several projects' tasks in one process at once.
        var expected = CompileProgram();
        var results = new byte[8][];
        Parallel.For(0, results.Length, i => results[i] = MaruCompiler.Compile([new SourceFile("test.l", Program)], CompiledLibrary.Options).Library!);
        foreach (var result in results) CollectionAssert.AreEqual(expected, result);
    }

    [TestMethod]
    public void ShimsDeclareOneLibraryImportPerFunction()
    {
        var shims = CompiledLibrary.CompileOnly(Program).CSharpShims!;
        StringAssert.Contains(shims, "EntryPoint = \"__maru_fib_2diter\"");
        StringAssert.Contains(shims, "static partial long FibIter(long n);");
        StringAssert.Contains(shims, "static partial long IsPrime(long n);");
        StringAssert.Contains(shims, "static partial long Bench(long n);");
    }
}
