namespace Maru.Sdk.Tests.TestSupport;

/// <summary>
/// A temp folder set up like a user's machine that has just received the freshly packed Maru.Sdk:
/// a nuget.config (<c>&lt;clear/&gt;</c>, the feed of <see cref="PackedSdk"/>, nuget.org, a
/// private package cache), and a global.json that pins the version just packed, the way the
/// README tells users to. Its path contains a space, a non-ASCII character and '@' on purpose.
/// </summary>
internal sealed class SdkWorkspace : IDisposable
{
    private SdkWorkspace(string root) => Root = root;

    public string Root { get; }

    /// <summary>Writes the NuGet and SDK configuration of a new workspace (packing the SDK on first use).</summary>
    public static SdkWorkspace Create()
    {
        var feed = PackedSdk.Feed;
        var root = Path.Combine(Path.GetTempPath(), $"maru e2e ü @{Guid.NewGuid():N}"[..25]);
        Directory.CreateDirectory(root);
        var workspace = new SdkWorkspace(root);

        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="maru-test-feed" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(root, "packages")}" />
              </config>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(root, "global.json"), $$"""
            { "msbuild-sdks": { "Maru.Sdk": "{{PackedSdk.Version}}" } }
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

    public ExternalToolResult Dotnet(string projectDirectory, params string[] arguments) =>
        ExternalTool.Dotnet(projectDirectory, [.. arguments, "--disable-build-servers"]);

    public ExternalToolResult Build(string projectDirectory, params string[] extraArguments) =>
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
