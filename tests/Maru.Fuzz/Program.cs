using System.CommandLine;
using System.Diagnostics;
using Maru.Tests.Shared;
using Maru.Fuzz;

// dotnet run -c Release --project tests/Maru.Fuzz -- [--count N] [--seed S] [--jobs J] [--max-failures M] [--print] (--help lists them)
// Checks inputs S .. S+N-1 (see docs/testing.md). Exit code 0 when every input kept the invariant.
var root = new RootCommand("The structured fuzzer: every input must compile or be refused with located errors, and every accepted library must pass eu-elflint and load (docs/testing.md).");
var batch = new BatchOptions(root);
root.SetAction(parse => Run(batch.Read(parse)));
return root.Parse(args).Invoke();

static int Run(BatchRun run)
{
    var (count, seed, jobs, maxFailures, print) = run;
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
}
