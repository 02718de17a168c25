using System.Runtime.InteropServices;
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
public sealed partial class TestEmitProgramTests
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
        var output = CaptureStandardOutput(() => Assert.AreEqual(0, library.Call("main", 0, 0)));
        Assert.AreEqual("0 1 2 3 4 5 6 7 8 9 \n0 0 2 2 2\n0 0 0 6 7\n1973\n1\n3\na42\nb43\n", output);
    }

    private static string CaptureStandardOutput(Action action)
    {
        var file = Path.GetTempFileName();
        try
        {
            Fflush(0);
            var saved = Dup(1);
            var fd = Open(file, 0x1 | 0x40 | 0x200, Convert.ToInt32("644", 8)); // O_WRONLY | O_CREAT | O_TRUNC
            Assert.IsGreaterThanOrEqualTo(0, fd);
            Dup2(fd, 1);
            Close(fd);
            try
            {
                action();
            }
            finally
            {
                Fflush(0);
                Dup2(saved, 1);
                Close(saved);
            }
            return File.ReadAllText(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "fflush")]
    private static partial int Fflush(nint stream);

    [LibraryImport("libc.so.6", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport("libc.so.6", EntryPoint = "dup2")]
    private static partial int Dup2(int from, int to);

    [LibraryImport("libc.so.6", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);
}
