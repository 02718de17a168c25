using System.Diagnostics;
using System.Globalization;
using Maru.Runtime;

namespace Maru.Benchmarks;

/// <summary>
/// Source text to first call through Maru.Runtime (MaruModule.Compile, GetFunctionPointer, one
/// call), warm and in a fresh process, side by side with libtcc compiling the C twin in memory
/// and with `tcc -shared` + dlopen (latency/tcc-latency.c, built here with gcc against libtcc.a).
/// </summary>
internal static unsafe class RuntimeLatency
{
    private sealed record Function(string Name, string CName, string Source, long Argument, long Expected);

    private static readonly Function[] Functions =
    [
        new("fib-iter", "fib_iter", "(define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))", 50, 12586269025),
        new("fib", "fib", "(define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))", 10, 55),
    ];

    /// <summary>Microseconds from source text to the first call's result; the module is disposed after the clock stops.</summary>
    private static double SourceToCall(Function function)
    {
        var start = Stopwatch.GetTimestamp();
        var module = MaruModule.Compile(function.Source);
        var result = ((delegate* unmanaged<long, long>)module.GetFunctionPointer(function.Name))(function.Argument);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        module.Dispose();
        return result == function.Expected ? elapsed : throw new BenchmarkFailure($"{function.Name}({function.Argument}) returned {result}, not {function.Expected}");
    }

    /// <summary>The child process of the cold measurement: one compilation, its time on stdout.</summary>
    public static int ColdChild()
    {
        Console.WriteLine(SourceToCall(Functions[0]).ToString("F1", CultureInfo.InvariantCulture));
        return 0;
    }

