using System.Diagnostics;
using System.Globalization;
using Maru.Differential;

// dotnet run -c Release --project tests/Maru.Differential -- [--count N] [--seed S] [--jobs J] [--max-failures M] [--print] [--verbose] [--arm64]
// Checks programs S, S+1, ..., S+N-1 (see docs/testing.md). Exit code 0 when every program agreed.
// --arm64: compiles them for linux-arm64 instead and runs them under qemu-aarch64, 1,000 per qemu process.
var count = 10_000L;
var seed = 1;
var jobs = Environment.ProcessorCount;
var maxFailures = 10;
var print = false;
var verbose = false;
var arm64 = false;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--count": count = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--jobs": jobs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--max-failures": maxFailures = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--print": print = true; break;
        case "--verbose": verbose = true; break;
        case "--arm64": arm64 = true; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}\nusage: Maru.Differential [--count N] [--seed S] [--jobs J] [--max-failures M] [--print] [--verbose] [--arm64]");
            return 2;
    }
}
if ((long)seed + count - 1 > int.MaxValue)
{
    Console.Error.WriteLine("--seed plus --count must stay below 2^31");
    return 2;
}

if (print)
{
    // The programs themselves, and what the interpreter evaluates, without running anything.
    for (var s = seed; s < seed + count; s++)
    {
        var program = ProgramGenerator.Generate(s);
        Console.WriteLine(program.Interpretable ? DifferentialCheck.InterpreterSource(program) : program.Source);
    }
    return 0;
}

if (arm64)
{
    if (!QemuArm64.Available)
    {
        Console.Error.WriteLine(QemuArm64.Missing);
        return 2;
    }
    var arm64Work = Directory.CreateTempSubdirectory("maru-differential-arm64-").FullName;
    var arm64Clock = Stopwatch.StartNew();
    var arm64Failures = 0;
    try
    {
        for (var start = (long)seed; start < seed + count && arm64Failures < maxFailures; start += 1000)
        {
            var size = (int)Math.Min(1000, seed + count - start);
            var programs = Enumerable.Range((int)start, size).Select(ProgramGenerator.Generate).ToList();
            var reports = Arm64Check.CheckBatch(programs, arm64Work, jobs);
            foreach (var report in reports.Take(maxFailures - arm64Failures)) Console.WriteLine(report);
            arm64Failures += reports.Count;
            foreach (var file in Directory.GetFiles(arm64Work)) File.Delete(file);
            Console.WriteLine($"{start + size - seed} programs on linux-arm64, {arm64Failures} failed, {(start + size - seed) / arm64Clock.Elapsed.TotalSeconds:F0}/s");
        }
    }
    finally
    {
        try { Directory.Delete(arm64Work, recursive: true); } catch (IOException) { }
    }
    return arm64Failures == 0 ? 0 : 1;
}

var work = Directory.CreateTempSubdirectory("maru-differential-").FullName;
var done = 0L;
var failures = 0;
var clock = Stopwatch.StartNew();
var gate = new object();
using var stop = new CancellationTokenSource();
try
{
    Parallel.For(0L, count, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = stop.Token }, index =>
    {
        var s = (int)(seed + index);
        if (verbose) lock (gate) Console.WriteLine($"program {s}");
        var report = DifferentialCheck.Check(ProgramGenerator.Generate(s), work);
        var finished = Interlocked.Increment(ref done);
        lock (gate)
        {
            if (report is not null)
            {
                Console.WriteLine(report);
                if (++failures >= maxFailures) stop.Cancel();
            }
            if (finished % 1000 == 0)
                Console.WriteLine($"{finished} programs, {failures} failed, {finished / clock.Elapsed.TotalSeconds:F0}/s");
        }
    });
}
catch (OperationCanceledException)
{
    Console.WriteLine($"stopped after {maxFailures} failures");
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}
Console.WriteLine($"{done} programs from seed {seed} in {clock.Elapsed.TotalSeconds:F1} s: {failures} failed");
return failures == 0 ? 0 : 1;
