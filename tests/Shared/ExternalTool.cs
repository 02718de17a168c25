using System.Diagnostics;
using System.Text;

namespace Maru.Tests.Shared;

/// <summary>What an external process did: exit code and everything it printed.</summary>
internal sealed record ExternalToolResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public string Output => StandardOutput + StandardError;

    /// <summary>The whole result as text, for assertion messages.</summary>
    public override string ToString() =>
        $"$ {Command}\nexit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Runs command-line tools from tests (readelf, eu-elflint, compilers, qemu, git, dotnet, the built
/// maruc): finds them on PATH, runs them with a timeout without shell quoting, and captures both
/// output streams. Shared by every test project (linked, not copied). The environment is cleaned of
/// the MSBuild and test-host variables the test process inherits, so a child `dotnet build` behaves
/// like a user's build (no build servers or node reuse keep the task assembly loaded afterwards),
/// and other tools print in the invariant language so tests can match their output.
/// Internal, so every assembly that links it (the test projects, and the Differential and Fuzz
/// runners they reference) has its own copy of this one file without a type clash;
/// <see cref="MissingTool"/> (MSTest) is in ExternalTool.MissingTool.cs, linked by the test projects only.
/// </summary>
internal static partial class ExternalTool
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

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
    /// thrown (with what it printed) when it runs longer than <paramref name="timeout"/>.
    /// <paramref name="environment"/> sets (or overrides) environment variables of the process.
    /// </summary>
    public static ExternalToolResult Run(string name, IEnumerable<string> arguments, TimeSpan? timeout = null, string? workingDirectory = null, string? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var fileName = Find(name) ?? throw new FileNotFoundException($"'{name}' was not found on PATH", name);
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        PrepareEnvironment(start.Environment, isDotnet: Path.GetFileNameWithoutExtension(fileName) == "dotnet");
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>()) start.Environment[variable] = value;
        var command = string.Join(' ', [name, .. start.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)]);

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
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
            throw new TimeoutException($"{command} did not finish within {limit}\n--- stdout ---\n{output.Result}\n--- stderr ---\n{error.Result}");
        }
        process.WaitForExit(); // flushes the asynchronous readers
        return new ExternalToolResult(command, process.ExitCode, output.Result, error.Result);
    }

    public static ExternalToolResult Run(string name, params string[] arguments) => Run(name, (IEnumerable<string>)arguments);

    /// <summary>
    /// Starts <paramref name="name"/> without waiting for it (dotnet watch), for a test that reads
    /// its output while it runs; disposing the result kills its whole process tree.
    /// </summary>
    public static RunningTool Start(string name, IEnumerable<string> arguments, string workingDirectory)
    {
        var fileName = Find(name) ?? throw new FileNotFoundException($"'{name}' was not found on PATH", name);
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        PrepareEnvironment(start.Environment, isDotnet: Path.GetFileNameWithoutExtension(fileName) == "dotnet");
        return new RunningTool(Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}"));
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

    /// <summary>Runs the dotnet CLI in <paramref name="workingDirectory"/>.</summary>
    public static ExternalToolResult Dotnet(string workingDirectory, params string[] arguments) =>
        Run(DotnetPath, arguments, workingDirectory: workingDirectory);

    private static void PrepareEnvironment(IDictionary<string, string?> environment, bool isDotnet)
    {
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
        // Native tools print in the invariant language; .NET keeps the inherited locale (UTF-8 paths).
        if (!isDotnet) environment["LC_ALL"] = "C";
    }
}

/// <summary>A process started by <see cref="ExternalTool.Start"/>: its output so far, and a way to wait for a line.</summary>
internal sealed class RunningTool : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    internal RunningTool(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything printed so far (both streams, one line each).</summary>
    public string Output
    {
        get { lock (_lines) return string.Join("\n", _lines); }
    }

    /// <summary>Waits until a line printed after the first <paramref name="skipLines"/> satisfies <paramref name="match"/>; returns the count of lines read then, or -1 on timeout.</summary>
    public int WaitForLine(Func<string, bool> match, TimeSpan timeout, int skipLines = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lines)
        {
            while (true)
            {
                for (var i = skipLines; i < _lines.Count; i++)
                    if (match(_lines[i])) return i + 1;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return -1;
                // An exited process may still have lines in flight; none after a moment means it is over.
                if (!Monitor.Wait(_lines, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1)) && _process.HasExited
                    && !Monitor.Wait(_lines, 200)) return -1;
            }
        }
    }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            _lines.Add(line);
            Monitor.PulseAll(_lines);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
