using System.CommandLine;
using System.Diagnostics;
using Maru.Tests.Shared;
using Maru.Differential;

// dotnet run -c Release --project tests/Maru.Differential -- [--count N] [--seed S] [--jobs J] [--max-failures M] [--print] [--verbose] [--arm64] (--help lists them)
// Checks programs S, S+1, ..., S+N-1 (see docs/testing.md). Exit code 0 when every program agreed.
// --arm64: compiles them for linux-arm64 instead and runs them under qemu-aarch64, 1,000 per qemu process.
var root = new RootCommand("The differential tester: random well-defined Maru programs run at O0, at O1 and in the compile-time interpreter must agree (docs/testing.md).");
var batch = new BatchOptions(root);
var verboseOption = new Option<bool>("--verbose") { Description = "Print each program's seed before checking it." };
var arm64Option = new Option<bool>("--arm64") { Description = "Compile for linux-arm64 and run under qemu-aarch64 instead." };
root.Options.Add(verboseOption);
root.Options.Add(arm64Option);
root.SetAction(parse => Run(batch.Read(parse), parse.GetValue(verboseOption), parse.GetValue(arm64Option)));
return root.Parse(args).Invoke();

static int Run(BatchRun run, bool verbose, bool arm64)
{
    var (count, seed, jobs, maxFailures, print) = run;
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
}
