namespace Maru.Compiler.Tests.TestSupport;

[TestClass]
public sealed class ExternalToolTests
{
    [TestMethod]
    public void CapturesExitCodeAndBothStreams()
    {
        RequireShell();
        var result = ExternalTool.Run("sh", "-c", "echo out; echo err >&2; exit 3");

        Assert.AreEqual(3, result.ExitCode);
        Assert.AreEqual("out\n", result.StandardOutput);
        Assert.AreEqual("err\n", result.StandardError);
    }

    [TestMethod]
    public void PassesArgumentsWithoutShellQuoting()
    {
        RequireShell();
        var result = ExternalTool.Run("sh", "-c", "printf '%s|' \"$@\"", "sh", "two words", "$HOME", "a'b");

        Assert.AreEqual("two words|$HOME|a'b|", result.StandardOutput);
    }

    [TestMethod]
    public void KillsAProcessThatOverrunsItsTimeout()
    {
        RequireShell();
        Assert.ThrowsExactly<TimeoutException>(() => ExternalTool.Run("sh", ["-c", "sleep 30"], TimeSpan.FromMilliseconds(200)));
    }

    [TestMethod]
    public void ReportsMissingTools()
    {
        Assert.IsFalse(ExternalTool.Exists("maru-no-such-tool-on-path"));
        Assert.ThrowsExactly<FileNotFoundException>(() => ExternalTool.Run("maru-no-such-tool-on-path"));
    }

    private static void RequireShell()
    {
        if (!ExternalTool.Exists("sh"))
            Assert.Inconclusive("no POSIX sh on PATH");
    }
}
