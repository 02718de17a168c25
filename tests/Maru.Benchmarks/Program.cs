using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Maru.Benchmarks;

// The benchmark harness (run it with build/bench.sh): compiles every program with Maru.Sdk (O1,
// the default, and O0), gcc -O2, gcc -O0 and tcc, loads the libraries, times bench(n) of each
// and of the C# twin through the same function-pointer call, checks that every variant returns
// the same value, and prints the run-time and compile-time tables. Progress goes to stderr, the
// report to stdout.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args is ["--cold-latency-child"]) return RuntimeLatency.ColdChild();
try
{
    if (Options.Parse(args, out var exitCode) is not { } options) return exitCode;
    if (options.ScalingOne is { } scalingCase) return Scaling.RunOne(scalingCase);
    if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        throw new BenchmarkFailure("the benchmark runs on linux-x64 only (the one target Maru.Sdk supports)");
    var programs = ProgramList.All.Where(p => options.Only is null || options.Only.Contains(p.Name)).ToList();
    if (options.Only is not null && options.Only.Except(programs.Select(p => p.Name)).FirstOrDefault() is { } unknown)
        throw new UsageException($"unknown program '{unknown}'; known: {string.Join(", ", ProgramList.All.Select(p => p.Name))}");

    Report.Machine(options);
    if (!options.SkipRuntime)
    {
        var rows = new List<(BenchmarkProgram Program, Dictionary<string, Timing> Timings)>();
        foreach (var program in programs)
        {
            Console.Error.WriteLine($"[{program.Name}] building the variants");
            var variants = VariantBuilder.Build(program, options.OutputDirectory);
            Console.Error.WriteLine($"[{program.Name}] warming up and timing {string.Join(", ", variants.Select(v => v.Name))}");
            var timings = Measurement.Measure(program, variants, options.Runs);
            foreach (var (name, timing) in timings)
                Console.Error.WriteLine($"[{program.Name}] {name,-8} {timing.MedianMs,9:F1} ms  (result {timing.Result})");
            if (timings.Values.Select(t => t.Result).Distinct().Count() != 1)
                throw new BenchmarkFailure($"RESULT MISMATCH in {program.Name}: the variants disagree:\n"
                    + string.Join('\n', timings.Select(t => $"  {t.Key,-8} {t.Value.Result}")));
            rows.Add((program, timings));
        }
        Report.RunTimes(rows, options);
    }
    if (!options.SkipCompileTime)
    {
        var rows = new List<CompileTiming>();
        Console.Error.WriteLine("[empty file] timing compilations");
        var empty = CompileTimes.Empty(options);
        foreach (var program in programs)
        {
            Console.Error.WriteLine($"[{program.Name}] timing compilations");
            rows.Add(CompileTimes.Measure(program, options));
        }
        foreach (var file in options.CompileFiles)
        {
            Console.Error.WriteLine($"[{file}] timing compilations");
            rows.Add(CompileTimes.MeasureFile(file, options));
        }
        rows.Add(empty);
        Report.CompileTimes(rows, empty, options);
    }
    if (options.Scaling) Scaling.Report(Scaling.Measure(options), options);
    if (!options.SkipLatency) RuntimeLatency.Report(options);
    if (!options.SkipArm64)
    {
        if (Arm64Table.Available) Arm64Table.Run(programs, options);
        else if (options.Arm64Only) throw new BenchmarkFailure("the arm64 table needs qemu-aarch64 and aarch64-linux-gnu-gcc: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross");
        else Console.Error.WriteLine("no arm64 table: qemu-aarch64 or aarch64-linux-gnu-gcc missing");
    }
    return 0;
}
catch (UsageException usage)
{
    Console.Error.WriteLine($"Maru.Benchmarks: {usage.Message}\nRun with --help for usage.");
    return 2;
}
catch (BenchmarkFailure failure)
{
    Console.Error.WriteLine($"BENCHMARK FAILED: {failure.Message}");
    return 1;
}

