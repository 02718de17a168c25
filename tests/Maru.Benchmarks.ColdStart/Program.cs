// build/bench.sh's consumer of the packed Maru.Runtime (docs/performance.md, run-time compilation).
// Default: one first compilation in a fresh process, source text to the first call's result,
// printed as "µs cpu-ms compiler" (the process's CPU time for it, and which compiler ran).
// --warm N: after a second of warm-up, N more, printed as "median-µs min-µs compiler".
// --managed turns the package's native compiler off (the AppContext switch a user would set).
using System.Diagnostics;
using System.Globalization;
using Maru.Runtime;

var managed = args.Contains("--managed");
if (managed) AppContext.SetSwitch("Maru.Runtime.UseNativeCompiler", false);
var warm = Array.IndexOf(args, "--warm") is var w and >= 0 ? int.Parse(args[w + 1], CultureInfo.InvariantCulture) : 0;

var cpu = Environment.CpuUsage.TotalTime;
var first = SourceToCall();
var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
// Which compiler ran: the package's native library is in runtimes/<rid>/native/ when it carries one.
var runtimes = Path.Combine(AppContext.BaseDirectory, "runtimes");
var compiler = !managed && Directory.Exists(runtimes) && Directory.EnumerateFiles(runtimes, "Maru.Compiler.Native.*", SearchOption.AllDirectories).Any() ? "native" : "managed";
if (warm == 0)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{first:F1} {cpuMs:F1} {compiler}"));
    return 0;
}
var clock = Stopwatch.StartNew();
for (var i = 0; i < 50 || clock.ElapsedMilliseconds < 1000; i++) SourceToCall();
var times = Enumerable.Range(0, warm).Select(_ => SourceToCall()).Order().ToArray();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{times[times.Length / 2]:F1} {times[0]:F1} {compiler}"));
return 0;

static unsafe double SourceToCall()
{
    const string source = "(define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))";
    var start = Stopwatch.GetTimestamp();
    var module = MaruModule.Compile(source);
    var result = ((delegate* unmanaged<long, long>)module.GetFunctionPointer("fib-iter"))(50);
    var elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    module.Dispose();
    return result == 12586269025 ? elapsed : throw new InvalidOperationException($"fib-iter(50) returned {result}");
}
