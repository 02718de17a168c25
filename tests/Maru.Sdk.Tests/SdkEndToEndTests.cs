using System.Text.Json;
using System.Text.RegularExpressions;
using Maru.Compiler.Targets;
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
        (define-function prime? (n) (let ((d 2) (p (> n 1))) (while (and p (<= (* d d) n)) (if (= 0 (% n d)) (set p 0)) (set d (+ d 1))) p))
        (define-export prime? <bool>)
        (define-function wide-true () 4294967296)
        (define-export wide-true <bool>)
        (define-function pick (class a b) (if class a b))
        (define-export pick (class <bool>))

        """;

    /// <summary>A macro called with one argument too few: line 10, the call at column 29.</summary>
    private const string BrokenSource = MathSource + "(define-form two (a b) a)\n(define-function broken (x) (two x))\n";

    private const string BrokenError = "lisp/math.l(10,29): error MARU0202: 'two' takes 2 arguments but is called with 1";

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
        // <bool>: C 0/non-zero over the whole word (4294967296 has no bit in the low 32), and a bool
        // parameter named with a C# keyword.
        Console.WriteLine($"{MaruExports.IsPrime(7)} {MaruExports.IsPrime(9)} {MaruExports.WideTrue()} {MaruExports.Pick(true, 1, 2)} {MaruExports.Pick(@class: false, 1, 2)}");

        /// <summary>Lets other projects reach the Maru functions (the generated class is internal).</summary>
        public static class E2eApi
        {
            public static long FibIter(long n) => MaruExports.FibIter(n);
        }
        """;

    private static readonly string[] ExpectedOutput = ["12586269025", "-42", "True False True 1 2"];

    private static SdkWorkspace? s_workspace;
    private static string s_project = "";
    private static ExternalToolResult? s_firstBuild;

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
        var shims = File.ReadAllText(ObjShims);
        StringAssert.Contains(shims, "internal static partial long FibIter(long n);");
        StringAssert.Contains(shims, "internal static long Pick(bool @class, long a, long b)");
    }

    [TestMethod]
    public void DotnetRunPrintsTheResults()
    {
        var run = Workspace.Dotnet(s_project, "run");
        AssertSucceeded(run);
        CollectionAssert.AreEqual(ExpectedOutput, Lines(run.StandardOutput), run.ToString());
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
    public void ABrokenSourceKeepsTheIdesShimsButFailsTheRealBuildWithALocatedError()
    {
        AssertSucceeded(Workspace.Build(s_project));
        Assert.IsTrue(File.Exists(ObjLibrary));
        try
        {
            File.WriteAllText(SourcePath, BrokenSource);

            // What an IDE runs while the user types: the error is a warning at the source, and the
            // last good shims stay on the compiler's command line with every export.
            var design = DesignTimeBuild();
            AssertSucceeded(design);
            StringAssert.Contains(design.Output, BrokenError.Replace(": error ", ": warning "), design.ToString());
            StringAssert.Contains(design.StandardOutput, "MaruExports.g.cs", "the shims left the compiler's command line");
            StringAssert.Contains(File.ReadAllText(ObjShims), "internal static partial long FibIter(long n);");

            var build = Workspace.Build(s_project);
            Assert.AreNotEqual(0, build.ExitCode, build.ToString());
            Assert.MatchesRegex(new Regex($@"(^|\s){Regex.Escape(BrokenError)}", RegexOptions.Multiline), build.StandardOutput, build.ToString());
            Assert.IsFalse(File.Exists(ObjLibrary), "a stale library survived the failed build");
            Assert.IsFalse(File.Exists(ObjShims), "stale shims survived the failed build");

            // The failed build removed the shims; the next design-time build puts the last good ones
            // back. This one is recognised as the legacy project system's is: no
            // DesignTimeBuild, only BuildingProject left false (the Build target never runs).
            design = DesignTimeBuild(designTimeBuildProperty: false);
            AssertSucceeded(design);
            StringAssert.Contains(design.Output, BrokenError.Replace(": error ", ": warning "), design.ToString());
            StringAssert.Contains(design.StandardOutput, "MaruExports.g.cs", "the shims left the compiler's command line");
            StringAssert.Contains(File.ReadAllText(ObjShims), "internal static partial long FibIter(long n);");
            Assert.IsFalse(File.Exists(ObjLibrary), "a design-time build wrote a library from a broken source");
        }
        finally
        {
            File.WriteAllText(SourcePath, MathSource);
        }
    }

    [TestMethod]
    public void TargetErrorsPointAtTheProjectAndListTheSupportedTargets()
    {
        var supported = string.Join(", ", TargetPlatform.Supported.Select(t => t.RuntimeIdentifier));
        var projectFile = Path.Combine(s_project, "E2e.csproj");

        // Set on the command line: the project file is the place to look.
        var build = Workspace.Build(s_project, "-p:MaruRuntimeIdentifier=plan9-mips");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.StandardOutput, $"{projectFile} : error MARU0401: unknown runtime identifier 'plan9-mips': Maru.Sdk supports {supported}", build.ToString());
        Assert.DoesNotContain("Maru.targets", build.StandardOutput, build.ToString());

        // Set in the project: the element that set it (a known target not supported yet, if there is one).
        var refused = TargetPlatform.Known.FirstOrDefault(t => !t.IsSupported)?.RuntimeIdentifier;
        var expected = refused is null
            ? $"{projectFile}(6,5): error MARU0401: unknown runtime identifier 'plan9-mips': Maru.Sdk supports {supported}"
            : $"{projectFile}(6,5): error MARU0402: target '{refused}' is not yet supported by this version of Maru.Sdk (supported: {supported})";
        try
        {
            File.WriteAllText(projectFile, ProjectFile.Replace("    <AssemblyName>E2e</AssemblyName>\n",
                $"    <AssemblyName>E2e</AssemblyName>\n    <MaruRuntimeIdentifier>{refused ?? "plan9-mips"}</MaruRuntimeIdentifier>\n"));
            build = Workspace.Build(s_project);
            Assert.AreNotEqual(0, build.ExitCode, build.ToString());
            StringAssert.Contains(build.StandardOutput, expected, build.ToString());
            Assert.DoesNotContain("Maru.targets", build.StandardOutput, build.ToString());

            // A further target of MaruRuntimeIdentifiers (compiled by its own task call): that element.
            File.WriteAllText(projectFile, ProjectFile.Replace("    <AssemblyName>E2e</AssemblyName>\n",
                "    <AssemblyName>E2e</AssemblyName>\n    <MaruRuntimeIdentifiers>linux-x64;plan9-mips</MaruRuntimeIdentifiers>\n"));
            build = Workspace.Build(s_project);
            Assert.AreNotEqual(0, build.ExitCode, build.ToString());
            StringAssert.Contains(build.StandardOutput, $"{projectFile}(6,5): error MARU0401: unknown runtime identifier 'plan9-mips': Maru.Sdk supports {supported}", build.ToString());
            Assert.DoesNotContain("Maru.targets", build.StandardOutput, build.ToString());
        }
        finally
        {
            File.WriteAllText(projectFile, ProjectFile);
        }
    }

    [TestMethod]
    public void DotnetWatchRebuildsAndRestartsTheAppWhenASourceChanges()
    {
        var limit = TimeSpan.FromMinutes(10); // two builds on a loaded machine
        try
        {
            using var watch = ExternalTool.Start(ExternalTool.DotnetPath, ["watch", "run", "--non-interactive"], s_project);
            var read = watch.WaitForLine(line => line.Trim() == "-42", limit);
            Assert.AreNotEqual(-1, read, watch.Output);
            // The app has exited: edit once dotnet watch waits for a change, as a user would.
            read = watch.WaitForLine(line => line.Contains("Waiting for a file to change", StringComparison.Ordinal), limit, skipLines: read);
            Assert.AreNotEqual(-1, read, watch.Output);
            File.WriteAllText(SourcePath, MathSource.Replace("(* 3 x)", "(* 5 x)"));
            Assert.AreNotEqual(-1, watch.WaitForLine(line => line.Trim() == "-70", limit, skipLines: read), watch.Output);
        }
        finally
        {
            File.WriteAllText(SourcePath, MathSource);
        }
    }

    [TestMethod]
    public void MaruSourcesAreWatchedAndUpToDateCheckInputs()
    {
        var result = Workspace.Dotnet(s_project, "msbuild", "-nologo", "-nodeReuse:false", "-getItem:Watch", "-getItem:UpToDateCheckInput");
        AssertSucceeded(result);
        var items = JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("Items");
        foreach (var type in new[] { "Watch", "UpToDateCheckInput" })
            Assert.IsTrue(items.GetProperty(type).EnumerateArray().Any(item => item.GetProperty("FullPath").GetString() == SourcePath), $"{type}: {result.StandardOutput}");
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
        CollectionAssert.AreEqual(ExpectedOutput, Lines(run.StandardOutput), run.ToString());
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
        var build = DesignTimeBuild();
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
                  <!-- As Visual Studio's project system defines it (the .NET SDK alone has no such target). -->
                  <Target Name="CollectUpToDateCheckInputDesignTime" DependsOnTargets="$(CollectUpToDateCheckInputDesignTimeDependsOn)" Returns="@(UpToDateCheckInput)" />
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

        // The fast up-to-date check sees the required file, collected on its own as Visual Studio does.
        var collect = Workspace.Dotnet(project, "msbuild", "-nologo", "-nodeReuse:false", "-t:CollectUpToDateCheckInputDesignTime", "-getItem:UpToDateCheckInput");
        AssertSucceeded(collect);
        var inputs = JsonDocument.Parse(collect.StandardOutput).RootElement.GetProperty("Items").GetProperty("UpToDateCheckInput")
            .EnumerateArray().Select(item => item.GetProperty("FullPath").GetString()).ToList();
        CollectionAssert.IsSubsetOf(new[] { Path.Combine(project, "lisp", "main.l"), Path.Combine(project, "lisp", "include", "factor.l") }, inputs, collect.StandardOutput);

        // Only the required file changes: the build must notice and recompile.
        File.WriteAllText(Path.Combine(project, "lisp", "include", "factor.l"), "(compile-begin)\n(define-function factor () 21)\n(compile-end)\n");
        AssertSucceeded(Workspace.Build(project));
        run = ExternalTool.Dotnet(binary, Path.Combine(binary, "Required.dll"));
        CollectionAssert.AreEqual(new[] { "42" }, Lines(run.StandardOutput), run.ToString());

        // The README's pattern: main.l without a section requires a plain file; what compiled code
        // uses of it is compiled (and exported).
        File.WriteAllText(Path.Combine(project, "lisp", "include", "factor.l"), "(define-function factor () 5)\n");
        File.WriteAllText(Path.Combine(project, "lisp", "main.l"), "(require \"include/factor.l\")\n(define-function scaled (x) (* x (factor)))\n");
        File.WriteAllText(Path.Combine(project, "Program.cs"), "System.Console.WriteLine($\"{MaruExports.Scaled(2)} {MaruExports.Factor()}\");\n");
        AssertSucceeded(Workspace.Build(project));
        run = ExternalTool.Dotnet(binary, Path.Combine(binary, "Required.dll"));
        CollectionAssert.AreEqual(new[] { "10 5" }, Lines(run.StandardOutput), run.ToString());

        // A definition that cannot be compiled: the error is at the use and names the definition.
        File.WriteAllText(Path.Combine(project, "lisp", "include", "factor.l"), "(define factor '(5))\n");
        var build = Workspace.Build(project);
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.StandardOutput, "lisp/main.l(2,35): error MARU0212: 'factor' is defined at lisp/include/factor.l(1,1), in a file read by " +
            "load/require, and compiled code uses it, but it cannot be compiled: 'factor' is the list (5) at compile time", build.ToString());
    }

    [TestMethod]
    public void AnOldTargetFrameworkIsAMaruErrorNamingTheRequirement()
    {
        // One multi-targeting build: a .NET Standard target and a .NET before 7 are each MARU0091 at
        // the project; the remedy the message gives for multi-targeting (turn the Maru sources off for
        // that framework) lets netstandard2.1 build; net10.0 builds the library beside them.
        static string Remedy(string framework) =>
            $"<EnableDefaultMaruCompileItems Condition=\"'$(TargetFramework)' == '{framework}'\">false</EnableDefaultMaruCompileItems>";
        var project = Workspace.WriteProject("Legacy", new Dictionary<string, string>
        {
            ["Legacy.csproj"] = $"""
                <Project Sdk="Maru.Sdk">
                  <PropertyGroup>
                    <TargetFrameworks>netstandard2.0;netstandard2.1;net6.0;net10.0</TargetFrameworks>
                    <MaruRuntimeIdentifiers>linux-x64</MaruRuntimeIdentifiers>
                    {Remedy("netstandard2.1")}
                  </PropertyGroup>
                </Project>
                """,
            ["lisp/one.l"] = "(define-function one () 1)\n",
        });
        var build = Workspace.Build(project);
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        foreach (var framework in new[] { "netstandard2.0", "net6.0" })
            StringAssert.Contains(build.StandardOutput, $"{Path.Combine(project, "Legacy.csproj")} : error MARU0091: Maru.Sdk needs .NET 7 or newer " +
                $"(the generated shims use [LibraryImport]), but this project targets '{framework}'. Target net8.0 or newer; when multi-targeting, " +
                $"turn the Maru sources off for the older framework: {Remedy(framework)}.", build.ToString());
        Assert.AreEqual(2, Regex.Matches(build.StandardOutput, @"error MARU0091: .* targets '([^']+)'").Select(m => m.Groups[1].Value).Distinct().Count(), build.ToString());
        Assert.DoesNotContain("error CS", build.StandardOutput, build.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(project, "bin", "Debug", "netstandard2.1", "Legacy.dll")), build.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(project, "bin", "Debug", "net10.0", "libLegacy.so")), build.ToString());
    }

    /// <summary>
    /// A build as Visual Studio runs it for IntelliSense: up to the compiler's command line, which it
    /// prints (BuildingInsideVisualStudio makes CoreCompile run even when its outputs are up to date).
    /// Without <paramref name="designTimeBuildProperty"/>, as the legacy project system runs it.
    /// </summary>
    private static ExternalToolResult DesignTimeBuild(bool designTimeBuildProperty = true) =>
        Workspace.Dotnet(s_project, ["msbuild", "-restore", "-t:Compile", .. designTimeBuildProperty ? ["-p:DesignTimeBuild=true"] : Array.Empty<string>(),
            "-p:BuildingInsideVisualStudio=true", "-p:SkipCompilerExecution=true", "-p:ProvideCommandLineArgs=true", "-getItem:CscCommandLineArgs", "-nodeReuse:false", "-nologo"]);

    private static void AssertSucceeded(ExternalToolResult result) => Assert.AreEqual(0, result.ExitCode, result.ToString());

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
