using System.CommandLine;

namespace Maru.Benchmarks;

/// <summary>Command-line options of the harness; build/bench.sh passes them through.</summary>
internal sealed class Options
{
    public required string OutputDirectory { get; init; }
    public int Runs { get; private init; }
    public int CompileIterations { get; private init; }
    public int ProcessRuns { get; private init; }
    public int LatencyIterations { get; private init; }
    public bool SkipLatency { get; private init; }
    public HashSet<string>? Only { get; private init; }
    public bool SkipRuntime { get; private init; }
    public bool SkipCompileTime { get; private init; }
    public bool Scaling { get; private init; }
    public int ScalingRuns { get; private init; }
    public int? ScalingOne { get; private init; }
    public List<string> CompileFiles { get; } = [];
    public bool SkipArm64 { get; private init; }
    public bool Arm64Only { get; private init; }

    /// <summary>
    /// Reads the command line (System.CommandLine: --help, parse errors and response files as in
    /// maruc). Null when there is nothing to run: help was printed, or the errors were, with
    /// <paramref name="exitCode"/> set.
    /// </summary>
    public static Options? Parse(string[] args, out int exitCode)
    {
        static Option<int> Count(string name, string description, int fallback)
        {
            var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => fallback, HelpName = "n" };
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 1) result.AddError($"{name} must be a positive count");
            });
            return option;
        }

        var output = new Option<string>("--out") { Description = "Where the compiled variants go.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "maru-bench"), HelpName = "dir" };
        var runs = Count("--runs", "Timed runs per variant, after one warm-up run.", 7);
        var compileIterations = Count("--compile-iterations", "Timed in-process compilations per program.", 300);
        var processRuns = Count("--process-runs", "Timed maruc / tcc processes per program.", 5);
        var only = new Option<string?>("--only") { Description = "Run only these programs (comma-separated names).", HelpName = "name,name..." };
        var skipRuntime = new Option<bool>("--skip-runtime") { Description = "Only the compile-time tables." };
        var skipCompileTime = new Option<bool>("--skip-compile-time") { Description = "Only the run-time tables." };
        var scaling = new Option<bool>("--scaling") { Description = "Also the compile-time scaling table (generated programs of growing size)." };
        var scalingOnly = new Option<bool>("--scaling-only") { Description = "Only the scaling table." };
        var scalingRuns = Count("--scaling-runs", "Processes per scaling case; the fastest counts.", 3);
        var scalingOne = new Option<int?>("--scaling-one") { Hidden = true }; // one case, in a child process of the scaling table
        var latencyIterations = Count("--latency-iterations", "Warm source-to-call timings through Maru.Runtime and libtcc.", 300);
        var skipLatency = new Option<bool>("--skip-latency") { Description = "No run-time compilation (Maru.Runtime against libtcc) table." };
        var compileFiles = new Option<string[]>("--compile-file") { Description = "Also time compiling this Maru file (in-process and maruc); repeatable; bench.sh passes the ported eval.l this way.", HelpName = "file.l", AllowMultipleArgumentsPerToken = false };
        var skipArm64 = new Option<bool>("--skip-arm64") { Description = "No linux-arm64 table (qemu proxy; needs qemu-aarch64 and aarch64-linux-gnu-gcc)." };
        var arm64Only = new Option<bool>("--arm64-only") { Description = "Only the linux-arm64 table." };

        var root = new RootCommand("The benchmark harness (build/bench.sh passes its arguments through): Maru against gcc -O2, gcc -O0, tcc and C#; compile times; run-time compilation latency; the arm64 qemu proxy.");
        foreach (var option in new Option[] { output, runs, compileIterations, processRuns, only, skipRuntime, skipCompileTime, scaling, scalingOnly,
                     scalingRuns, scalingOne, latencyIterations, skipLatency, compileFiles, skipArm64, arm64Only })
            root.Options.Add(option);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 || parse.Action is not null)
        {
            // Help (exit 0) or the parse errors and help (exit 1), printed by System.CommandLine.
            exitCode = parse.Invoke();
            return null;
        }
        exitCode = 0;
        var options = new Options
        {
            OutputDirectory = Path.GetFullPath(parse.GetValue(output)!),
            Runs = parse.GetValue(runs),
            CompileIterations = parse.GetValue(compileIterations),
            ProcessRuns = parse.GetValue(processRuns),
            LatencyIterations = parse.GetValue(latencyIterations),
            ScalingRuns = parse.GetValue(scalingRuns),
            ScalingOne = parse.GetValue(scalingOne),
            Only = parse.GetValue(only) is { } names ? [.. names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null,
            Scaling = parse.GetValue(scaling) || parse.GetValue(scalingOnly),
            SkipRuntime = parse.GetValue(skipRuntime) || parse.GetValue(scalingOnly) || parse.GetValue(arm64Only),
            SkipCompileTime = parse.GetValue(skipCompileTime) || parse.GetValue(scalingOnly) || parse.GetValue(arm64Only),
            SkipLatency = parse.GetValue(skipLatency) || parse.GetValue(scalingOnly),
            SkipArm64 = parse.GetValue(skipArm64),
            Arm64Only = parse.GetValue(arm64Only),
        };
        options.CompileFiles.AddRange((parse.GetValue(compileFiles) ?? []).Select(Path.GetFullPath));
        return options;
    }
}

/// <summary>A command line System.CommandLine accepted but the harness cannot run (an unknown program name).</summary>
internal sealed class UsageException(string problem) : Exception(problem);
