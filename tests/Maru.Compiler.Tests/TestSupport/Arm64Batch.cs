using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Tests.Shared;
using Maru.Differential;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>One call of an arm64 batch and the result the test expects from it.</summary>
internal readonly record struct Arm64Case(string Function, long[] Arguments, long Expected);

/// <summary>
/// The arm64 check the optimiser and backend tests share: one source compiled for linux-arm64
/// at each level (IR verified), every call of every level run in one qemu-aarch64 batch (qemu's
/// start-up is the cost), and each result compared with what the test expects. The expectation
/// is usually the same call on an x86-64 build of the same source (<see cref="AssertSameAsX64"/>),
/// so one source is checked on both ISAs by one reference.
/// </summary>
internal static class Arm64Batch
{
    private static readonly OptimisationLevel[] BothLevels = [OptimisationLevel.O0, OptimisationLevel.O1];

    /// <summary>The calls (the same at O0 and O1) must give what the x86-64 build at O0 gives.</summary>
    public static void AssertSameAsX64(string source, IEnumerable<(string Function, long[] Arguments)> calls)
    {
        var list = calls.ToList();
        AssertSameAsX64(source, _ => list);
    }

    /// <summary>Each level's calls must give what the x86-64 build at O0 gives.</summary>
    public static void AssertSameAsX64(string source, Func<OptimisationLevel, IEnumerable<(string Function, long[] Arguments)>> callsAt)
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        using var reference = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        AssertCalls(source, level => callsAt(level).Select(c => new Arm64Case(c.Function, c.Arguments, reference.Call(c.Function, c.Arguments))));
    }

    /// <summary>The same cases at O0 and O1.</summary>
    public static void AssertCalls(string source, IReadOnlyList<Arm64Case> cases) => AssertCalls(source, _ => cases);

    /// <summary>Each level's cases (a level may run more, or fewer, of them).</summary>
    public static void AssertCalls(string source, Func<OptimisationLevel, IEnumerable<Arm64Case>> casesAt, params OptimisationLevel[] levels)
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        if (levels.Length == 0) levels = BothLevels;
        var work = Directory.CreateTempSubdirectory("maru-arm64-").FullName;
        try
        {
            var calls = new List<QemuCall>();
            var expected = new List<long>();
            foreach (var level in levels)
            {
                var result = MaruCompiler.Compile([new SourceFile("test.l", source)],
                    new CompilationOptions { Target = TargetPlatform.LinuxArm64, LibraryName = "test", Optimisation = level, VerifyIr = true, MaxCompilationTime = CompiledLibrary.TimeLimit });
                Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                var library = Path.Combine(work, $"libtest-{level}.so");
                File.WriteAllBytes(library, result.Library!);
                foreach (var c in casesAt(level))
                {
                    calls.Add(new QemuCall(library, c.Function, c.Arguments));
                    expected.Add(c.Expected);
                }
            }
            var results = QemuArm64.Run(calls);
            for (var i = 0; i < calls.Count; i++)
                Assert.AreEqual(expected[i], results[i].Value,
                    $"{Path.GetFileName(calls[i].Library)} ({calls[i].Function} {string.Join(" ", calls[i].Arguments)}): {results[i].Error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
