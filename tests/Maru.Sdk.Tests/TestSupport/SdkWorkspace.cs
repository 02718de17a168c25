namespace Maru.Sdk.Tests.TestSupport;

/// <summary>
/// A temp folder set up like a user's machine that has just received the freshly packed Maru.Sdk:
/// a local feed with the package, a nuget.config (<c>&lt;clear/&gt;</c>, that feed, nuget.org, a
/// private package cache so no stale Maru.Sdk 0.1.0 is ever used), and a global.json that pins
/// the SDK version. Its path contains a space, a non-ASCII character and '@' on purpose.
/// </summary>
internal sealed class SdkWorkspace : IDisposable
{
    public const string SdkVersion = "0.1.0";

    private SdkWorkspace(string root) => Root = root;

    public string Root { get; }

    public string Feed => Path.Combine(Root, "feed");

    /// <summary>Packs the SDK into a new workspace's feed and writes the NuGet and SDK configuration.</summary>
    public static SdkWorkspace Create()
    {
        var root = Path.Combine(Path.GetTempPath(), $"maru e2e ü @{Guid.NewGuid():N}"[..25]);
        Directory.CreateDirectory(root);
        var workspace = new SdkWorkspace(root);

        var pack = ExternalTool.Dotnet(Repository.Root, "pack", Repository.SdkProject, "-c", "Release", "-o", workspace.Feed,
            "--disable-build-servers", "-nodeReuse:false", "-nologo");
        Assert.AreEqual(0, pack.ExitCode, pack.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(workspace.Feed, $"Maru.Sdk.{SdkVersion}.nupkg")), pack.ToString());

        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="maru-test-feed" value="{workspace.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(root, "packages")}" />
              </config>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(root, "global.json"), $$"""
            { "msbuild-sdks": { "Maru.Sdk": "{{SdkVersion}}" } }
            """);
        // Keep the repository's (or any parent's) Directory.Build.* out of the test projects.
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.targets"), "<Project />\n");
        return workspace;
    }

    /// <summary>Writes files (relative path → text) under a project folder and returns the folder.</summary>
    public string WriteProject(string name, IReadOnlyDictionary<string, string> files)
    {
        var directory = Path.Combine(Root, name);
        foreach (var (relativePath, text) in files)
        {
            var path = Path.Combine(directory, relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        return directory;
    }

    public ToolResult Dotnet(string projectDirectory, params string[] arguments) =>
        ExternalTool.Dotnet(projectDirectory, [.. arguments, "--disable-build-servers"]);

    public ToolResult Build(string projectDirectory, params string[] extraArguments) =>
        ExternalTool.Dotnet(projectDirectory, ["build", "-nodeReuse:false", "--disable-build-servers", "-nologo", .. extraArguments]);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("MARU_KEEP_TEST_DIRS") == "1") return;
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test run for.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
