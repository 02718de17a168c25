using System.Diagnostics;

namespace Maru.Benchmarks;

/// <summary>Timed runs of one variant and their summary.</summary>
internal sealed record Timing(long Result, double MedianMs, double MinMs);

/// <summary>
/// The one piece of code that times every variant: the same unmanaged function pointer call for
/// all of them. Each variant gets one warm-up run at full size (the C# twin is tiered up first);
/// then the timed runs are interleaved, round after round over all the variants, so that load
/// from elsewhere on the machine falls on every variant alike. The median and the minimum of
/// each variant's runs are kept.
/// </summary>
internal static unsafe class Measurement
{
    public static Dictionary<string, Timing> Measure(BenchmarkProgram program, List<Variant> variants, int runs)
    {
        var results = new Dictionary<string, long>();
        foreach (var variant in variants)
        {
            if (variant.IsManaged) TierUp(program, variant);
            results[variant.Name] = variant.Bench(program.N);   // warm-up: page faults, caches, predictors
        }
        var times = variants.ToDictionary(v => v.Name, _ => new double[runs]);
        for (var run = 0; run < runs; run++)
        {
            foreach (var variant in variants)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var bench = variant.Bench;
                var start = Stopwatch.GetTimestamp();
                var value = bench(program.N);
                times[variant.Name][run] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (value != results[variant.Name])
                    throw new BenchmarkFailure($"{program.Name}/{variant.Name}: run {run + 1} returned {value}, the warm-up run {results[variant.Name]}");
            }
        }
        return variants.ToDictionary(v => v.Name, v =>
        {
            var sorted = times[v.Name].Order().ToArray();
            return new Timing(results[v.Name], Median(sorted), sorted[0]);
        });
    }

    /// <summary>
    /// Makes the C# twin run fully optimised code before it is timed. Under tiered compilation (the
    /// default, with dynamic PGO) a method starts at tier 0 (loops run via on-stack replacement),
    /// is promoted after 30 calls once call counting starts (100 ms after the last tier-0
    /// activity), goes through an instrumented tier, and is recompiled at tier 1 in the
    /// background. Three rounds of 40 calls at a small input, each followed by a 250 ms pause,
    /// take every method of the program through all of that before the full-size warm-up run.
    /// </summary>
    private static void TierUp(BenchmarkProgram program, Variant variant)
    {
        var bench = variant.Bench;
        for (var round = 0; round < 3; round++)
        {
            for (var call = 0; call < 40; call++) bench(program.WarmupN);
            Thread.Sleep(250);
        }
    }

    public static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
