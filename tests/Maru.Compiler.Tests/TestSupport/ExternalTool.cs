using System.Diagnostics;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>What an external process did: exit code and everything it printed.</summary>
public sealed record ExternalToolResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>The whole result as text, for assertion messages.</summary>
    public override string ToString() =>
        $"$ {Command}\nexit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Runs command-line tools (readelf, eu-elflint, compilers, qemu...) from tests: finds them on
/// PATH, runs them with a timeout without shell quoting, and captures both output streams.
/// </summary>
public static class ExternalTool
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The full path of <paramref name="name"/> on PATH (or the path itself if it has a directory), or null.</summary>
    public static string? Find(string name)
    {
        if (name.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal))
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        string[] extensions = OperatingSystem.IsWindows() ? ["", ".exe", ".cmd", ".bat"] : [""];
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Combine(directory, name + extension);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    public static bool Exists(string name) => Find(name) is not null;

    /// <summary>
    /// Runs <paramref name="name"/> with <paramref name="arguments"/> (passed as they are, no
    /// shell) and waits for it. The process tree is killed and <see cref="TimeoutException"/>
    /// thrown when it runs longer than <paramref name="timeout"/>.
    /// </summary>
    public static ExternalToolResult Run(string name, IEnumerable<string> arguments, TimeSpan? timeout = null, string? workingDirectory = null, string? standardInput = null)
    {
        var fileName = Find(name) ?? throw new FileNotFoundException($"'{name}' was not found on PATH", name);
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // Tools print in the invariant language so tests can match their output.
        start.Environment["LC_ALL"] = "C";
        var command = string.Join(' ', [name, .. start.ArgumentList]);

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        // Read both streams concurrently so a full pipe never blocks the child.
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }

        var limit = timeout ?? DefaultTimeout;
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{command} did not finish within {limit}");
        }
        process.WaitForExit(); // flushes the asynchronous readers
        return new ExternalToolResult(command, process.ExitCode, output.Result, error.Result);
    }

    public static ExternalToolResult Run(string name, params string[] arguments) => Run(name, (IEnumerable<string>)arguments);
}
