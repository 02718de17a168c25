namespace Maru.Tests.Shared;

internal static partial class ExternalTool
{
    /// <summary>
    /// Stops a test that needs a tool this machine lacks. Inconclusive by default, so the README's
    /// <c>dotnet test</c> works on a machine with only the .NET SDK; a failure when the environment
    /// sets MARU_REQUIRE_TEST_TOOLS=1 (.ci/run does, after installing them), so CI never skips silently.
    /// </summary>
    public static void MissingTool(string message)
    {
        if (Environment.GetEnvironmentVariable("MARU_REQUIRE_TEST_TOOLS") == "1")
            Microsoft.VisualStudio.TestTools.UnitTesting.Assert.Fail($"{message} (MARU_REQUIRE_TEST_TOOLS=1)");
        Microsoft.VisualStudio.TestTools.UnitTesting.Assert.Inconclusive(message);
    }
}
