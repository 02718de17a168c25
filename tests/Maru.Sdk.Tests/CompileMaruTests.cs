using Maru.Build.Tasks;
using Maru.Sdk.Tests.TestSupport;
using Microsoft.Build.Utilities;

namespace Maru.Sdk.Tests;

/// <summary>The CompileMaru task run in-process: how it reads items, logs diagnostics and writes outputs.</summary>
[TestClass]
public sealed class CompileMaruTests
{
    private string _project = "";
    private RecordingBuildEngine _engine = null!;

    [TestInitialize]
    public void CreateProject()
    {
        _project = Directory.CreateTempSubdirectory("maru task ü ").FullName;
        _engine = new RecordingBuildEngine(Path.Combine(_project, "p.csproj"));
    }

    [TestCleanup]
    public void DeleteProject()
    {
        try { Directory.Delete(_project, recursive: true); } catch (IOException) { }
    }

    private string Library => Path.Combine(_project, "obj", "maru", "libP.so");
    private string Shims => Path.Combine(_project, "obj", "maru", "MaruExports.g.cs");

    private void Write(string relativePath, string text)
    {
        var path = Path.Combine(_project, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private CompileMaru Task(string? runtimeIdentifier, params string[] sources) => new()
    {
        BuildEngine = _engine,
        Sources = sources.Select(s => (Microsoft.Build.Framework.ITaskItem)new TaskItem(s)).ToArray(),
        RuntimeIdentifier = runtimeIdentifier,
        LibraryName = "P",
        OutputLibrary = Library,
        OutputShims = Shims,
        ShimNamespace = "",
        ShimClassName = "MaruExports",
    };

    [TestMethod]
    public void CompilesRelativeSourcesAgainstTheProjectFolder()
    {
        Write("lisp/math.l", "(define-function triple (x) (* 3 x))\n");
        Assert.IsTrue(Task("linux-x64", "lisp/math.l").Execute(), string.Join("\n", _engine.Errors.Select(e => e.Message)));
        Assert.IsEmpty(_engine.Errors);
        Assert.IsTrue(File.Exists(Library));
        StringAssert.Contains(File.ReadAllText(Shims), "internal static partial long Triple(long x);");
        StringAssert.Contains(File.ReadAllText(Shims), "defined at lisp/math.l(1,1)");
    }

    [TestMethod]
    public void TheBudgetPropertiesReachTheCompiler()
    {
        Write("a.l", "(define-function f () 1)\n(while 1)\n");
        var task = Task("linux-x64", "a.l");
        task.MaxEvaluationSteps = "2000000"; // well above the prelude's own steps, which count against it
        Assert.IsFalse(task.Execute());
        Assert.HasCount(1, _engine.Errors, string.Join("\n", _engine.Errors.Select(e => e.Message)));
        Assert.AreEqual("MARU0606", _engine.Errors[0].Code);
        StringAssert.Contains(_engine.Errors[0].Message, "2,000,000 steps");
        Assert.AreEqual("a.l", _engine.Errors[0].File);
        Assert.IsFalse(File.Exists(Library));

        var bad = Task("linux-x64", "a.l");
        bad.MaxEvaluationMemory = "lots";
        Assert.IsFalse(bad.Execute());
        Assert.AreEqual("MARU0005", _engine.Errors[^1].Code);
    }

    [TestMethod]
    public void CancellingTheBuildStopsARunningCompilation()
    {
        Write("a.l", "(while 1)\n");
        var task = Task("linux-x64", "a.l");
        task.MaxEvaluationSteps = "9000000000000000000";
        task.MaxCompilationTime = "600";
        var run = System.Threading.Tasks.Task.Run(task.Execute);
        Thread.Sleep(300);
        task.Cancel();
        Assert.IsTrue(run.Wait(TimeSpan.FromSeconds(60)), "the compilation stops promptly once cancelled");
        Assert.IsFalse(run.Result);
        Assert.AreEqual("MARU0504", _engine.Errors.Single().Code);
        Assert.IsFalse(File.Exists(Library));
    }

    [TestMethod]
    public void LinuxArm64BuildsAnAArch64LibraryWithTheSameShims()
    {
        Write("a.l", "(define-function triple (x) (* 3 x))\n");
        Assert.IsTrue(Task("linux-x64", "a.l").Execute());
        var x64Shims = File.ReadAllText(Shims);
        Assert.IsTrue(Task("linux-arm64", "a.l").Execute(), string.Join("\n", _engine.Errors.Select(e => e.Message)));
        var library = File.ReadAllBytes(Library);
        Assert.AreEqual((ushort)183, BitConverter.ToUInt16(library, 18), "e_machine is EM_AARCH64");
        Assert.AreEqual(x64Shims, File.ReadAllText(Shims));
    }

    [TestMethod]
    public void TheOptimisationLevelReachesTheCompiler()
    {
        Write("a.l", "(define-function sum (n) (let ((s 0)) (while (> n 0) (set s (+ s n)) (set n (- n 1))) s))\n");
        var straight = Task("linux-x64", "a.l");
        straight.OptimisationLevel = "O0";
        Assert.IsTrue(straight.Execute());
        var o0 = File.ReadAllBytes(Library);
        var optimised = Task("linux-x64", "a.l");
        optimised.OptimisationLevel = "O1";
        Assert.IsTrue(optimised.Execute());
        CollectionAssert.AreNotEqual(o0, File.ReadAllBytes(Library), "the level reaches the compiler");
    }

    [TestMethod]
    public void AListingIsWrittenWhenAsked()
    {
        Write("a.l", "(define-function twice (x) (* 2 x))\n");
        var task = Task("linux-x64", "a.l");
        task.ListingFile = Path.Combine(Path.GetDirectoryName(Library)!, "libP.lst");
        Assert.IsTrue(task.Execute());
        var listing = File.ReadAllText(task.ListingFile);
        StringAssert.Contains(listing, "(* 2 x)");
        StringAssert.Contains(listing, "ret");
    }

    [TestMethod]
    [DataRow("O2")]
    [DataRow("7")]
    [DataRow("fast")]
    public void AnUnknownOptimisationLevelIsAnError(string level)
    {
        Write("a.l", "(define-function one () 1)\n");
        var task = Task("linux-x64", "a.l");
        task.OptimisationLevel = level;
        Assert.IsFalse(task.Execute());
        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0005", error.Code);
        Assert.AreEqual($"MaruOptimizationLevel must be O0 or O1, not '{level}'", error.Message);
    }

    [TestMethod]
    public void NoSourcesIsMaru0004()
    {
        Assert.IsFalse(Task("linux-x64").Execute());
        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0004", error.Code);
        Assert.AreEqual("no Maru source files to compile", error.Message);
    }

    [TestMethod]
    public void AnEmptyRuntimeIdentifierMeansTheHost()
    {
        Write("a.l", "(define-function one () 1)\n");
        Assert.IsTrue(Task("", "a.l").Execute());
        Assert.IsTrue(File.Exists(Library));
    }

    [TestMethod]
    public void ErrorsAreLoggedWithCodeFileLineAndColumn()
    {
        Write("lisp/math.l", "(define-function triple (x) (* 3 x))\n\n  (define-function f (x) (+ x 1)\n");
        Assert.IsFalse(Task("linux-x64", "lisp/math.l").Execute());

        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0101", error.Code);
        Assert.AreEqual("lisp/math.l", error.File);
        Assert.AreEqual(3, error.LineNumber);
        Assert.AreEqual(3, error.ColumnNumber);
    }

    [TestMethod]
    public void AFailedCompilationDeletesStaleOutputs()
    {
        Write("a.l", "(define-function one () 1)\n");
        Assert.IsTrue(Task("linux-x64", "a.l").Execute());
        Assert.IsTrue(File.Exists(Library) && File.Exists(Shims));

        Write("a.l", "(define-function one () 1");
        Assert.IsFalse(Task("linux-x64", "a.l").Execute());
        Assert.IsFalse(File.Exists(Library));
        Assert.IsFalse(File.Exists(Shims));
    }

    [TestMethod]
    public void AMissingSourceIsMaru0002()
    {
        Assert.IsFalse(Task("linux-x64", "nowhere.l").Execute());
        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0002", error.Code);
        Assert.AreEqual("nowhere.l", error.File);
    }

    [TestMethod]
    [DataRow("win-x64", "MARU0401")]
    [DataRow("linux-riscv64", "MARU0401")]
    public void UnsupportedTargetsAreRefused(string rid, string code)
    {
        Write("a.l", "(define-function one () 1)\n");
        Assert.IsFalse(Task(rid, "a.l").Execute());
        Assert.AreEqual(code, _engine.Errors.Single().Code);
        Assert.IsFalse(File.Exists(Library));
    }

    [TestMethod]
    public void OsxArm64WritesAnArm64Dylib()
    {
        Write("a.l", "(define-function one () 1)\n");
        Assert.IsTrue(Task("osx-arm64", "a.l").Execute(), string.Join("\n", _engine.Errors.Select(e => e.Message)));
        var library = File.ReadAllBytes(Library);
        Assert.AreEqual(0xfeedfacfu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(library), "Mach-O 64-bit magic");
        Assert.AreEqual(0x0100000cu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(library.AsSpan(4)), "CPU_TYPE_ARM64");
    }

    [TestMethod]
    public void ExportNameCollisionsAreLocatedAtTheSecondDefinition()
    {
        Write("a.l", "(define-function fib-iter (n) n)\n(define-function fib_iter (n) n)\n");
        Assert.IsFalse(Task("linux-x64", "a.l").Execute());
        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0301", error.Code);
        Assert.AreEqual(2, error.LineNumber);
        StringAssert.Contains(error.Message, "a.l(1,1)");
    }

    [TestMethod]
    public void AnUnwritableOutputIsOneLineError()
    {
        Write("a.l", "(define-function one () 1)\n");
        var task = Task("linux-x64", "a.l");
        task.OutputLibrary = Path.Combine(_project, "a.l", "libP.so"); // a file where a folder must be
        Assert.IsFalse(task.Execute());
        var error = _engine.Errors.Single();
        Assert.AreEqual("MARU0003", error.Code);
        Assert.DoesNotContain("\n", error.Message ?? "");
    }
}
