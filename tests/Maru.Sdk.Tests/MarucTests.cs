using System.Text.RegularExpressions;
using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>The maruc command line, run as a separate process exactly as users run it.</summary>
[TestClass]
public sealed class MarucTests
{
    private string _directory = "";

    [TestInitialize]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("maruc test ü ").FullName;

    [TestCleanup]
    public void DeleteDirectory()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private ExternalToolResult Maruc(params string[] arguments) =>
        ExternalTool.Run(ExternalTool.DotnetPath, [Repository.MarucDll, .. arguments], TimeSpan.FromMinutes(1), _directory);

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(_directory, name), text);
        return name;
    }

    [TestMethod]
    [DataRow("--help")]
    [DataRow("help")]
    [DataRow("-h")]
    public void HelpExplainsTheCommands(string option)
    {
        var result = Maruc(option);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        foreach (var command in new[] { "build", "run", "repl" })
            StringAssert.Contains(result.StandardOutput, command);
        StringAssert.Contains(result.StandardOutput, "Usage:");
        StringAssert.Contains(result.StandardOutput, "maruc");
    }

    [TestMethod]
    public void BuildHelpListsTheOptions()
    {
        var result = Maruc("build", "--help");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        foreach (var option in new[] { "-o", "--target", "--shims", "--library-name" })
            StringAssert.Contains(result.StandardOutput, option);
    }

    [TestMethod]
    public void VersionIsTheAssemblysVersion()
    {
        // Assemblies carry the version prefix; packages add -dev.<height>.g<commit> (PackageVersionTests).
        var result = Maruc("--version");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.AreEqual($"maruc {Repository.VersionPrefix}", result.StandardOutput.Trim());
    }

    [TestMethod]
    [DataRow("build", "--frobnicate", "x.l")]
    [DataRow("build", "x.l")]
    [DataRow("build", "-o", "libx.so")]
    [DataRow("build", "-o")]
    [DataRow("frobnicate")]
    [DataRow("--frobnicate")]
    public void UsageErrorsExitWithTwo(params string[] arguments)
    {
        var result = Maruc(arguments);
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.StartsWith(result.StandardError, "maruc: ");
        Assert.DoesNotContain("   at ", result.Output, "no stack traces");
    }

    [TestMethod]
    public void NoArgumentsIsAUsageError() => Assert.AreEqual(2, Maruc().ExitCode);

    [TestMethod]
    public void ABrokenFilePrintsTheCanonicalErrorAndExitsWithOne()
    {
        var source = Write("broken.l", "(define-function f (x) (+ x 1)\n");
        File.WriteAllBytes(Path.Combine(_directory, "libbroken.so"), [1, 2, 3]);

        var result = Maruc("build", "-o", "libbroken.so", source);

        Assert.AreEqual(1, result.ExitCode, result.ToString());
        Assert.MatchesRegex(new Regex(@"^broken\.l\(1,1\): error MARU0101: ", RegexOptions.Multiline), result.StandardError, result.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(_directory, "libbroken.so")), "a stale library survived");
        Assert.DoesNotContain("   at ", result.Output, "no stack traces");
    }

    [TestMethod]
    public void AMissingFileIsAnError()
    {
        var result = Maruc("build", "-o", "libx.so", "missing.l");
        Assert.AreEqual(1, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "error MARU0002:");
    }

    [TestMethod]
    public void AnUnknownTargetIsAnError()
    {
        var source = Write("ok.l", "(define-function triple (x) (* 3 x))\n");
        var result = Maruc("build", "-o", "libx.so", "--target", "plan9-mips", source);
        Assert.AreEqual(1, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "error MARU0401:");
    }

    [TestMethod]
    public void AGoodFileBuildsALibraryAndShims()
    {
        var source = Write("math file.l", """
            (define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))
            (define-function triple (x) (* 3 x))

            """);

        var result = Maruc("build", "-o", "out/libmath.so", "--shims", "out/Math.g.cs", "--target", "linux-x64", source);

        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var library = File.ReadAllBytes(Path.Combine(_directory, "out", "libmath.so"));
        CollectionAssert.AreEqual(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, library[..4]);
        var shims = File.ReadAllText(Path.Combine(_directory, "out", "Math.g.cs"));
        StringAssert.Contains(shims, "LibraryImport(\"math\", EntryPoint = \"__maru_fib_2diter\")");
        StringAssert.Contains(shims, "internal static partial long Triple(long x);");
    }

    [TestMethod]
    [DataRow("osx-x64", 0x01000007u)]
    [DataRow("osx-arm64", 0x0100000cu)]
    public void BuildForMacOSWritesASignedDylib(string target, uint cpuType)
    {
        var source = Write("math.l", "(define-function triple (x) (* 3 x))\n");

        var result = Maruc("build", "-o", "libmath.dylib", "--target", target, source);

        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var library = File.ReadAllBytes(Path.Combine(_directory, "libmath.dylib"));
        Assert.AreEqual(0xfeedfacfu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(library), "Mach-O 64-bit magic");
        Assert.AreEqual(cpuType, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(library.AsSpan(4)), "CPU type");
        Assert.AreEqual(6u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(library.AsSpan(12)), "MH_DYLIB");
        // The ad-hoc signature names the library: its identifier is the file name.
        var signature = library.AsSpan().LastIndexOf(new byte[] { 0xfa, 0xde, 0x0c, 0xc0 });
        Assert.IsGreaterThan(0, signature, "no embedded signature SuperBlob");
        Assert.IsGreaterThan(signature, library.AsSpan().LastIndexOf("libmath.dylib\0"u8));
        Assert.AreEqual(0, Directory.GetFiles(_directory, "*.tmp", SearchOption.AllDirectories).Length, "no temporary file is left behind");
    }

    [TestMethod]
    public void RunCallsMainInProcessAndFlushesCOutput()
    {
        var program = Write("hello.l", """
            (define printf (extern 'printf))
            (define-function main (argc argv)
              (printf "hello %s, %ld args\n" (oop-at argv 1) argc)
              (let ((i 0)) (while (< i 3) (printf "%ld " i) (set i (+ i 1))))
              (printf "\n")
              7)
            """);
        var result = Maruc("run", program, "--", "world", "x");
        Assert.AreEqual(7, result.ExitCode, result.ToString());
        Assert.AreEqual("hello world, 3 args\n0 1 2 \n", result.StandardOutput.Replace("\r\n", "\n"));
    }

    /// <summary>
    /// Maru.Runtime's private temp folder goes when the process exits, with the library still loaded
    /// in it (maruc run never unloads), and so do folders left by processes that are gone.
    /// </summary>
    [TestMethod]
    public void RunLeavesNoTempFolderBehind()
    {
        var temp = Directory.CreateDirectory(Path.Combine(_directory, "tmp")).FullName;
        // A folder as a killed process leaves it: no process has that id (above any pid_max).
        var orphan = Directory.CreateDirectory(Path.Combine(temp, "maru-runtime-999999999-x1y2z3")).FullName;
        File.WriteAllText(Path.Combine(orphan, "libmaru1.so"), "");
        var program = Write("main.l", "(define-function main () 3)");
        var result = ExternalTool.Run(ExternalTool.DotnetPath, [Repository.MarucDll, "run", program], TimeSpan.FromMinutes(1), _directory,
            environment: new Dictionary<string, string> { ["TMPDIR"] = temp + "/" });
        Assert.AreEqual(3, result.ExitCode, result.ToString());
        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFileSystemEntries(temp).Select(Path.GetFileName).ToArray());
    }

    /// <summary>
    /// On Linux, Maru.Runtime writes libraries to /dev/shm; where that cannot hold a loadable library
    /// (mounted noexec, so dlopen refuses it, or read-only, so the write fails) it moves to the temp
    /// folder and the program still runs. Each case runs maruc in a private mount namespace whose
    /// /dev/shm is such a mount (needs root or user namespaces: CI runs as root).
    /// </summary>
    [TestMethod]
    [DataRow("noexec")]
    [DataRow("ro")]
    public void RunMovesOutOfAnUnusableDevShm(string mountOption)
    {
        // TMPDIR would switch /dev/shm off by itself: the child must see none.
        var result = RunWithDevShm(mountOption, "unset TMPDIR");
        Assert.AreEqual(45, result.ExitCode, result.ToString());
        Assert.AreEqual("", result.StandardError, result.ToString());
    }

    /// <summary>When no folder can hold a loadable library (here the temp folder is on a noexec mount), maruc run reports one error with its own code, not an internal compiler error.</summary>
    [TestMethod]
    public void RunReportsALibraryNoFolderCanLoad()
    {
        var result = RunWithDevShm("noexec", "export TMPDIR=/dev/shm/");
        Assert.AreEqual(CompilationFailedExitCode, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "error MARU0007: cannot write or load the compiled library", result.ToString());
        Assert.IsFalse(result.StandardError.Contains("internal compiler error", StringComparison.Ordinal), result.ToString());
        Assert.AreEqual("", result.StandardOutput, result.ToString());
    }

    private const int CompilationFailedExitCode = 1;

    /// <summary>maruc run of a small program in a private mount namespace whose /dev/shm is a fresh tmpfs mounted with <paramref name="mountOption"/>, after <paramref name="setUp"/>.</summary>
    private ExternalToolResult RunWithDevShm(string mountOption, string setUp)
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("/dev/shm is Linux's");
        if (!ExternalTool.Exists("unshare")) ExternalTool.MissingTool("unshare (util-linux) is not on PATH");
        var program = Write("main.l", "(define-function main () (let ((i 0) (s 0)) (while (< i 10) (set s (+ s i)) (set i (+ i 1))) s))");
        var script = $"{setUp}; mount -t tmpfs -o {mountOption} maru-test /dev/shm || exit 97; exec \"$0\" \"$@\"";
        var result = ExternalTool.Run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, ExternalTool.DotnetPath, Repository.MarucDll, "run", program],
            TimeSpan.FromMinutes(1), _directory);
        if (result.ExitCode == 97 || result.StandardError.Contains("unshare failed", StringComparison.Ordinal))
            ExternalTool.MissingTool($"a private mount namespace is not allowed here (needs root): {result.StandardError.Trim()}");
        return result;
    }

    [TestMethod]
    public void RunWithoutMainIsAUsageError()
    {
        var program = Write("nomain.l", "(define-function f () 1)");
        var result = Maruc("run", program);
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "needs a function 'main'");
    }

    [TestMethod]
    public void RunReportsCompilationErrorsLikeBuild()
    {
        var program = Write("bad.l", "(define-function main () (+ 1 y))");
        var result = Maruc("run", program);
        Assert.AreEqual(1, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "bad.l(1,31): error MARU0201: unknown variable 'y'");
    }

    [TestMethod]
    public void BuildAtO0AndO1GivesDifferentWorkingLibraries()
    {
        var source = Write("sum.l", "(define-function sum (n) (let ((s 0)) (while (> n 0) (set s (+ s n)) (set n (- n 1))) s))\n");
        // Same library name in both (it is the SONAME), so only the code can differ.
        Directory.CreateDirectory(Path.Combine(_directory, "o0"));
        Directory.CreateDirectory(Path.Combine(_directory, "o1"));
        Assert.AreEqual(0, Maruc("build", "-O0", "-o", "o0/libsum.so", source).ExitCode);
        Assert.AreEqual(0, Maruc("build", "-O1", "-o", "o1/libsum.so", source).ExitCode);
        Assert.AreEqual(0, Maruc("build", "-o", "libsum.so", source).ExitCode);
        var o0 = File.ReadAllBytes(Path.Combine(_directory, "o0", "libsum.so"));
        var o1 = File.ReadAllBytes(Path.Combine(_directory, "o1", "libsum.so"));
        CollectionAssert.AreNotEqual(o0, o1);
        CollectionAssert.AreEqual(o1, File.ReadAllBytes(Path.Combine(_directory, "libsum.so")), "O1 is the default");
        foreach (var directory in new[] { "o0", "o1" })
            Assert.AreEqual(5050, CallSum(Path.Combine(_directory, directory, "libsum.so"), 100), directory);
    }

    private static unsafe long CallSum(string library, long n)
    {
        var handle = System.Runtime.InteropServices.NativeLibrary.Load(library);
        try
        {
            var sum = (delegate* unmanaged<long, long>)System.Runtime.InteropServices.NativeLibrary.GetExport(handle, "sum");
            return sum(n);
        }
        finally
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
        }
    }

    [TestMethod]
    public void ListingShowsTheMaruSourceAndIntelAssembly()
    {
        var source = Write("add.l", "(define-function add (a b)\n  (+ a b))\n");
        var result = Maruc("build", "--listing", "add.lst", "-o", "libadd.so", source);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var listing = File.ReadAllText(Path.Combine(_directory, "add.lst"));
        StringAssert.Contains(listing, "(+ a b)");
        StringAssert.Matches(listing, new System.Text.RegularExpressions.Regex(@"lea\s+rax,\[rdi\+rsi\]"));
        StringAssert.Contains(listing, "ret");
    }

    [TestMethod]
    public void HelpCommandAndResponseFilesWorkAsInOtherDotnetTools()
    {
        var help = Maruc("help", "build");
        Assert.AreEqual(0, help.ExitCode, help.ToString());
        StringAssert.Contains(help.StandardOutput, "--target");

        var source = Write("twice.l", "(define-function twice (x) (* x 2))\n");
        Write("build.rsp", $"-o\nlibtwice.so\n{source}\n");
        var result = Maruc("build", "@build.rsp");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(_directory, "libtwice.so")), result.ToString());
    }

    [TestMethod]
    public void ReplEvaluatesExpressionsCompilesDefinitionsAndCallsThemNatively()
    {
        Write("session.txt", """
            (define-function square (x)
              (* x x))
            (square 12)
            !(square 13)
            (define limit 40)
            !(+ limit (square 2))
            (no-such-function 1)
            :defs
            :quit
            """);
        var result = ExternalTool.Run("/bin/sh", ["-c", $"'{ExternalTool.DotnetPath}' '{Repository.MarucDll}' repl < session.txt"], TimeSpan.FromMinutes(1), _directory);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardOutput, "compiled square", "a definition is compiled");
        StringAssert.Matches(result.StandardOutput, new Regex(@"^(maru> )*144\s*$", RegexOptions.Multiline), "the interpreter evaluated (square 12)");
        StringAssert.Matches(result.StandardOutput, new Regex(@"169 +\(native", RegexOptions.Multiline), "!(square 13) ran compiled code");
        StringAssert.Matches(result.StandardOutput, new Regex(@"44 +\(native", RegexOptions.Multiline), "a native expression reads the session's global");
        StringAssert.Contains(result.StandardOutput, "limit (global) = 40", "the session went on after an error");
        StringAssert.Matches(result.StandardError, new Regex(@"<input \d+>\(1,\d+\): error MARU"), "errors are located in the input");
    }
}
