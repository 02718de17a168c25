using System.Diagnostics;
using System.Runtime;
using Maru.Compiler;
using Maru.Compiler.Syntax;

namespace Maru.Benchmarks;

internal sealed record CompileTiming(string Name, int Lines, double MedianUs, double MinUs, double? MarucMs, double? TccMs, double? MarucMinMs = null, double? TccMinMs = null);

/// <summary>How long Maru.Sdk takes to compile: in-process and warm, and as a maruc process next to tcc.</summary>
internal static class CompileTimes
{
    /// <summary>The warm-up's limit, should the JIT never settle (the timings then say so).</summary>
    private static readonly TimeSpan MaxWarmUp = TimeSpan.FromSeconds(30);

    /// <summary>
    /// In-process, warm: MaruCompiler.Compile from reading the .l file to the library bytes
    /// (read, compile-time evaluation with the prelude, lowering, O1 passes, code generation,
    /// ELF writing), median of <paramref name="iterations"/> after the warm-up.
    /// </summary>
    /// <remarks>
    /// Warm means the JIT has finished: tiered compilation keeps recompiling the compiler's hot
    /// methods (instrumented, then optimised) in the background for seconds after the first
    /// compiles, on one of the two cores the compile itself runs on. A second of warm-up left
    /// eval64.l's timed compiles inside that (5-9 s, ~9,700 methods, docs/performance.md,
    /// thirteenth session), so the warm-up goes on, in windows of at least 20 compiles and half a
    /// second, until the JIT took under 1% of a window's time (and at least a second and 50 compiles).
    /// </remarks>
    public static (double MedianUs, double MinUs) InProcess(Func<byte[]> compile, int iterations)
    {
        var warmup = Stopwatch.StartNew();
        for (var i = 0; i < 50 || warmup.ElapsedMilliseconds < 1000; i++) compile();
        while (warmup.Elapsed < MaxWarmUp)
        {
            var window = Stopwatch.StartNew();
            var jit = JitInfo.GetCompilationTime();
            for (var i = 0; i < 20 || window.ElapsedMilliseconds < 500; i++) compile();
            if ((JitInfo.GetCompilationTime() - jit).TotalMilliseconds < window.Elapsed.TotalMilliseconds / 100) break;
        }
        var times = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            compile();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return (Measurement.Median(times), times[0]);
    }

    public static CompileTiming Measure(BenchmarkProgram program, Options options)
    {
        var source = VariantBuilder.MaruSource(program);
        var lines = File.ReadAllLines(source).Length;
        var (median, min) = InProcess(() => VariantBuilder.CompileMaru(source, program.Name, OptimisationLevel.O1), options.CompileIterations);

        // Whole processes, wall time: maruc build (a .NET app: runtime start-up, JIT, compile,
        // write) against tcc -shared on the C twin. One untimed run each first.
        var directory = Path.Combine(options.OutputDirectory, program.Name);
        var maruc = Process(options.ProcessRuns, () => Toolchain.Run(Toolchain.Maruc, "build", "-o", Path.Combine(directory, "libprocess-maruc.so"), source));
        var tcc = Process(options.ProcessRuns, () => Toolchain.Run(Toolchain.Tcc, "-shared", "-o", Path.Combine(directory, "libprocess-tcc.so"), VariantBuilder.CSource(program)));
        return new CompileTiming(program.Name, lines, median, min, maruc.Median, tcc.Median, maruc.Min, tcc.Min);
    }

    /// <summary>A Maru file from outside the suite (e.g. the ported eval.l): in-process and as a maruc process; there is no C twin.</summary>
    public static CompileTiming MeasureFile(string path, Options options)
    {
        if (!File.Exists(path)) throw new BenchmarkFailure($"--compile-file {path}: no such file");
        var name = Path.GetFileNameWithoutExtension(path);
        var lines = File.ReadAllLines(path).Length;
        var (median, min) = InProcess(() => VariantBuilder.CompileMaru(path, name, OptimisationLevel.O1), options.CompileIterations);
        var directory = Path.Combine(options.OutputDirectory, "compile-files");
        Directory.CreateDirectory(directory);
        var maruc = Process(options.ProcessRuns, () => Toolchain.Run(Toolchain.Maruc, "build", "-o", Path.Combine(directory, $"lib{name}.so"), path));
        return new CompileTiming(name, lines, median, min, maruc.Median, null, maruc.Min, null);
    }

    /// <summary>The fixed cost: an empty source (the prelude still runs) compiled to a library.</summary>
    public static CompileTiming Empty(Options options)
    {
        var (median, min) = InProcess(() =>
        {
            var result = MaruCompiler.Compile([new SourceFile("empty.l", "")], VariantBuilder.MaruOptions("empty", OptimisationLevel.O1));
            return result.Library ?? throw new BenchmarkFailure("the empty source did not compile:\n" + string.Join('\n', result.Diagnostics));
        }, options.CompileIterations);
        return new CompileTiming("(empty file)", 0, median, min, null, null);
    }

    private static (double Median, double Min) Process(int runs, Func<TimeSpan> run)
    {
        run();
        var times = Enumerable.Range(0, runs).Select(_ => run().TotalMilliseconds).Order().ToArray();
        return (Measurement.Median(times), times[0]);
    }
}
