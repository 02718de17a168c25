// build/bench.sh's consumer of the packed Maru.Runtime (docs/performance.md, run-time compilation).
// Default: one first compilation in a fresh process, source text to the first call's result,
// printed as "µs cpu-ms compiler" (the process's CPU time for it, and which compiler ran).
// --warm N: fib-iter and the recursive fib, N timings each in alternation after two seconds of
// warm-up, printed as "median-µs min-µs compiler", one line per function (fib-iter first).
// --managed turns the package's native compiler off (the AppContext switch a user would set).
using System.Diagnostics;
using System.Globalization;
using Maru.Runtime;

var managed = args.Contains("--managed");
if (managed) AppContext.SetSwitch("Maru.Runtime.UseNativeCompiler", false);
var warm = Array.IndexOf(args, "--warm") is var w and >= 0 ? int.Parse(args[w + 1], CultureInfo.InvariantCulture) : 0;

(string Name, string Source, long Argument, long Expected)[] functions =
[
    ("fib-iter", "(define-function fib-iter (n) (let ((a 0) (b 1)) (while (> n 0) (let ((t (+ a b))) (set a b) (set b t)) (set n (- n 1))) a))", 50, 12586269025),
    ("fib", "(define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))", 10, 55),
];
var cpu = Environment.CpuUsage.TotalTime;
var first = SourceToCall(functions[0]);
var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
// Which compiler ran: the package's native library is in runtimes/<rid>/native/ when it carries one.
var runtimes = Path.Combine(AppContext.BaseDirectory, "runtimes");
var compiler = !managed && Directory.Exists(runtimes) && Directory.EnumerateFiles(runtimes, "Maru.Compiler.Native.*", SearchOption.AllDirectories).Any() ? "native" : "managed";
if (warm == 0)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{first:F1} {cpuMs:F1} {compiler}"));
    return 0;
}
// In alternation after two seconds of warm-up (Interleaving, linked from tests/Maru.Benchmarks).
var times = Maru.Benchmarks.Interleaving.Time(functions.Length, warm, TimeSpan.FromSeconds(2), k => SourceToCall(functions[k]));
foreach (var list in times)
{
    list.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{list[list.Count / 2]:F1} {list[0]:F1} {compiler}"));
}
return 0;

static unsafe double SourceToCall((string Name, string Source, long Argument, long Expected) function)
{
    var start = Stopwatch.GetTimestamp();
    var module = MaruModule.Compile(function.Source);
    var result = ((delegate* unmanaged<long, long>)module.GetFunctionPointer(function.Name))(function.Argument);
    var elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    module.Dispose();
    return result == function.Expected ? elapsed : throw new InvalidOperationException($"{function.Name}({function.Argument}) returned {result}");
}
