using System.Diagnostics;
using System.Text;
using Maru.Compiler;
using Maru.Compiler.Syntax;

namespace Maru.Benchmarks;

/// <summary>One generated input of the scaling table: a family (what grows) and a size.</summary>
internal sealed record ScalingCase(string Family, int Size, Func<int, string> Generate);

internal sealed record ScalingTiming(ScalingCase Case, double Ms, double CpuMs, long PeakKb, int FullCollections);

/// <summary>
/// Compile time against program size: generated programs of growing size, each compiled at O1 in
/// a fresh process of this harness (--scaling-one) so its peak memory (VmHWM) is its own. Time is
/// the compilation alone (after a small warm-up compile for the JIT), min of the runs.
/// </summary>
internal static class Scaling
{
    public static readonly ScalingCase[] Cases =
    [
        .. new[] { 1_000, 10_000, 50_000 }.Select(n => new ScalingCase("function of n statements", n, FunctionOfStatements)),
        .. new[] { 1_000, 10_000 }.Select(n => new ScalingCase("file of n functions", n, FileOfFunctions)),
        .. new[] { 1_000, 10_000 }.Select(n => new ScalingCase("n functions in call cycles", n, FunctionsInCycles)),
        // 9,000 not 10,000: compile-time evaluation refuses expansions nested more than 10,000 deep (MARU0601).
        .. new[] { 900, 9_000 }.Select(n => new ScalingCase("macro expansion n deep", n, MacroExpansionDepth)),
        .. new[] { 5_000, 50_000 }.Select(n => new ScalingCase("n sequential ifs", n, SequentialIfs)),
        .. new[] { 2_000, 20_000 }.Select(n => new ScalingCase("n sequential whiles", n, SequentialWhiles)),
        .. new[] { 1_000, 10_000 }.Select(n => new ScalingCase("n counted loops in a row", n, CountedLoops)),
        .. new[] { 10_000, 100_000 }.Select(n => new ScalingCase("an or of n operands", n, OrOfOperands)),
    ];

    /// <summary>One function; statements cycle through an if, arithmetic, a loop and an or.</summary>
    private static string FunctionOfStatements(int n)
    {
        var text = new StringBuilder("(define-function big (x) (let ((a 0) (i 0))\n");
        for (var k = 0; k < n; k++)
            text.Append((k % 4) switch
            {
                0 => $" (if (> x {k}) (set a (+ a {k})) (set a (- a 1)))\n",
                1 => $" (set a (^ a (* x {k})))\n",
                2 => " (set i 0) (while (< i x) (set a (+ a i)) (set i (+ i 1)))\n",
                _ => $" (set a (or (= x {k}) (& a 1023)))\n",
            });
        return text.Append(" a))\n").ToString();
    }

    /// <summary>Small functions, each calling the one before (a long call chain for the inliner).</summary>
    private static string FileOfFunctions(int n)
    {
        var text = new StringBuilder("(define-function f0 (x) (* x 3))\n");
        for (var k = 1; k < n; k++)
            text.Append($"(define-function f{k} (x) (if (> x {k}) (+ x {k}) (f{k - 1} (+ x 1))))\n");
        return text.ToString();
    }

    /// <summary>
    /// Small mutually recursive functions (what the inliner takes into a cycle's members): cycles of
    /// 2, 3 and 5 members, tail and non-tail calls; every third function also calls the next one
    /// (edges that join cycles into larger components).
    /// </summary>
    private static string FunctionsInCycles(int n)
    {
        var text = new StringBuilder();
        var start = 0;
        for (var cycle = 0; start < n; cycle++)
        {
            var length = Math.Min(n - start, (cycle % 3) switch { 0 => 2, 1 => 3, _ => 5 });
            for (var k = 0; k < length; k++)
            {
                var self = start + k;
                var next = start + (k + 1) % length;
                var ring = (self + 1) % n;
                text.Append((self % 3) switch
                {
                    0 => $"(define-function f{self} (x) (if (<= x 0) {self} (f{next} (- x 1))))\n",
                    1 => $"(define-function f{self} (x) (if (<= x 0) 1 (+ x (f{next} (- x 1)))))\n",
                    _ => $"(define-function f{self} (x) (if (> x 1000) (f{ring} 0) (if (<= x 0) 2 (* 3 (f{next} (- x 2))))))\n",
                });
            }
            start += length;
        }
        return text.ToString();
    }

    /// <summary>A macro whose expansion is itself again, n times in all.</summary>
    private static string MacroExpansionDepth(int n) =>
        "(define-form count-down (n acc) (if (= n 0) acc `(count-down ,(- n 1) ,(+ acc 1))))\n" +
        $"(define-function m () (count-down {n - 1} 0))\n";

    private static string SequentialIfs(int n)
    {
        var text = new StringBuilder("(define-function f (x) (let ((a 0))\n");
        for (var k = 0; k < n; k++) text.Append($" (if (> x {k}) (set a (+ a {k})))\n");
        return text.Append(" a))\n").ToString();
    }

    private static string SequentialWhiles(int n)
    {
        var text = new StringBuilder("(define-function f (x) (let ((a 0) (i 0))\n");
        for (var k = 0; k < n; k++) text.Append($" (set i 0) (while (< i x) (set a (+ a {k})) (set i (+ i 1)))\n");
        return text.Append(" a))\n").ToString();
    }

