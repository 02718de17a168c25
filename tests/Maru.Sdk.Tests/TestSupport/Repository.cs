using System.Reflection;

namespace Maru.Sdk.Tests.TestSupport;

/// <summary>Paths inside the repository the tests run from.</summary>
internal static class Repository
{
    private static readonly Lazy<string> LazyRoot = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Maru.Build.sln"))) return directory.FullName;
        throw new InvalidOperationException($"Maru.Build.sln not found above {AppContext.BaseDirectory}");
    });

    public static string Root => LazyRoot.Value;

    public static string SdkProject => Path.Combine(Root, "sdk", "Maru.Sdk", "Maru.Sdk.csproj");

    public static string MarucDll => Metadata("MarucPath");

    /// <summary>MaruVersionPrefix of Directory.Build.props: the version of everyday (non-pack) builds.</summary>
    public static string VersionPrefix => Metadata("MaruVersionPrefix");

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
