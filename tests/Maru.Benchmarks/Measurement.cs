using System.Diagnostics;

namespace Maru.Benchmarks;

/// <summary>Timed runs of one variant and their summary.</summary>
internal sealed record Timing(long Result, double MedianMs, double MinMs);

/// <summary>
/// The one piece of code that times every variant: the same unmanaged function pointer call,
/// one warm-up run at full size, then <c>runs</c> timed runs; the median and the minimum are kept.
/// </summary>
internal static unsafe class Measurement
{
    public static Timing Measure(BenchmarkProgram program, Variant variant, int runs)
    {
        if (variant.IsManaged) TierUp(program, variant);

        var bench = variant.Bench;
        var result = bench(program.N);   // warm-up: page faults, caches, branch predictors
        var times = new double[runs];
        for (var run = 0; run < runs; run++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var start = Stopwatch.GetTimestamp();
            var value = bench(program.N);
            times[run] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (value != result)
                throw new BenchmarkFailure($"{program.Name}/{variant.Name}: run {run + 1} returned {value}, the warm-up run {result}");
        }
        Array.Sort(times);
        return new Timing(result, Median(times), times[0]);
    }

    /// <summary>
    /// Makes the C# twin run fully optimised code before it is timed. Under tiered compilation a
    /// method starts at tier 0 (loops run via on-stack replacement), is promoted after 30 calls
    /// once call counting starts (100 ms after the last tier-0 activity), goes through an
    /// instrumented tier for dynamic PGO, and is recompiled at tier 1 in the background. Three
    /// rounds of 40 calls at a small input, each followed by a 250 ms pause, take every method of
    /// the program through all of that; the full-size warm-up run then follows as for the others.
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