    /// <summary>
    /// Loops from a constant start to a constant bound, each followed by flag tests: constant
    /// propagation finds a loop's exit only once its counter varies, a round after the loop before
    /// (rounds over every block were quadratic here).
    /// </summary>
    private static string CountedLoops(int n)
    {
        var text = new StringBuilder("(define-function f (x) (let ((a 0) (i 0) (g 0))\n");
        for (var k = 0; k < n; k++)
            text.Append($" (set i 0) (while (< i 4) (set a (+ a (* x {k % 97}))) (set i (+ i 1))) (set g (> a x)) (if g (set a (- a {k})))\n");
        return text.Append(" a))\n").ToString();
    }

    private static string OrOfOperands(int n) =>
        "(define-function f (x) (or " + string.Join(" ", Enumerable.Range(0, n).Select(k => $"(= x {k})")) + "))\n";

    /// <summary>Runs every case in its own process, <paramref name="runs"/> times, and keeps the fastest.</summary>
    public static List<ScalingTiming> Measure(Options options)
    {
        var results = new List<ScalingTiming>();
        var self = Environment.ProcessPath!;
        var harness = typeof(Scaling).Assembly.Location;
        foreach (var scalingCase in Cases)
        {
            Console.Error.WriteLine($"[scaling] {scalingCase.Family}, n = {scalingCase.Size}");
            ScalingTiming? best = null;
            for (var run = 0; run < options.ScalingRuns; run++)
            {
                var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
                if (!self.EndsWith("Maru.Benchmarks", StringComparison.Ordinal)) start.ArgumentList.Add(harness);   // dotnet Maru.Benchmarks.dll
                foreach (var argument in new[] { "--scaling-one", Array.IndexOf(Cases, scalingCase).ToString() }) start.ArgumentList.Add(argument);
                using var process = Process.Start(start)!;
                var output = process.StandardOutput.ReadToEnd();
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                    throw new BenchmarkFailure($"scaling case '{scalingCase.Family}' n = {scalingCase.Size} failed:\n{errors}{output}");
                var fields = output.Trim().Split(' ');
                var timing = new ScalingTiming(scalingCase, double.Parse(fields[0]), double.Parse(fields[1]), long.Parse(fields[2]), int.Parse(fields[3]));
                if (best is null || timing.Ms < best.Ms) best = timing with { PeakKb = Math.Max(timing.PeakKb, best?.PeakKb ?? 0) };
            }
            results.Add(best!);
        }
        return results;
    }

    /// <summary>In the child process: compile one case and print "wall-ms cpu-ms peak-kb full-collections".</summary>
    public static int RunOne(int index)
    {
        var scalingCase = Cases[index];
        var source = scalingCase.Generate(scalingCase.Size);
        Compile(scalingCase.Generate(10));   // the JIT's share stays out of the timing
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var fullCollections = GC.CollectionCount(2);
        var watch = Stopwatch.StartNew();
        Compile(source);
        var wall = watch.Elapsed.TotalMilliseconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        var peak = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var peakKb = long.Parse(peak["VmHWM:".Length..].Trim().Split(' ')[0]);
        Console.WriteLine($"{wall:F1} {cpuMs:F1} {peakKb} {GC.CollectionCount(2) - fullCollections}");
        return 0;

        static void Compile(string text)
        {
            var result = MaruCompiler.Compile([new SourceFile("scaling.l", text)], VariantBuilder.MaruOptions("scaling", OptimisationLevel.O1));
            if (!result.Success) throw new BenchmarkFailure("did not compile:\n" + string.Join('\n', result.Diagnostics.Take(5)));
        }
    }

    /// <summary>Per family: time, CPU time and peak memory per size, and the growth from one size to the next against the growth in work.</summary>
    public static void Report(List<ScalingTiming> rows, Options options)
    {
        Console.WriteLine($"## Compile time against program size (O1, one process per case, min of {options.ScalingRuns})");
        Console.WriteLine();
        Console.WriteLine("| input | n | ms | CPU ms | peak MB | gen2 GCs | work ratio | time ratio | CPU ratio | time within 1.5x the work ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        var worst = 0.0;
        foreach (var family in rows.GroupBy(r => r.Case.Family))
        {
            ScalingTiming? previous = null;
            foreach (var r in family)
            {
                var work = previous is null ? "" : $"{(double)r.Case.Size / previous.Case.Size:F0}x";
                var growth = previous is null ? double.NaN : r.Ms / previous.Ms;
                var bound = previous is null ? double.NaN : 1.5 * r.Case.Size / previous.Case.Size;
                if (previous is not null) worst = Math.Max(worst, growth / ((double)r.Case.Size / previous.Case.Size));
                var cpuGrowth = previous is null ? "" : $"{r.CpuMs / previous.CpuMs:F1}x";
                Console.WriteLine($"| {r.Case.Family} | {r.Case.Size} | {r.Ms:F0} | {r.CpuMs:F0} | {r.PeakKb / 1024.0:F0} | {r.FullCollections} | {work} | " +
                                  $"{(previous is null ? "" : $"{growth:F1}x")} | {cpuGrowth} | {(previous is null ? "" : growth <= bound ? "yes" : "NO")} |");
                previous = r;
            }
        }
        Console.WriteLine();
        Console.WriteLine($"worst time growth per unit of work growth: {worst:F2} (goal: <= 1.5, i.e. 10x the work in at most 15x the time)");
        Console.WriteLine();
    }
}
