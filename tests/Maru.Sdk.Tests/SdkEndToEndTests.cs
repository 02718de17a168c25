using System.Text.RegularExpressions;
using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>
/// Builds, runs and publishes a real <c>&lt;Project Sdk="Maru.Sdk"&gt;</c> console app against the
/// just-packed SDK. One workspace and one project are shared by the class (packing and restoring
/// are the slow parts); each test brings the project to the state it needs and restores it.
/// </summary>
[TestClass]
public sealed partial class SdkEndToEndTests
{
    private const string MathSource = """
        (define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))
        (define-function triple (x) (* 3 x))

        """;

    private const string BrokenSource = "(define-function f (x) (+ x 1)\n";

    private const string ProjectFile = """
        <Project Sdk="Maru.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <AssemblyName>E2e</AssemblyName>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
          </PropertyGroup>
        </Project>
        """;

    private const string ProgramSource = """
        Console.WriteLine(MaruExports.FibIter(50));
        Console.WriteLine(MaruExports.Triple(-14));

        /// <summary>Lets other projects reach the Maru functions (the generated class is internal).</summary>
        public static class E2eApi
        {
            public static long FibIter(long n) => MaruExports.FibIter(n);
        }
        """;

    private static SdkWorkspace? s_workspace;
    private static string s_project = "";
    private static ToolResult? s_firstBuild;

    private static SdkWorkspace Workspace => s_workspace ?? throw new InvalidOperationException("class not initialised");

    private static string SourcePath => Path.Combine(s_project, "lisp", "math.l");

    private static string ObjLibrary => Path.Combine(s_project, "obj", "Debug", "net10.0", "maru", "libE2e.so");

    private static string ObjShims => Path.Combine(s_project, "obj", "Debug", "net10.0", "maru", "MaruExports.g.cs");

    private static string BinLibrary => Path.Combine(s_project, "bin", "Debug", "net10.0", "libE2e.so");

    [ClassInitialize]
    public static void Initialize(TestContext context)
    {
        s_workspace = SdkWorkspace.Create();
        s_project = Workspace.WriteProject("E2e", new Dictionary<string, string>
        {
            ["E2e.csproj"] = ProjectFile,
            ["Program.cs"] = ProgramSource,
            ["lisp/math.l"] = MathSource,
        });
        s_firstBuild = Workspace.Build(s_project);
    }

    [ClassCleanup]
    public static void Cleanup() => s_workspace?.Dispose();

    [TestMethod]
    public void FirstBuildSucceedsAndPutsTheLibraryNextToTheApp()
    {
        AssertSucceeded(s_firstBuild!);
        Assert.IsTrue(File.Exists(ObjLibrary), ObjLibrary);
        Assert.IsTrue(File.Exists(ObjShims), ObjShims);
        Assert.IsTrue(File.Exists(BinLibrary), BinLibrary);
        StringAssert.Contains(File.ReadAllText(ObjShims), "internal static partial long FibIter(long n);");
    }

    [TestMethod]
    public void DotnetRunPrintsTheResults()
    {
        var run = Workspace.Dotnet(s_project, "run");
        AssertSucceeded(run);
        CollectionAssert.AreEqual(new[] { "12586269025", "-42" }, Lines(run.StandardOutput), run.ToString());
    }

