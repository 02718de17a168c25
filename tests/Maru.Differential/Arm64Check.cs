using System.Collections.Concurrent;
using System.Globalization;
using Maru.Compiler;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Differential;

/// <summary>
/// The differential check on linux-arm64: generated programs compiled for AArch64 at O0 and O1,
/// all run in one qemu-aarch64 process (<see cref="QemuArm64"/>), against the compile-time
/// interpreter (for portable programs) or x86-64 O1 run natively (for programs that use native
/// memory, which the interpreter cannot run; <see cref="DifferentialCheck"/> ties x86-64 to the
/// interpreter on the same seeds).
/// </summary>
public static class Arm64Check
{
    /// <summary>Reports of the programs whose arm64 results differ from the reference (empty when all agree).</summary>
    public static IReadOnlyList<string> CheckBatch(IReadOnlyList<GeneratedProgram> programs, string workDirectory, int jobs = 0)
    {
        var references = new string[programs.Count][];
        var libraries = new ConcurrentDictionary<(int, OptimisationLevel), string>();
        var compileFailures = new ConcurrentBag<string>();
        Parallel.For(0, programs.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs > 0 ? jobs : Environment.ProcessorCount }, i =>
        {
            var program = programs[i];
            references[i] = program.Interpretable
                ? DifferentialCheck.RunInInterpreter(program)
                : DifferentialCheck.RunNatively(program, OptimisationLevel.O1, workDirectory);
            foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
            {
                var result = MaruCompiler.Compile([new SourceFile($"differential-{program.Seed}.l", program.Source)], new CompilationOptions
                {
                    Target = TargetPlatform.LinuxArm64, LibraryName = "differential", Optimisation = level, VerifyIr = true,
                });
                if (!result.Success)
                {
                    compileFailures.Add($"program {program.Seed} [{level}] arm64 compilation failed: " + string.Join(" | ", result.Diagnostics));
                    continue;
                }
                var path = Path.Combine(workDirectory, $"libdifferential-arm64-{program.Seed}-{level}.so");
                File.WriteAllBytes(path, result.Library!);
                libraries[(i, level)] = path;
            }
        });

        var calls = new List<QemuCall>();
        var expected = new List<(int Program, OptimisationLevel Level, int Input)>();
        for (var i = 0; i < programs.Count; i++)
            foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
            {
                if (!libraries.TryGetValue((i, level), out var library)) continue;
                var program = programs[i];
                if (program.UsesMemory) Add(library, "setup", [], (i, level, -1));
                for (var input = 0; input < program.Inputs.Count; input++) Add(library, "run", program.Inputs[input], (i, level, input));
                if (program.UsesMemory) Add(library, "teardown", [], (i, level, -1));
            }
        void Add(string library, string function, long[] arguments, (int, OptimisationLevel, int) what)
        {
            calls.Add(new QemuCall(library, function, arguments));
            expected.Add(what);
        }

        var results = QemuArm64.Run(calls, TimeSpan.FromMinutes(10));
        var reports = new SortedDictionary<int, List<string>>();
        for (var c = 0; c < calls.Count; c++)
        {
            var (i, level, input) = expected[c];
            var actual = results[c];
            var program = programs[i];
            string? problem = null;
            if (actual.Error is not null) problem = actual.Error;
            else if (input >= 0 && actual.Value!.Value.ToString(CultureInfo.InvariantCulture) != references[i][input])
                problem = $"{GeneratedProgram.Call(program.Inputs[input])}: reference {references[i][input]}, arm64 {actual.Value}";
            if (problem is null) continue;
            if (!reports.TryGetValue(program.Seed, out var list)) reports[program.Seed] = list = [];
            list.Add($"[arm64 {level}] {problem}");
        }
        var output = compileFailures.Order(StringComparer.Ordinal).ToList();
        foreach (var (seed, problems) in reports)
            output.Add($"program {seed} disagrees on linux-arm64:\n  {string.Join("\n  ", problems)}\n{programs.First(p => p.Seed == seed).Source}");
        return output;
    }
}
