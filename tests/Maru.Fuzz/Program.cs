using System.Diagnostics;
using System.Globalization;
using Maru.Fuzz;

// dotnet run -c Release --project tests/Maru.Fuzz -- [--count N] [--seed S] [--jobs J] [--max-failures M] [--print]
// Checks inputs S .. S+N-1 (see docs/testing.md). Exit code 0 when every input kept the invariant.
var count = 10_000L;
var seed = 1;
var jobs = Environment.ProcessorCount;
var maxFailures = 10;
var print = false;
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
        default:
            Console.Error.WriteLine($"unknown option {args[i]}\nusage: Maru.Fuzz [--count N] [--seed S] [--jobs J] [--max-failures M] [--print]");
            return 2;
    }
}
if ((long)seed + count - 1 > int.MaxValue)
{
    Console.Error.WriteLine("--seed plus --count must stay below 2^31");
    return 2;
}

var corpus = FuzzCheck.Corpus();
if (print)
{
    for (var s = seed; s < seed + count; s++) Console.WriteLine($";; input {s}\n{FuzzInput.Generate(s, corpus).Source}");
    return 0;
}

var work = Directory.CreateTempSubdirectory("maru-fuzz-").FullName;
var done = 0L;
var accepted = 0L;
var failures = 0;
var clock = Stopwatch.StartNew();
var gate = new object();
var pending = new List<string>();
using var stop = new CancellationTokenSource();

void Fail(string report)
{
    Console.WriteLine(report);
    if (++failures >= maxFailures) stop.Cancel();
}

void Flush()
{
    List<string> batch;
    lock (gate)
    {
        batch = [.. pending];
        pending.Clear();
    }
    var reports = FuzzCheck.LintAndLoad(batch);
    foreach (var library in batch) File.Delete(library);
    lock (gate) foreach (var report in reports) Fail(report);
}

try
{
    Parallel.For(0L, count, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = stop.Token }, index =>
    {
        var input = FuzzInput.Generate((int)(seed + index), corpus);
        var report = FuzzCheck.Check(input, work, out var library);
        var finished = Interlocked.Increment(ref done);
        var flush = false;
        lock (gate)
        {
            if (report is not null) Fail(report);
            if (library is not null)
            {
                accepted++;
                pending.Add(library);
                flush = pending.Count >= 200;
            }
            if (finished % 1000 == 0)
                Console.WriteLine($"{finished} inputs, {accepted} accepted, {failures} failed, {finished / clock.Elapsed.TotalSeconds:F0}/s");
        }
        if (flush) Flush();
    });
    Flush();
}
catch (OperationCanceledException)
{
    Console.WriteLine($"stopped after {maxFailures} failures");
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}
Console.WriteLine($"{done} inputs from seed {seed} in {clock.Elapsed.TotalSeconds:F1} s: {accepted} accepted, {failures} failed");
return failures == 0 ? 0 : 1;
