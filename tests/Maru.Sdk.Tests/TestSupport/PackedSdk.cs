using System.IO.Compression;

namespace Maru.Sdk.Tests.TestSupport;

/// <summary>
/// Maru.Sdk packed once per test run into a temp feed that every <see cref="SdkWorkspace"/> uses
/// (packing is the slowest step). Its version is whatever build/Versioning.targets gave this tree;
/// workspaces pin exactly that version, as a user's global.json would.
/// </summary>
internal static class PackedSdk
{
    private static readonly Lazy<(string Feed, string Version)> Package = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder holding the package; its path has a space, a non-ASCII character and '@' on purpose.</summary>
    public static string Feed => Package.Value.Feed;

    /// <summary>The package version (e.g. 0.1.0-dev.141.g1a2b3c4).</summary>
    public static string Version => Package.Value.Version;

    public static string PackagePath => Path.Combine(Feed, $"Maru.Sdk.{Version}.nupkg");

    /// <summary>Reads one entry of the package as text.</summary>
    public static string ReadEntry(string entryName)
    {
        using var archive = ZipFile.OpenRead(PackagePath);
        var entry = archive.GetEntry(entryName) ?? throw new AssertFailedException($"{entryName} is not in {PackagePath}");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }

    /// <summary>Deletes the feed at the end of the run (called from <see cref="TestRun"/>).</summary>
    public static void Delete()
    {
        if (!Package.IsValueCreated || Environment.GetEnvironmentVariable("MARU_KEEP_TEST_DIRS") == "1") return;
        try { Directory.Delete(Path.GetDirectoryName(Feed)!, recursive: true); } catch (IOException) { }
    }

    private static (string, string) Pack()
    {
        var root = Path.Combine(Path.GetTempPath(), $"maru feed ü @{Guid.NewGuid():N}"[..26]);
        var feed = Path.Combine(root, "feed");
        // The version is computed first and passed down, as build/pack.sh does, so that every project
        // of the pack agrees on it even if the tree changes meanwhile (a dirty tree's version hashes it).
        var query = ExternalTool.Dotnet(Repository.Root, "msbuild", Repository.SdkProject, "-nologo", "-nodeReuse:false",
            "-t:MaruGetVersion", "-getProperty:MaruPackageVersion");
        Assert.AreEqual(0, query.ExitCode, query.ToString());
        var version = query.StandardOutput.Trim();
        // Packing compiles the compiler in Release: on a loaded machine that takes minutes.
        var pack = ExternalTool.Run(ExternalTool.DotnetPath, ["pack", Repository.SdkProject, "-c", "Release", "-o", feed,
            $"-p:MaruPackageVersion={version}", "--disable-build-servers", "-nodeReuse:false", "-nologo"], TimeSpan.FromMinutes(15), Repository.Root);
        Assert.AreEqual(0, pack.ExitCode, pack.ToString());
        var packages = Directory.GetFiles(feed, "Maru.Sdk.*.nupkg");
        Assert.HasCount(1, packages, pack.ToString());
        Assert.AreEqual($"Maru.Sdk.{version}.nupkg", Path.GetFileName(packages[0]), pack.ToString());
        return (feed, version);
    }
}

/// <summary>Run-wide clean-up.</summary>
[TestClass]
public static class TestRun
{
    [AssemblyCleanup]
    public static void Cleanup() => PackedSdk.Delete();
}
