using System.Diagnostics;
using System.Globalization;
using Maru.Compiler;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Benchmarks;

/// <summary>
/// The arm64 table, a qemu proxy: every program compiled by Maru.Sdk for linux-arm64 (O1) and by
/// aarch64-linux-gnu-gcc -O2, both run under qemu-aarch64 by the same small loader, which times
/// bench(n) inside the emulated process (clock_gettime around each call). qemu translates
/// AArch64 to x86-64, so the ratios say how the two instruction streams compare after
/// translation, not what an arm64 machine would measure. n is about a tenth of the native table's work.
/// </summary>
internal static class Arm64Table
{
    private const string LoaderSource = """
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        /* usage: loader LIB N RUNS: one warm-up call, then RUNS timed calls; prints "result ms ms ..." */
        int main(int argc, char **argv) {
          if (argc != 4) return 2;
          void *lib = dlopen(argv[1], RTLD_NOW);
          if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
          long (*bench)(long) = (long (*)(long))dlsym(lib, "bench");
          if (!bench) { fprintf(stderr, "no bench in %s\n", argv[1]); return 1; }
          long n = atol(argv[2]); int runs = atoi(argv[3]);
          long result = bench(n);
          printf("%ld", result);
          for (int i = 0; i < runs; i++) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            long r = bench(n);
            clock_gettime(CLOCK_MONOTONIC, &b);
            if (r != result) { fprintf(stderr, "bench(%ld) changed its result\n", n); return 1; }
            printf(" %.3f", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
          }
          printf("\n");
          return 0;
        }
        """;

    public static bool Available =>
        TryFind("qemu-aarch64") is not null && TryFind("aarch64-linux-gnu-gcc") is not null;

    private static string? TryFind(string tool)
    {
        try { return Toolchain.Find(tool); }
        catch (BenchmarkFailure) { return null; }
    }

    public static void Run(IReadOnlyList<BenchmarkProgram> programs, Options options)
    {
        var directory = Path.Combine(options.OutputDirectory, "arm64");
        Directory.CreateDirectory(directory);
        var gcc = Toolchain.Find("aarch64-linux-gnu-gcc");
        var qemu = Toolchain.Find("qemu-aarch64");
        var loaderSource = Path.Combine(directory, "loader.c");
        File.WriteAllText(loaderSource, LoaderSource);
        var loader = Path.Combine(directory, "loader");
        Toolchain.Run(gcc, "-O2", "-o", loader, loaderSource, "-ldl");

        var rows = new List<(string Name, long N, double Maru, double Gcc, string Result)>();
        foreach (var program in programs)
        {
            Console.Error.WriteLine($"[{program.Name}] arm64: building and timing under qemu");
            var maru = Path.Combine(directory, $"lib{program.Name}-maru.so");
            var result = MaruCompiler.Compile([SourceFile.Load(VariantBuilder.MaruSource(program))],
                new CompilationOptions { Target = TargetPlatform.LinuxArm64, LibraryName = program.Name, Optimisation = OptimisationLevel.O1 });
            if (!result.Success) throw new BenchmarkFailure($"Maru.Sdk failed to compile {program.Name} for linux-arm64:\n{string.Join('\n', result.Diagnostics)}");
            File.WriteAllBytes(maru, result.Library!);
            var gccLibrary = Path.Combine(directory, $"lib{program.Name}-gcc-O2.so");
            Toolchain.Run(gcc, "-O2", "-shared", "-fPIC", "-o", gccLibrary, VariantBuilder.CSource(program));

            var n = ArmN(program);
            var (maruResult, maruMs) = Time(qemu, loader, maru, n, options.Runs);
            var (gccResult, gccMs) = Time(qemu, loader, gccLibrary, n, options.Runs);
            if (maruResult != gccResult)
                throw new BenchmarkFailure($"RESULT MISMATCH in {program.Name} on arm64: maru {maruResult}, gcc -O2 {gccResult}");
            Console.Error.WriteLine($"[{program.Name}] arm64 maru {maruMs,9:F1} ms  gcc-O2 {gccMs,9:F1} ms  (result {maruResult})");
            rows.Add((program.Name, n, maruMs, gccMs, maruResult));
        }

        Console.WriteLine();
        Console.WriteLine($"## linux-arm64 under qemu-aarch64 (a qemu proxy, not an arm64 machine): run time, ms (median of {options.Runs})");
        Console.WriteLine();
        Console.WriteLine("| program | n | maru-arm64 | gcc-O2-arm64 | maru/gcc-O2 | result |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var row in rows)
            Console.WriteLine($"| {row.Name} | {row.N} | {row.Maru:F1} | {row.Gcc:F1} | {row.Maru / row.Gcc:F2}x | {row.Result} |");
        Console.WriteLine();
        if (rows.Count > 0)
        {
            var geomean = Math.Exp(rows.Average(r => Math.Log(r.Maru / r.Gcc)));
            Console.WriteLine($"geometric mean maru/gcc-O2 on arm64 (qemu): {geomean:F2}x   (goal: <= 1.30x, none above 2.00x; worst: {rows.Max(r => r.Maru / r.Gcc):F2}x)");
        }
    }

    /// <summary>About a tenth of the native table's work: qemu is several times slower than the host
    /// (the exponential recursions step n down; the lexer scans whole 1 MiB buffers).</summary>
    private static long ArmN(BenchmarkProgram program) => program.Name switch
    {
        "fib" => program.N - 5,
        "trib" => program.N - 4,
        "lexer" => 1 << 20,
        _ => Math.Max(1, program.N / 10),
    };

    /// <summary>Median of the timed runs, as measured inside the emulated process.</summary>
    private static (string Result, double MedianMs) Time(string qemu, string loader, string library, long n, int runs)
    {
        var start = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-L", "/usr/aarch64-linux-gnu", loader, library, n.ToString(CultureInfo.InvariantCulture), runs.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new BenchmarkFailure($"{library} under qemu exited with {process.ExitCode}: {stderr.Result}");
        var fields = stdout.Result.Trim().Split(' ');
        var times = fields.Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).Order().ToList();
        return (fields[0], times[times.Count / 2]);
    }
}
