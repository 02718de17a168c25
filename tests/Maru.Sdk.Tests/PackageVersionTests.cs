using System.Text.RegularExpressions;
using Maru.Sdk.Tests.TestSupport;

namespace Maru.Sdk.Tests;

/// <summary>
/// Package versions (build/Versioning.targets): every commit and every uncommitted change packs a
/// version of its own, so no package cache can serve a stale Maru.Sdk under a reused version.
/// </summary>
[TestClass]
public sealed class PackageVersionTests
{
    private static readonly Regex DevVersion = new(@"^(\d+\.\d+\.\d+)-dev\.(\d+)\.g([0-9a-f]{7})(\.dirty-[0-9a-f]{8})?$");

    [TestMethod]
    public void ThePackageAndItsSdkPropsAgreeOnTheVersion()
    {
        var version = PackedSdk.Version;
        var match = DevVersion.Match(version);
        Assert.IsTrue(match.Success, version);
        Assert.AreEqual(Repository.VersionPrefix, match.Groups[1].Value);

        // Sdk.props imports it as MaruSdkVersion (an input of every Maru compile: a new SDK recompiles).
        StringAssert.Contains(PackedSdk.ReadEntry("Sdk/Version.props"), $"<MaruSdkVersion>{version}</MaruSdkVersion>");
        StringAssert.Contains(PackedSdk.ReadEntry("Maru.Sdk.nuspec"), $"<version>{version}</version>");
    }

    [TestMethod]
    public void EveryCommitAndEveryChangeGetsItsOwnVersion()
    {
        // A scratch repository with the repository's own version logic and one tracked file.
        var directory = Directory.CreateTempSubdirectory("maru version ü ");
        try
        {
            var root = directory.FullName;
            Directory.CreateDirectory(Path.Combine(root, "build"));
            foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "build/Versioning.targets" })
                File.Copy(Path.Combine(Repository.Root, file), Path.Combine(root, file));
            File.WriteAllText(Path.Combine(root, "v.proj"),
                "<Project>\n  <Import Project=\"Directory.Build.props\" />\n  <Import Project=\"Directory.Build.targets\" />\n</Project>\n");
            File.WriteAllText(Path.Combine(root, "source.l"), "(define-function f () 1)\n");
            File.WriteAllText(Path.Combine(root, ".gitignore"), "obj/\n");

            Git(root, "init", "-q");
            Git(root, "add", "-A");
            Git(root, "commit", "-q", "-m", "one");
            var first = VersionOf(root);
            AssertDevVersion(first, height: 1, Git(root, "rev-parse", "--short=7", "HEAD"), dirty: false);

            File.WriteAllText(Path.Combine(root, "source.l"), "(define-function f () 2)\n");
            Git(root, "commit", "-q", "-am", "two");
            var second = VersionOf(root);
            AssertDevVersion(second, height: 2, Git(root, "rev-parse", "--short=7", "HEAD"), dirty: false);

            // Uncommitted edits: a version per content, stable while the content is.
            File.WriteAllText(Path.Combine(root, "source.l"), "(define-function f () 3)\n");
            var edited = VersionOf(root);
            AssertDevVersion(edited, height: 2, Git(root, "rev-parse", "--short=7", "HEAD"), dirty: true);
            Assert.AreEqual(edited, VersionOf(root), "the same tree must get the same version");
            File.WriteAllText(Path.Combine(root, "source.l"), "(define-function f () 4)\n");
            var editedAgain = VersionOf(root);
            Assert.AreNotEqual(edited, editedAgain);

            // A new file, then a change to it, are changes too.
            File.WriteAllText(Path.Combine(root, "new.l"), "(define-function g () 1)\n");
            var untracked = VersionOf(root);
            File.WriteAllText(Path.Combine(root, "new.l"), "(define-function g () 2)\n");
            var untrackedEdited = VersionOf(root);
            Assert.AreEqual(4, new[] { edited, editedAgain, untracked, untrackedEdited }.Distinct().Count());

            // Back to the committed tree: back to the commit's version. A release build is the prefix.
            File.Delete(Path.Combine(root, "new.l"));
            Git(root, "checkout", "-q", "--", "source.l");
            Assert.AreEqual(second, VersionOf(root));
            Assert.AreEqual(Repository.VersionPrefix, VersionOf(root, "-p:MaruPublicRelease=true"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static void AssertDevVersion(string version, int height, string commit, bool dirty)
    {
        var match = DevVersion.Match(version);
        Assert.IsTrue(match.Success, version);
        Assert.AreEqual(height.ToString(), match.Groups[2].Value, version);
        Assert.AreEqual(commit, match.Groups[3].Value, version);
        Assert.AreEqual(dirty, match.Groups[4].Success, version);
    }

    private static string VersionOf(string root, params string[] extra)
    {
        var result = ExternalTool.Dotnet(root, ["msbuild", "v.proj", "-nologo", "-nodeReuse:false", "-t:MaruGetVersion",
            "-getProperty:MaruPackageVersion", .. extra]);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        return result.StandardOutput.Trim();
    }

    private static string Git(string root, params string[] arguments)
    {
        var result = ExternalTool.Run("git", ["-c", "user.name=Maru Tests", "-c", "user.email=tests@maru.invalid", "-c", "commit.gpgsign=false", .. arguments], workingDirectory: root);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        return result.StandardOutput.Trim();
    }
}
