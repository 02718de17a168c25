using System.Diagnostics;
using System.Text;

namespace Maru.Sdk.Tests.TestSupport;

/// <summary>The outcome of one process run: exit code and everything it printed.</summary>
internal sealed record ToolResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    public string Output => StandardOutput + StandardError;

    /// <summary>For assertion messages: the command, its exit code and its output.</summary>
    public override string ToString() => $"$ {CommandLine}\nexit code {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
}

/// <summary>
/// Runs external programs (dotnet, the built maruc) with a timeout, capturing output. The
/// environment is cleaned of MSBuild variables the test host inherits, so child builds behave
/// like a user's build, and build servers and node reuse are off so nothing keeps the task
/// assembly loaded after the test.
/// </summary>
internal static class ExternalTool
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    public static ToolResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);

        var environment = startInfo.Environment;
        foreach (var key in environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key == "NUGET_PACKAGES" ||
                key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase))
                environment.Remove(key);
        }
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_UI_LANGUAGE"] = "en";

        var commandLine = fileName + " " + string.Join(" ", startInfo.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
        using var process = new Process { StartInfo = startInfo };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var limit = timeout ?? DefaultTimeout;
        if (!process.WaitForExit(limit))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
            Assert.Fail($"timed out after {limit.TotalSeconds:0}s: {commandLine}\n{stdout}\n{stderr}");
        }
        process.WaitForExit(); // drains the asynchronous readers
        lock (stdout) lock (stderr)
            return new ToolResult(commandLine, process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The dotnet CLI running these tests (DOTNET_HOST_PATH), else the one on PATH.</summary>
    public static string DotnetPath
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
        }
    }

    /// <summary>Runs the dotnet CLI.</summary>
    public static ToolResult Dotnet(string workingDirectory, params string[] arguments) =>
        Run(DotnetPath, arguments, workingDirectory);
}
