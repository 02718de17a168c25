using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>
/// Builds and runs samples/Interop, copied as it is into a workspace with the just-packed SDK:
/// every define-export kind (string, bytes, mutable-bytes, pointer result, callback, bool) and calls to
/// C externs must print exactly what the sample promises, and docstrings must reach the shims.
/// </summary>
[TestClass]
public sealed class InteropSampleTests
{
    private static SdkWorkspace? s_workspace;
    private static string s_project = "";
    private static ExternalToolResult? s_build;
    private static ExternalToolResult? s_run;

    private static string ObjShims => Path.Combine(s_project, "obj", "Debug", "net10.0", "maru", "MaruExports.g.cs");

    [ClassInitialize]
    public static void Initialize(TestContext context)
    {
        s_workspace = SdkWorkspace.Create();
        s_project = Path.Combine(s_workspace.Root, "Interop");
        CopySample(Path.Combine(Repository.Root, "samples", "Interop"), s_project);
        s_build = s_workspace.Build(s_project);
        // Run the built app itself: 'dotnet run' would mix restore messages into its output.
        var binary = Path.Combine(s_project, "bin", "Debug", "net10.0");
        if (s_build.ExitCode == 0) s_run = ExternalTool.Dotnet(binary, Path.Combine(binary, "Interop.dll"));
    }

    [ClassCleanup]
    public static void Cleanup() => s_workspace?.Dispose();

    [TestMethod]
    public void TheSamplePrintsWhatMaruComputed()
    {
        AssertBuiltAndRan();
        var lines = s_run!.StandardOutput.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.Length > 0).ToArray();
        CollectionAssert.AreEqual(new[]
        {
            "string         count-vowels  = 11",
            "string         code-points   = 10",
            "bytes          fletcher16    = 51440",
            "mutable-bytes  upcase-ascii  = HELLO, MARU! (7 changed)",
            "pointer        motto-address = Maru: a small Lisp, compiled inside dotnet build",
            "callback       sum-of        = 385",
            "bool           leap-year?    = True False True",
            "bool           bit-set?      = True True True False",
            "bool           as-word       = 1 0",
            "extern strlen  utf8-length   = 12",
            "extern snprintf format-point = (3, -4)",
        }, lines, s_run.ToString());
    }

    [TestMethod]
    public void DocstringsBecomeTheShimsXmlDocumentation()
    {
        Assert.AreEqual(0, s_build!.ExitCode, s_build.ToString());
        var shims = File.ReadAllText(ObjShims);
        StringAssert.Contains(shims,
            "    /// <summary>Counts the ASCII vowels (a, e, i, o, u in either case) of TEXT. (Maru function <c>count-vowels</c> defined at lisp/strings.l(4,1).)</summary>\n");
        StringAssert.Contains(shims,
            "    /// <summary>Computes the Fletcher-16 checksum of DATA (a read-only span of SIZE bytes). (Maru function <c>fletcher16</c> defined at lisp/bytes.l(4,1).)</summary>\n");
    }

    [TestMethod]
    public void EachInteropKindHasItsCSharpType()
    {
        Assert.AreEqual(0, s_build!.ExitCode, s_build.ToString());
        var shims = File.ReadAllText(ObjShims);
        StringAssert.Contains(shims, "internal static partial long CountVowels(string text);");
        StringAssert.Contains(shims, "StringMarshalling = global::System.Runtime.InteropServices.StringMarshalling.Utf8");
        StringAssert.Contains(shims, "internal static long Fletcher16(global::System.ReadOnlySpan<byte> data)");
        StringAssert.Contains(shims, "internal static long UpcaseAscii(global::System.Span<byte> buffer)");
        StringAssert.Contains(shims, "internal static partial nint MottoAddress();");
        StringAssert.Contains(shims, "internal static partial long SumOf(delegate* unmanaged<long, long> f, long n);");
        StringAssert.Contains(shims, "internal static long FormatPoint(global::System.Span<byte> buffer, long x, long y)");
        StringAssert.Contains(shims, "internal static bool IsLeapYear(long year)");
        StringAssert.Contains(shims, "internal static long AsWord(bool flag)");
    }

    private static void AssertBuiltAndRan()
    {
        Assert.AreEqual(0, s_build!.ExitCode, s_build.ToString());
        Assert.IsNotNull(s_run);
        Assert.AreEqual(0, s_run.ExitCode, s_run.ToString());
    }

    /// <summary>Copies the sample's own files (not bin/ or obj/ left by a local run).</summary>
    private static void CopySample(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "bin" or "obj") continue;
            var target = Path.Combine(destination, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Assert.IsTrue(File.Exists(Path.Combine(destination, "Interop.csproj")), $"samples/Interop not found at {source}");
    }
}
