using System.Diagnostics;
using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Fuzz;

/// <summary>
/// The invariant every fuzz input must keep: the compiler returns (no exception, no crash, within
/// the budget), reports no internal error (MARU0001), and either produces a library or refuses the
/// input with at least one located error and no library. Accepted libraries are kept for
/// <see cref="LintAndLoad"/> (eu-elflint --strict, then dlopen), which runs them in batches.
/// </summary>
public static class FuzzCheck
{
    /// <summary>A budget far below the defaults, so a hostile input costs the fuzzer little.</summary>
    public static CompilationOptions Options(OptimisationLevel level) => new()
    {
        Target = TargetPlatform.LinuxX64,
        LibraryName = "fuzz",
        Optimisation = level,
        MaxEvaluationSteps = 2_000_000,
        MaxEvaluationMemory = 64L << 20,
        MaxCompilationTime = TimeSpan.FromSeconds(30),
    };

    /// <summary>The corpus the mutation strategy starts from: the conformance programs copied beside the fuzzer.</summary>
    public static IReadOnlyList<string> Corpus()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Seeds");
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.l").Order(StringComparer.Ordinal).Select(File.ReadAllText).ToList()
            : [];
    }

    /// <summary>Compiles one input; a failure report, or null. An accepted library is written into <paramref name="libraries"/> and its path returned in <paramref name="library"/>.</summary>
    public static string? Check(FuzzInput input, string libraries, out string? library)
    {
        library = null;
        var level = input.Seed % 2 == 0 ? OptimisationLevel.O1 : OptimisationLevel.O0;
        CompilationResult result;
        var clock = Stopwatch.StartNew();
        try
        {
            result = MaruCompiler.Compile([new SourceFile("fuzz.l", input.Source)], Options(level));
        }
        catch (Exception exception)
        {
            return Report(input, $"the compiler threw {exception.GetType().Name}: {exception.Message}");
        }
        if (clock.Elapsed > TimeSpan.FromSeconds(45))
            return Report(input, $"took {clock.Elapsed.TotalSeconds:F0} s, beyond the 30 s budget");
        var internalErrors = result.Diagnostics.Where(d => d.Code == DiagnosticCode.InternalError).ToList();
        if (internalErrors.Count > 0)
            return Report(input, "internal error: " + string.Join("\n", internalErrors));
        if (!result.Success)
        {
            if (result.Library is not null) return Report(input, "a failed compilation returned a library");
            var errors = result.Diagnostics.Where(d => d.IsError).ToList();
            if (errors.Count == 0) return Report(input, "a failed compilation reported no error");
            if (!errors.Any(e => !e.Location.IsNone) && !errors.Any(e => e.Code == DiagnosticCode.CompilationTimeLimitExceeded))
                return Report(input, "no error is located: " + string.Join("\n", errors));
            return null;
        }
        library = Path.Combine(libraries, $"lib{input.Seed}.so");
        File.WriteAllBytes(library, result.Library!);
        return null;
    }

    /// <summary>eu-elflint --strict over a batch of accepted libraries (one process), then each is loaded and unloaded. Failure reports.</summary>
    public static List<string> LintAndLoad(IReadOnlyList<string> libraries)
    {
        var failures = new List<string>();
        if (libraries.Count == 0) return failures;
        if (HasElfLint())
        {
            var lint = ExternalTool.Run("eu-elflint", ["--strict", "--quiet", .. libraries]);
            var output = lint.Output;
            // With several files it names each ("path:") even when it has nothing to say about it.
            var headers = libraries.Select(library => library + ":").ToHashSet(StringComparer.Ordinal);
            var findings = output.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0 && !headers.Contains(line)).ToList();
            if (lint.ExitCode != 0 || findings.Count > 0)
                failures.Add($"eu-elflint --strict rejects accepted libraries:\n{output}");
        }
        foreach (var library in libraries)
        {
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(library));
            }
            catch (Exception exception) when (exception is DllNotFoundException or BadImageFormatException)
            {
                failures.Add($"{library} does not load: {exception.Message}");
            }
        }
        return failures;
    }

    private static bool? s_hasElfLint;

    public static bool HasElfLint() => s_hasElfLint ??= ExternalTool.Exists("eu-elflint");

    private static string Report(FuzzInput input, string problem) =>
        $"--- fuzz input {input.Seed} ({input.Strategy}): {problem}\n{Visible(input.Source)}\n---";

    /// <summary>The source with control characters shown, so a report can be copied into a test.</summary>
    private static string Visible(string source)
    {
        var text = source.Length > 4000 ? source[..4000] + "..." : source;
        return string.Concat(text.Select(c => c is '\n' or '\t' || c >= ' ' ? c.ToString() : $"\\x{(int)c:x2}"));
    }
}