/// <summary>The report on stdout, as Markdown tables that paste straight into docs/performance.md.</summary>
internal static class Report
{
    public static void Machine(Options options)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        Console.WriteLine($"Maru.Sdk benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores (nproc), {cpu}; {RuntimeInformation.OSDescription}");
        Console.WriteLine($"tools: {FirstLine(Toolchain.Gcc, "--version")}; {FirstLine(Toolchain.Tcc, "-v")}; {RuntimeInformation.FrameworkDescription}");
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"runs: median and min of {options.Runs} timed runs per variant, interleaved, after a warm-up run (the C# twin is first tiered up, see Measurement.cs)");
        Console.WriteLine();
    }

    public static void RunTimes(List<(BenchmarkProgram Program, Dictionary<string, Timing> Timings)> rows, Options options)
    {
        var names = VariantBuilder.Names;
        Console.WriteLine($"## Run time, ms (median of {options.Runs})");
        Console.WriteLine();
        var header = new List<string> { "program", "n" };
        header.AddRange(names);
        header.AddRange(["maru/gcc-O2", "maru/tcc", "maru-O0/gcc-O2", "tcc/gcc-O2", "gcc-O0/gcc-O2", "C#/gcc-O2"]);
        var table = new List<string[]> { header.ToArray() };
        foreach (var (program, t) in rows)
        {
            double Ratio(string a, string b) => t[a].MedianMs / t[b].MedianMs;
            var row = new List<string> { program.Name, program.N.ToString() };
            row.AddRange(names.Select(n => t[n].MedianMs.ToString("F1")));
            row.AddRange(new[] { Ratio("maru", "gcc-O2"), Ratio("maru", "tcc"), Ratio("maru-O0", "gcc-O2"), Ratio("tcc", "gcc-O2"), Ratio("gcc-O0", "gcc-O2"), Ratio("C#", "gcc-O2") }
                .Select(r => r.ToString("F2") + "x"));
            table.Add(row.ToArray());
        }
        Print(table);

        Console.WriteLine();
        Console.WriteLine($"## Run time, ms (min of {options.Runs}), and the value every variant returned");
        Console.WriteLine();
        var minTable = new List<string[]> { new[] { "program" }.Concat(names).Append("maru/gcc-O2").Append("result").ToArray() };
        foreach (var (program, t) in rows)
            minTable.Add([.. new[] { program.Name }.Concat(names.Select(n => t[n].MinMs.ToString("F1")))
                .Append((t["maru"].MinMs / t["gcc-O2"].MinMs).ToString("F2") + "x").Append(t["maru"].Result.ToString())]);
        Print(minTable);

        Console.WriteLine();
        double GeoMean(string a, string b) => Math.Exp(rows.Average(r => Math.Log(r.Timings[a].MedianMs / r.Timings[b].MedianMs)));
        double GeoMeanOfMins(string a, string b) => Math.Exp(rows.Average(r => Math.Log(r.Timings[a].MinMs / r.Timings[b].MinMs)));
        // Issue 12's targets: the geomean within 5% of gcc -O2, and no program above 1.3x.
        var worst = rows.MaxBy(r => r.Timings["maru"].MedianMs / r.Timings["gcc-O2"].MedianMs)!;
        Console.WriteLine($"geometric mean maru/gcc-O2:    {GeoMean("maru", "gcc-O2"):F2}x   (goal: <= 1.05x; of the minimums: {GeoMeanOfMins("maru", "gcc-O2"):F2}x)");
        Console.WriteLine($"highest maru/gcc-O2:           {worst.Timings["maru"].MedianMs / worst.Timings["gcc-O2"].MedianMs:F2}x, {worst.Program.Name}   (goal: no program above 1.30x)");
        Console.WriteLine($"geometric mean maru-O0/gcc-O2: {GeoMean("maru-O0", "gcc-O2"):F2}x");
        Console.WriteLine($"geometric mean tcc/gcc-O2:     {GeoMean("tcc", "gcc-O2"):F2}x");
        Console.WriteLine($"geometric mean gcc-O0/gcc-O2:  {GeoMean("gcc-O0", "gcc-O2"):F2}x");
        Console.WriteLine($"geometric mean C#/gcc-O2:      {GeoMean("C#", "gcc-O2"):F2}x");
        var losers = rows.Where(r => r.Timings["maru"].MedianMs >= r.Timings["tcc"].MedianMs).Select(r => r.Program.Name).ToList();
        Console.WriteLine(losers.Count == 0
            ? "maru beats tcc on every program: yes"
            : $"maru beats tcc on every program: NO (slower than or equal to tcc on: {string.Join(", ", losers)})");
        Console.WriteLine($"results: all {names.Length} variants agree on all {rows.Count} programs");
        Console.WriteLine();
    }

    public static void CompileTimes(List<CompileTiming> rows, CompileTiming empty, Options options)
    {
        Console.WriteLine($"## Compile time: MaruCompiler.Compile in-process, warm (median and min of {options.CompileIterations}), and whole processes (median and min of {options.ProcessRuns})");
        Console.WriteLine();
        Console.WriteLine("warm: each program is compiled until the JIT takes under 1% of the time of 20 compiles (at least 1 s and 50 compiles; CompileTimes.InProcess)");
        Console.WriteLine();
        var table = new List<string[]> { new[] { "program", "lines", "in-process µs", "min µs", "µs / 1000 lines", "above empty µs / 1000 lines", Toolchain.MarucIsNativeAot ? "maruc build ms (NativeAOT)" : "maruc build ms (JIT)", "min", "tcc -shared ms", "min", "maruc/tcc (min)" } };
        foreach (var r in rows)
            table.Add([
                r.Name, r.Lines.ToString(), r.MedianUs.ToString("F0"), r.MinUs.ToString("F0"),
                r.Lines > 0 ? (r.MedianUs / r.Lines * 1000).ToString("F0") : "-",
                r.Lines > 0 ? ((r.MedianUs - empty.MedianUs) / r.Lines * 1000).ToString("F0") : "-",
                r.MarucMs?.ToString("F1") ?? "-", r.MarucMinMs?.ToString("F1") ?? "-", r.TccMs?.ToString("F1") ?? "-", r.TccMinMs?.ToString("F1") ?? "-",
                r.MarucMinMs is { } m && r.TccMinMs is { } c ? (m / c).ToString("F1") + "x" : "-",
            ]);
        Print(table);
        Console.WriteLine();
        var programs = rows.Where(r => r.Lines > 0 && r.TccMs is not null).ToList();   // the suite's, not --compile-file's
        if (programs.Count > 0)
        {
            Console.WriteLine($"in-process: median over programs {Measurement.Median([.. programs.Select(r => r.MedianUs).Order()]):F0} µs, " +
                              $"{programs.Sum(r => r.MedianUs) / programs.Sum(r => r.Lines) * 1000:F0} µs per 1000 lines overall, " +
                              $"{programs.Sum(r => r.MedianUs - empty.MedianUs) / programs.Sum(r => r.Lines) * 1000:F0} µs per 1000 lines above the empty file's {empty.MedianUs:F0} µs (goal: under 1 ms per program)");
            Console.WriteLine($"processes: maruc build {Measurement.Median([.. programs.Select(r => r.MarucMs!.Value).Order()]):F1} ms, " +
                              $"tcc -shared {Measurement.Median([.. programs.Select(r => r.TccMs!.Value).Order()]):F1} ms (medians over programs); " +
                              $"fastest maruc build {programs.Min(r => r.MarucMinMs!.Value):F1} ms, fastest tcc -shared {programs.Min(r => r.TccMinMs!.Value):F1} ms (goal: maruc build under 30 ms)");
        }
        Console.WriteLine();
    }

    /// <summary>A Markdown table with padded columns; numbers right-aligned.</summary>
    private static void Print(List<string[]> table)
    {
        var widths = Enumerable.Range(0, table[0].Length).Select(c => table.Max(r => r[c].Length)).ToArray();
        bool Numeric(int c) => c > 0 && table.Skip(1).All(r => r[c].Length > 0 && (char.IsDigit(r[c][0]) || r[c][0] is '-'));
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((s, c) => Numeric(c) ? s.PadLeft(widths[c]) : s.PadRight(widths[c]))) + " |";
        Console.WriteLine(Line(table[0]));
        Console.WriteLine("|" + string.Join("|", widths.Select((w, c) => Numeric(c) ? new string('-', w + 1) + ":" : new string('-', w + 2))) + "|");
        foreach (var row in table.Skip(1)) Console.WriteLine(Line(row));
    }

    private static string FirstLine(string program, string argument)
    {
        var start = new ProcessStartInfo(program, argument) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return text.Split('\n')[0].Trim();
    }
}
