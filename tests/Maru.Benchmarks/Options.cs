namespace Maru.Benchmarks;

/// <summary>Command-line options of the harness; build/bench.sh passes them through.</summary>
internal sealed class Options
{
    public string OutputDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "maru-bench");
    public int Runs { get; private set; } = 7;
    public int CompileIterations { get; private set; } = 300;
    public int ProcessRuns { get; private set; } = 5;
    public int LatencyIterations { get; private set; } = 300;
    public bool SkipLatency { get; private set; }
    public HashSet<string>? Only { get; private set; }
    public bool SkipRuntime { get; private set; }
    public bool SkipCompileTime { get; private set; }
    public bool Scaling { get; private set; }
    public int ScalingRuns { get; private set; } = 3;
    public int? ScalingOne { get; private set; }
    public List<string> CompileFiles { get; } = [];
    public bool SkipArm64 { get; private set; }
    public bool Arm64Only { get; private set; }

    public const string Usage = """
        Usage: Maru.Benchmarks [options]
          --out <dir>                  where the compiled variants go (default: $TMPDIR/maru-bench)
          --runs <n>                   timed runs per variant, after one warm-up run (default 7)
          --compile-iterations <n>     timed in-process compilations per program (default 300)
          --process-runs <n>           timed maruc / tcc processes per program (default 5)
          --only <name,name...>        run only these programs
          --skip-runtime               only the compile-time tables
          --skip-compile-time          only the run-time tables
          --scaling                    also the compile-time scaling table (generated programs of growing size)
          --scaling-only               only the scaling table
          --scaling-runs <n>           processes per scaling case, the fastest counts (default 3)
          --latency-iterations <n>     warm source-to-call timings through Maru.Runtime and libtcc (default 300)
          --skip-latency               no run-time compilation (Maru.Runtime against libtcc) table
          --compile-file <file.l>      also time compiling this Maru file (in-process and maruc);
                                       repeatable; bench.sh passes the ported eval.l this way
          --skip-arm64                 no linux-arm64 table (qemu proxy; needs qemu-aarch64 and aarch64-linux-gnu-gcc)
          --arm64-only                 only the linux-arm64 table
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            int Count()
            {
                var text = Value();
                return int.TryParse(text, out var n) && n > 0 ? n : throw new UsageException($"not a positive count: {text}");
            }
            switch (args[i])
            {
                case "--out": options.OutputDirectory = Path.GetFullPath(Value()); break;
                case "--runs": options.Runs = Count(); break;
                case "--compile-iterations": options.CompileIterations = Count(); break;
                case "--process-runs": options.ProcessRuns = Count(); break;
                case "--only": options.Only = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--skip-runtime": options.SkipRuntime = true; break;
                case "--skip-compile-time": options.SkipCompileTime = true; break;
                case "--scaling": options.Scaling = true; break;
                case "--scaling-only": options.Scaling = options.SkipRuntime = options.SkipCompileTime = options.SkipLatency = true; break;
                case "--scaling-runs": options.ScalingRuns = Count(); break;
                case "--scaling-one": options.ScalingOne = int.Parse(Value()); break;   // internal: one case in a child process
                case "--latency-iterations": options.LatencyIterations = Count(); break;
                case "--skip-latency": options.SkipLatency = true; break;
                case "--compile-file": options.CompileFiles.Add(Path.GetFullPath(Value())); break;
                case "--skip-arm64": options.SkipArm64 = true; break;
                case "--arm64-only": options.Arm64Only = options.SkipRuntime = options.SkipCompileTime = true; break;
                case "-h" or "--help": throw new UsageException(null);
                default: throw new UsageException($"unknown option '{args[i]}'");
            }
        }
        return options;
    }
}

internal sealed class UsageException(string? problem) : Exception(problem ?? "usage")
{
    /// <summary>What was wrong with the command line; null when help was asked for.</summary>
    public string? Problem { get; } = problem;
}
