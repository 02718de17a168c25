namespace Maru.Compiler.Tests.TestSupport;

/// <summary>The independent ELF check every writer and compiler test shares: eu-elflint --strict must find nothing.</summary>
internal static class ElfLint
{
    public static void AssertStrictlyValid(string path)
    {
        if (!ExternalTool.Exists("eu-elflint"))
            ExternalTool.MissingTool("eu-elflint not installed: apt-get install elfutils");
        var lint = ExternalTool.Run("eu-elflint", "--strict", path);
        Assert.AreEqual(0, lint.ExitCode, lint.ToString());
        Assert.IsTrue((lint.StandardOutput + lint.StandardError).Trim() is "" or "No errors", lint.ToString());
    }
}
