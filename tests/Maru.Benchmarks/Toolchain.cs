using System.Diagnostics;
using System.Reflection;

namespace Maru.Benchmarks;

/// <summary>The external programs the suite runs: gcc, tcc and the maruc front end.</summary>
internal static class Toolchain
{
    public static string Gcc => Find("gcc");
    public static string Tcc => Find("tcc");

    /// <summary>True when <see cref="Maruc"/> is the NativeAOT executable build/bench.sh published.</summary>
    public static bool MarucIsNativeAot => Environment.GetEnvironmentVariable("MARU_BENCH_MARUC") is { Length: > 0 };

    /// <summary>maruc as a user runs it: the NativeAOT executable (MARU_BENCH_MARUC, set by build/bench.sh), else the apphost built next to maruc.dll.</summary>
    public static string Maruc
    {
        get
        {
            if (Environment.GetEnvironmentVariable("MARU_BENCH_MARUC") is { Length: > 0 } published)
                return File.Exists(published) ? published : throw new BenchmarkFailure($"maruc not published: {published} is missing");
            var directory = typeof(Toolchain).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .First(a => a.Key == "MarucDirectory").Value!;
            var apphost = Path.Combine(directory, "maruc");
            return File.Exists(apphost) ? apphost : throw new BenchmarkFailure($"maruc not built: {apphost} is missing");
        }
    }

    public static string Find(string tool)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate)) return candidate;
        }
        throw new BenchmarkFailure($"{tool} not found on PATH; the benchmark needs gcc and tcc: apt-get install gcc tcc");
    }

    /// <summary>Runs a process to completion; a non-zero exit is a failure that shows its output.</summary>
    public static TimeSpan Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        clock.Stop();
        if (process.ExitCode != 0)
            throw new BenchmarkFailure($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout.Result}{stderr.Result}");
        return clock.Elapsed;
    }
}

internal sealed class BenchmarkFailure(string message) : Exception(message);
