using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>
/// Programs/emit-checks.l is our own rendition of the checks of maru-2.4's test-emit.l (Piumarta's
/// test of his compiler): printf as an extern, for, doubly recursive calls, if with zero to four
/// arguments, and/or values, a let binding with several expressions, all between (compile-begin)
/// and (compile-end). Compiled and run, main must print what the reference pipeline
/// (eval emit.l test-emit.l, assembled for IA-32 and run) prints for the original.
/// </summary>
[TestClass]
[DoNotParallelize] // main writes to the process's standard output, captured here
public sealed class TestEmitProgramTests
{
    private static readonly string ProgramPath = Path.Combine(AppContext.BaseDirectory, "Evaluation", "Programs", "emit-checks.l");

    [TestMethod]
    public void EvaluatesAndSelectsMainFibsAndPrintf()
    {
        var run = CompileTime.Evaluate(File.ReadAllText(ProgramPath), "emit-checks.l");
        Assert.IsEmpty(run.Diagnostics, string.Join("\n", run.Diagnostics));
        CollectionAssert.AreEqual(new[] { "printf", "calls-of-fib", "main" }, run.Unit.Definitions.Select(d => d.Name).ToArray());
    }

    [TestMethod]
    public void CompilesAndPrintsWhatTheReferencePrints()
    {
        using var library = CompiledLibrary.Compile([SourceFile.Load(ProgramPath)]);
        var output = StandardOutput.Capture(() => Assert.AreEqual(0, library.Call("main", 0, 0)));
        Assert.AreEqual("0 1 2 3 4 5 6 7 8 9 \n0 0 2 2 2\n0 0 0 6 7\n1973\n1\n3\na42\nb43\n", output);
    }
}
