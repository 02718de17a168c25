using System.Diagnostics;

namespace Maru.Benchmarks;

/// <summary>
/// Warm timings of several measurements taken in alternation (ABBA...), for the run-time latency
/// rows (RuntimeLatency, and the package consumer tests/Maru.Benchmarks.ColdStart, which links this
/// file). One function's 200 timings take only some 60 ms, so a function timed after another can
/// catch a burst of another process that the other escaped: a table with fib 100 µs above fib-iter
/// was that (fib takes 5% more instructions; docs/performance.md, sixth session). Interleaved, a
/// disturbance lands on every row alike.
/// </summary>
internal static class Interleaving
{
    /// <summary><paramref name="iterations"/> timings (µs) of each of <paramref name="count"/> measurements, after at least <paramref name="warmUp"/> of the same.</summary>
    public static List<double>[] Time(int count, int iterations, TimeSpan warmUp, Func<int, double> measure)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50 || clock.Elapsed < warmUp; i++)
            for (var k = 0; k < count; k++) measure(k);
        var times = Enumerable.Range(0, count).Select(_ => new List<double>(iterations)).ToArray();
        for (var i = 0; i < iterations; i++)
            for (var k = 0; k < count; k++)
            {
                var which = i % 2 == 0 ? k : count - 1 - k;
                times[which].Add(measure(which));
            }
        return times;
    }
}