    public static void Report(Options options)
    {
        var directory = Path.Combine(options.OutputDirectory, "latency");
        Directory.CreateDirectory(directory);
        var driver = Path.Combine(directory, "tcc-latency");
        Toolchain.Run(Toolchain.Gcc, "-O2", "-o", driver, Path.Combine(AppContext.BaseDirectory, "latency", "tcc-latency.c"), "-ltcc", "-ldl", "-lm");

        Console.Error.WriteLine("[latency] Maru.Runtime warm");
        // Four seconds, not one: run first in a process (--skip-compile-time), one second left the
        // compiler on tier-0 code and the "warm" rows read 3-4x high.
        var times = Interleaving.Time(Functions.Length, options.LatencyIterations, TimeSpan.FromSeconds(4), i => SourceToCall(Functions[i]));
        var warm = Functions.Select((f, i) => (f.Name, Summary(times[i]))).ToDictionary(p => p.Name, p => p.Item2);

        Console.Error.WriteLine("[latency] libtcc in memory, tcc -shared + dlopen");
        var tccMemory = DriverTimes(driver, "memory", options.LatencyIterations.ToString(CultureInfo.InvariantCulture));
        var tccShared = DriverTimes(driver, "shared", Math.Max(5, options.LatencyIterations / 20).ToString(CultureInfo.InvariantCulture), directory, Toolchain.Tcc);

        // What a consumer of the package gets: bench.sh packs Maru.Runtime and builds
        // tests/Maru.Benchmarks.ColdStart against it (MARU_BENCH_COLDSTART); without it, this harness
        // itself (project references, the managed compiler on the JIT) is the cold child. The warm
        // rows above are this harness's own compilations (the managed compiler, tier-1 JIT code).
        var consumer = Environment.GetEnvironmentVariable("MARU_BENCH_COLDSTART");
        // One line per function, in the order of Functions: "median min compiler".
        var packageWarm = new List<(double Median, double Min, string Compiler)>();
        if (!string.IsNullOrEmpty(consumer))
        {
            Console.Error.WriteLine("[latency] Maru.Runtime package warm");
            foreach (var line in Capture("dotnet", [consumer, "--warm", options.LatencyIterations.ToString(CultureInfo.InvariantCulture)]).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var fields = line.Trim().Split(' ');
                packageWarm.Add((double.Parse(fields[0], CultureInfo.InvariantCulture), double.Parse(fields[1], CultureInfo.InvariantCulture), fields[2]));
            }
        }

        Console.Error.WriteLine("[latency] fresh processes");
        var self = Environment.ProcessPath!;
        var selfArguments = self.EndsWith("dotnet", StringComparison.Ordinal) ? new[] { typeof(RuntimeLatency).Assembly.Location } : [];
        var children = string.IsNullOrEmpty(consumer)
            ? new List<(string Label, string Program, string[] Arguments)> { ($"Maru.Runtime by project reference, managed compiler, JIT (.NET {Environment.Version})", self, [.. selfArguments, "--cold-latency-child"]) }
            : [("Maru.Runtime package, {0} compiler", "dotnet", [consumer]), ("Maru.Runtime package, managed compiler (UseNativeCompiler=false)", "dotnet", [consumer, "--managed"])];
        var cold = children.Select(_ => (First: new List<double>(), Cpu: new List<double>(), Process: new List<double>(), Compiler: "")).ToArray();
        var tccCold = new List<double>();
        var tccProcess = new List<double>();
        for (var run = 0; run < options.ProcessRuns; run++)
        {
            for (var c = 0; c < children.Count; c++)
            {
                var (text, wall) = Capture(children[c].Program, children[c].Arguments);
                var fields = text.Split(' ');
                cold[c].First.Add(double.Parse(fields[0], CultureInfo.InvariantCulture));
                if (fields.Length > 1) cold[c].Cpu.Add(double.Parse(fields[1], CultureInfo.InvariantCulture));
                if (fields.Length > 2) cold[c].Compiler = fields[2];
                cold[c].Process.Add(wall);
            }
            var (tccText, tccWall) = Capture(driver, ["cold"]);
            tccCold.Add(double.Parse(tccText.Split(' ')[2], CultureInfo.InvariantCulture));
            tccProcess.Add(tccWall);
        }

        Console.WriteLine($"## Run-time compilation: source text to first call, µs (warm: median and min of {options.LatencyIterations}; cold: a fresh process, median and min of {options.ProcessRuns})");
        Console.WriteLine();
        Console.WriteLine("| function | Maru.Runtime warm | min | libtcc in memory | min | tcc -shared + dlopen | min | Maru/libtcc (min) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var f in Functions)
        {
            var (m, memory, file) = (warm[f.Name], Summary(tccMemory[f.CName]), Summary(tccShared[f.CName]));
            Console.WriteLine($"| {f.Name} | {m.Median:F0} | {m.Min:F0} | {memory.Median:F0} | {memory.Min:F0} | {file.Median:F0} | {file.Min:F0} | {m.Min / memory.Min:F2}x |");
        }
        for (var i = 0; i < packageWarm.Count && i < Functions.Length; i++)
        {
            var (p, f) = (packageWarm[i], Functions[i]);
            var memory = Summary(tccMemory[f.CName]);
            Console.WriteLine($"| {f.Name}, Maru.Runtime package ({p.Compiler} compiler) | {p.Median:F0} | {p.Min:F0} | {memory.Median:F0} | {memory.Min:F0} | | | {p.Min / memory.Min:F2}x |");
        }
        Console.WriteLine();
        Console.WriteLine("| cold, fib-iter | first compile-and-call in the process, µs | min | CPU ms (median) | whole process, ms | min |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (var c = 0; c < children.Count; c++)
        {
            var (first, process) = (Summary(cold[c].First), Summary(cold[c].Process));
            var cpu = cold[c].Cpu.Count > 0 ? Summary(cold[c].Cpu).Median.ToString("F1", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"| {string.Format(CultureInfo.InvariantCulture, children[c].Label, cold[c].Compiler)} | {first.Median:F0} | {first.Min:F0} | {cpu} | {process.Median / 1000:F1} | {process.Min / 1000:F1} |");
        }
        var (tc, tp) = (Summary(tccCold), Summary(tccProcess));
        Console.WriteLine($"| libtcc in memory (C) | {tc.Median:F0} | {tc.Min:F0} | - | {tp.Median / 1000:F1} | {tp.Min / 1000:F1} |");
        Console.WriteLine();
        var coldMin = Summary(cold[0].First).Min;
        var package = string.Concat(packageWarm.Select((p, i) => $", package {Functions[i].Name} {p.Median:F0} / {p.Min:F0}"));
        Console.WriteLine($"goals: warm under 300 µs at the median (median / min: fib-iter {warm["fib-iter"].Median:F0} / {warm["fib-iter"].Min:F0} µs, fib {warm["fib"].Median:F0} / {warm["fib"].Min:F0} µs{package}); cold under 50 ms (min {coldMin / 1000:F1} ms, median {Summary(cold[0].First).Median / 1000:F1} ms)");
        Console.WriteLine();
    }

    private static Dictionary<string, List<double>> DriverTimes(string driver, params string[] arguments)
    {
        var (text, _) = Capture(driver, arguments);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' '))
            .ToDictionary(parts => parts[1], parts => parts.Skip(2).Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToList());
    }

    /// <summary>Runs a process, returning its trimmed stdout and its wall time in µs.</summary>
    private static (string Output, double WallUs) Capture(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var wall = clock.Elapsed.TotalMicroseconds;
        if (process.ExitCode != 0)
            throw new BenchmarkFailure($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout.Result}{stderr.Result}");
        return (stdout.Result.Trim(), wall);
    }

    private static (double Median, double Min) Summary(IEnumerable<double> times)
    {
        var sorted = times.Order().ToArray();
        return (Measurement.Median(sorted), sorted[0]);
    }
}