    [TestMethod]
    public void ASecondBuildSkipsTheMaruCompilerAndKeepsTheLibrary()
    {
        AssertSucceeded(Workspace.Build(s_project));
        var binTime = File.GetLastWriteTimeUtc(BinLibrary);
        var objTime = File.GetLastWriteTimeUtc(ObjLibrary);
        var bytes = File.ReadAllBytes(BinLibrary);

        var second = Workspace.Build(s_project, "-v:n");
        AssertSucceeded(second);
        StringAssert.Contains(second.StandardOutput, "Skipping target \"MaruCompileSources\" because all output files are up-to-date");
        Assert.AreEqual(binTime, File.GetLastWriteTimeUtc(BinLibrary));
        Assert.AreEqual(objTime, File.GetLastWriteTimeUtc(ObjLibrary));
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(BinLibrary));
    }

    [TestMethod]
    public void EditingASourceRegeneratesTheLibraryAndTheShims()
    {
        AssertSucceeded(Workspace.Build(s_project));
        var oldLibrary = File.ReadAllBytes(ObjLibrary);
        try
        {
            File.WriteAllText(SourcePath, MathSource + "(define-function quadruple (x) (* 4 x))\n");
            var build = Workspace.Build(s_project);
            AssertSucceeded(build);
            StringAssert.Contains(File.ReadAllText(ObjShims), "internal static partial long Quadruple(long x);");
            CollectionAssert.AreNotEqual(oldLibrary, File.ReadAllBytes(ObjLibrary));
            CollectionAssert.AreEqual(File.ReadAllBytes(ObjLibrary), File.ReadAllBytes(BinLibrary));
        }
        finally
        {
            File.WriteAllText(SourcePath, MathSource);
        }
    }

    [TestMethod]
    public void ABrokenSourceFailsWithALocatedErrorAndLeavesNoLibrary()
    {
        AssertSucceeded(Workspace.Build(s_project));
        Assert.IsTrue(File.Exists(ObjLibrary));
        try
        {
            File.WriteAllText(SourcePath, BrokenSource);
            var build = Workspace.Build(s_project);
            Assert.AreNotEqual(0, build.ExitCode, build.ToString());
            Assert.MatchesRegex(new Regex(@"(^|\s)lisp/math\.l\(1,1\): error MARU0101: ", RegexOptions.Multiline), build.StandardOutput, build.ToString());
            Assert.IsFalse(File.Exists(ObjLibrary), "a stale library survived the failed build");
            Assert.IsFalse(File.Exists(ObjShims), "stale shims survived the failed build");
        }
        finally
        {
            File.WriteAllText(SourcePath, MathSource);
        }
    }

    [TestMethod]
    public void AnUnsupportedTargetIsAClearError()
    {
        var build = Workspace.Build(s_project, "-p:MaruRuntimeIdentifier=osx-arm64");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.StandardOutput, "error MARU0402:", build.ToString());

        build = Workspace.Build(s_project, "-p:MaruRuntimeIdentifier=plan9-mips");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.StandardOutput, "error MARU0401:", build.ToString());
    }

    [TestMethod]
    public void PublishIncludesTheNativeLibrary()
    {
        var output = Path.Combine(Workspace.Root, "publish out");
        var publish = Workspace.Dotnet(s_project, "publish", "-o", output, "-nodeReuse:false");
        AssertSucceeded(publish);
        Assert.IsTrue(File.Exists(Path.Combine(output, "libE2e.so")), publish.ToString());

        var run = ExternalTool.Dotnet(output, Path.Combine(output, "E2e.dll"));
        AssertSucceeded(run);
        CollectionAssert.AreEqual(new[] { "12586269025", "-42" }, Lines(run.StandardOutput), run.ToString());
    }

    [TestMethod]
    public void AReferencingProjectGetsTheLibrary()
    {
        var app = Workspace.WriteProject("App", new Dictionary<string, string>
        {
            ["App.csproj"] = """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                  </PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="../E2e/E2e.csproj" />
                  </ItemGroup>
                </Project>
                """,
            ["Program.cs"] = "System.Console.WriteLine(E2eApi.FibIter(50));\n",
        });
        var build = Workspace.Build(app);
        AssertSucceeded(build);
        var binary = Path.Combine(app, "bin", "Debug", "net10.0");
        Assert.IsTrue(File.Exists(Path.Combine(binary, "libE2e.so")), build.ToString());

        var run = ExternalTool.Dotnet(binary, Path.Combine(binary, "App.dll"));
        AssertSucceeded(run);
        CollectionAssert.AreEqual(new[] { "12586269025" }, Lines(run.StandardOutput), run.ToString());
    }

    [TestMethod]
    public void ADesignTimeBuildGeneratesTheShimsForTheIde()
    {
        Directory.Delete(Path.GetDirectoryName(ObjShims)!, recursive: true);
        var build = Workspace.Dotnet(s_project, "msbuild", "-restore", "-t:Compile", "-p:DesignTimeBuild=true", "-p:SkipCompilerExecution=true",
            "-p:ProvideCommandLineArgs=true", "-getItem:CscCommandLineArgs", "-nodeReuse:false", "-nologo");
        AssertSucceeded(build);
        Assert.IsTrue(File.Exists(ObjShims), build.ToString());
        StringAssert.Contains(build.StandardOutput, "MaruExports.g.cs", "the shims are not part of the compiler's command line");
    }

    [TestMethod]
    public void ChangingAnOptionRegeneratesTheShims()
    {
        try
        {
            var build = Workspace.Dotnet(s_project, "msbuild", "-restore", "-t:Compile", "-p:DesignTimeBuild=true", "-p:SkipCompilerExecution=true",
                "-p:MaruExportsNamespace=My.Native", "-p:MaruExportsClassName=Lisp", "-p:MaruLibraryName=mathlib", "-nodeReuse:false", "-nologo");
            AssertSucceeded(build);
            var shims = File.ReadAllText(Path.Combine(Path.GetDirectoryName(ObjShims)!, "Lisp.g.cs"));
            StringAssert.Contains(shims, "namespace My.Native\n{\n");
            StringAssert.Contains(shims, "internal static unsafe partial class Lisp\n");
            StringAssert.Contains(shims, "LibraryImport(\"mathlib\", EntryPoint = \"__maru_fib_2diter\")");
            Assert.IsTrue(File.Exists(Path.Combine(Path.GetDirectoryName(ObjShims)!, "libmathlib.so")), build.ToString());
        }
        finally
        {
            AssertSucceeded(Workspace.Build(s_project));
        }
    }

    [TestMethod]
    public void FilesPulledInByRequireAreInputsOfTheNextBuild()
    {
        var project = Workspace.WriteProject("Required", new Dictionary<string, string>
        {
            ["Required.csproj"] = """
                <Project Sdk="Maru.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                  </PropertyGroup>
                  <ItemGroup>
                    <!-- Included by main.l, not compiled on its own. -->
                    <MaruCompile Remove="lisp/include/**" />
                  </ItemGroup>
                </Project>
                """,
            ["Program.cs"] = "System.Console.WriteLine(MaruExports.Scaled(2));\n",
            ["lisp/main.l"] = "(require \"include/factor.l\")\n(compile-begin)\n(define-function scaled (x) (* x (factor)))\n(compile-end)\n",
            ["lisp/include/factor.l"] = "(compile-begin)\n(define-function factor () 10)\n(compile-end)\n",
        });
        var binary = Path.Combine(project, "bin", "Debug", "net10.0");
        AssertSucceeded(Workspace.Build(project));
        var run = ExternalTool.Dotnet(binary, Path.Combine(binary, "Required.dll"));
        CollectionAssert.AreEqual(new[] { "20" }, Lines(run.StandardOutput), run.ToString());

        // Only the required file changes: the build must notice and recompile.
        File.WriteAllText(Path.Combine(project, "lisp", "include", "factor.l"), "(compile-begin)\n(define-function factor () 21)\n(compile-end)\n");
        AssertSucceeded(Workspace.Build(project));
        run = ExternalTool.Dotnet(binary, Path.Combine(binary, "Required.dll"));
        CollectionAssert.AreEqual(new[] { "42" }, Lines(run.StandardOutput), run.ToString());
    }

    private static void AssertSucceeded(ToolResult result) => Assert.AreEqual(0, result.ExitCode, result.ToString());

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
