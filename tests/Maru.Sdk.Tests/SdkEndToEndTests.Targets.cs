using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Maru.Compiler.Targets;
using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>The macOS targets and packages carrying every target: publish -r osx-x64, MaruRuntimeIdentifiers, dotnet pack.</summary>
public sealed partial class SdkEndToEndTests
{
    private const uint MachOMagic = 0xfeedfacf;
    private const uint ElfMagic = 0x464c457f;

    private static uint Magic(byte[] bytes) => BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    [TestMethod]
    [DataRow("osx-x64", 0x01000007u)]
    [DataRow("osx-arm64", 0x0100000cu)]
    public void PublishForMacOSShipsTheDylib(string rid, uint cpuType)
    {
        var output = Path.Combine(Workspace.Root, $"publish {rid}");
        var publish = Workspace.Dotnet(s_project, "publish", "-r", rid, "--self-contained", "false", "-p:UseAppHost=false", "-o", output, "-nodeReuse:false");
        AssertSucceeded(publish);
        var dylib = Path.Combine(output, "libE2e.dylib");
        Assert.IsTrue(File.Exists(dylib), publish.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(output, "libE2e.so")), publish.ToString());
        var bytes = File.ReadAllBytes(dylib);
        Assert.AreEqual(MachOMagic, Magic(bytes));
        Assert.AreEqual(cpuType, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)), "CPU type");
    }

    [TestMethod]
    public void TheSdkSupportsExactlyTheCompilersTargets()
    {
        var targets = XDocument.Load(Path.Combine(Repository.Root, "sdk", "Maru.Sdk", "Sdk", "Maru.targets"));
        var listed = targets.Descendants().Single(e => e.Name.LocalName == "MaruSupportedRuntimeIdentifiers").Value.Split(';');
        CollectionAssert.AreEquivalent(TargetPlatform.Known.Where(t => t.IsSupported).Select(t => t.RuntimeIdentifier).ToArray(), listed);
    }

    private const string LibrarySource = "(define-function scaled-sum (a b) (* 10 (+ a b)))\n";

    private static string WriteClassLibrary(string name, string extraProperties = "") => Workspace.WriteProject(name, new Dictionary<string, string>
    {
        [$"{name}.csproj"] = $"""
            <Project Sdk="Maru.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Version>1.2.3</Version>
                {extraProperties}
              </PropertyGroup>
            </Project>
            """,
        ["Api.cs"] = $$"""
            namespace {{name}};
            /// <summary>The package's C# face over its Maru code.</summary>
            public static class Api
            {
                public static long ScaledSum(long a, long b) => MaruExports.ScaledSum(a, b);
            }
            """,
        ["lisp/sum.l"] = LibrarySource,
    });

    [TestMethod]
    public void PackCarriesEveryTargetAndAConsumerCallsTheMaruCode()
    {
        var library = WriteClassLibrary("MaruLib");
        var feed = Path.Combine(Workspace.Root, "library feed");
        AssertSucceeded(Workspace.Dotnet(library, "pack", "-o", feed, "-nodeReuse:false", "-nologo"));

        var package = Path.Combine(feed, "MaruLib.1.2.3.nupkg");
        using (var zip = ZipFile.OpenRead(package))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            CollectionAssert.Contains(names, "lib/net10.0/MaruLib.dll");
            var supported = TargetPlatform.Known.Where(t => t.IsSupported).ToList();
            CollectionAssert.AreEquivalent(new[] { "linux-x64", "linux-arm64", "osx-x64", "osx-arm64" }, supported.Select(t => t.RuntimeIdentifier).ToArray());
            foreach (var target in supported)
            {
                var path = $"runtimes/{target.RuntimeIdentifier}/native/{target.LibraryFileName("MaruLib")}";
                var entry = zip.GetEntry(path);
                Assert.IsNotNull(entry, $"{path} is missing: {string.Join(", ", names)}");
                using var stream = entry.Open();
                var header = new byte[20];
                stream.ReadExactly(header);
                Assert.AreEqual(target.ObjectFormat == ObjectFormat.MachO ? MachOMagic : ElfMagic, Magic(header), path);
                // The machine: Mach-O cputype (x86_64 0x01000007, arm64 0x0100000c) or ELF e_machine (62, 183).
                var arm = target.Architecture == TargetArchitecture.Arm64;
                if (target.ObjectFormat == ObjectFormat.MachO)
                    Assert.AreEqual(arm ? 0x0100000cu : 0x01000007u, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)), path);
                else
                    Assert.AreEqual(arm ? (ushort)183 : (ushort)62, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(18)), path);
            }
            Assert.AreEqual(supported.Count, names.Count(n => n.StartsWith("runtimes/", StringComparison.Ordinal)), string.Join(", ", names));
        }

        var consumer = Workspace.WriteProject("Consumer", new Dictionary<string, string>
        {
            ["Consumer.csproj"] = """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="MaruLib" Version="1.2.3" />
                  </ItemGroup>
                </Project>
                """,
            ["Program.cs"] = "System.Console.WriteLine(MaruLib.Api.ScaledSum(4, -1));\n",
            ["nuget.config"] = $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="maru-libraries" value="{feed}" />
                  </packageSources>
                </configuration>
                """,
        });
        var run = Workspace.Dotnet(consumer, "run", "-nodeReuse:false");
        AssertSucceeded(run);
        CollectionAssert.AreEqual(new[] { "30" }, Lines(run.StandardOutput), run.ToString());
    }

    [TestMethod]
    public void EachTargetIsCompiledIncrementally()
    {
        var library = WriteClassLibrary("Incremental", "<MaruRuntimeIdentifiers>linux-x64;osx-x64</MaruRuntimeIdentifiers>");
        var dylib = Path.Combine(library, "obj", "Debug", "net10.0", "maru", "runtimes", "osx-x64", "libIncremental.dylib");
        AssertSucceeded(Workspace.Build(library));
        Assert.IsTrue(File.Exists(dylib));
        var first = File.GetLastWriteTimeUtc(dylib);

        // Nothing changed: no target is recompiled.
        var again = Workspace.Build(library, "-v:d");
        AssertSucceeded(again);
        Assert.AreEqual(first, File.GetLastWriteTimeUtc(dylib));
        Assert.IsFalse(Regex.IsMatch(again.StandardOutput, @"Maru: wrote"), again.ToString());

        // A source changed: every target is recompiled.
        File.WriteAllText(Path.Combine(library, "lisp", "sum.l"), LibrarySource + "(define-function extra () 1)\n");
        AssertSucceeded(Workspace.Build(library));
        Assert.AreNotEqual(first, File.GetLastWriteTimeUtc(dylib));
    }
}
