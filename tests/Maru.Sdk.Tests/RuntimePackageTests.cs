using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>
/// The Maru.Runtime package as build/pack.sh makes it: besides lib/net8.0 (IL), ReadyToRun copies of
/// the same assemblies for .NET 10 on linux-x64 under runtimes/linux-x64/lib/net10.0, which a net10.0
/// consumer on linux-x64 loads so its first compilation JIT-compiles almost nothing (docs/runtime.md#cost).
/// </summary>
[TestClass]
public sealed class RuntimePackageTests
{
    [TestMethod]
    public void CarriesReadyToRunCopiesOfTheSameAssembliesForNet10OnLinuxX64()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
            Assert.Inconclusive("crossgen2 runs where the package is packed on linux-x64");
        var feed = Directory.CreateTempSubdirectory("maru runtime pack ").FullName;
        try
        {
            var pack = ExternalTool.Run(ExternalTool.DotnetPath, ["pack", Path.Combine(Repository.Root, "src", "Maru.Runtime", "Maru.Runtime.csproj"),
                "-c", "Release", "-o", feed, "-p:MaruPackageVersion=0.0.1-test", "--disable-build-servers", "-nodeReuse:false", "-nologo"],
                TimeSpan.FromMinutes(15), Repository.Root);
            Assert.AreEqual(0, pack.ExitCode, pack.ToString());
            using var package = ZipFile.OpenRead(Path.Combine(feed, "Maru.Runtime.0.0.1-test.nupkg"));
            foreach (var assembly in new[] { "Maru.Runtime.dll", "Maru.Compiler.dll" })
            {
                var (il, ilMvid) = Inspect(package, $"lib/net8.0/{assembly}");
                var (readyToRun, readyToRunMvid) = Inspect(package, $"runtimes/linux-x64/lib/net10.0/{assembly}");
                Assert.IsFalse(il, $"lib/net8.0/{assembly} is plain IL");
                Assert.IsTrue(readyToRun, $"runtimes/linux-x64/lib/net10.0/{assembly} has ReadyToRun code");
                Assert.AreEqual(ilMvid, readyToRunMvid, $"{assembly}: the ReadyToRun copy is compiled from the same assembly");
            }
        }
        finally
        {
            Directory.Delete(feed, recursive: true);
        }
    }

    /// <summary>Whether the entry is a ReadyToRun image (it has a managed native header) and its module version id.</summary>
    private static (bool ReadyToRun, Guid Mvid) Inspect(ZipArchive package, string entryName)
    {
        var entry = package.GetEntry(entryName) ?? throw new AssertFailedException($"{entryName} is not in the package");
        using var stream = new MemoryStream();
        using (var source = entry.Open()) source.CopyTo(stream);
        stream.Position = 0;
        using var reader = new PEReader(stream);
        var metadata = reader.GetMetadataReader();
        return (reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, metadata.GetGuid(metadata.GetModuleDefinition().Mvid));
    }
}
