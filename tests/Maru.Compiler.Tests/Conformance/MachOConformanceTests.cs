using System.Reflection;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Conformance;

/// <summary>
/// The conformance suite on the macOS targets, without a Mac: every Programs/*.l is compiled at O0
/// and O1 to a Mach-O dylib and run in the test-side loader (TestSupport/MachOLoader): osx-x64
/// natively, osx-arm64 under qemu-aarch64 once that target is supported. Each program's
/// <c>call:</c> results and <c>output:</c> text must be the ones linux-x64 gives (the suite's
/// expectations). All programs of a target run in one batch: compiled first, then one loader
/// process loads and calls them all, so process start-ups do not dominate.
/// </summary>
[TestClass]
public sealed class MachOConformanceTests
{
    private sealed record Run(string Program, OptimisationLevel Level, string? CompileFailure, List<(ExpectedCall Call, MachOLoaderCommand Command)> Calls, MachOLoaderCommand? Output, MachOLoaderCommand? Load);

    private static readonly Dictionary<string, Lazy<List<Run>>> Batches = TargetPlatform.Known
        .Where(t => t.ObjectFormat == ObjectFormat.MachO)
        .ToDictionary(t => t.RuntimeIdentifier, t => new Lazy<List<Run>>(() => RunAll(t)));

    public static IEnumerable<object[]> Cases =>
        TargetPlatform.Known.Where(t => t.ObjectFormat == ObjectFormat.MachO)
            .SelectMany(t => ConformanceProgram.Names().Select(name => new object[] { t.RuntimeIdentifier, name }));

    public static string DisplayName(MethodInfo method, object[] data) => $"{data[0]} {data[1]}";

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(DisplayName))]
    public void Program(string rid, string name)
    {
        var target = TargetPlatform.Known.Single(t => t.RuntimeIdentifier == rid);
        if (!target.IsSupported) Assert.Inconclusive($"{rid} is not supported yet (its backend has not landed)");
        MachOLoader.RequireAvailable(target);
        var failures = new List<string>();
        foreach (var run in Batches[rid].Value.Where(r => r.Program == name))
        {
            var where = $"[{name} {rid} {run.Level}]";
            if (run.CompileFailure is not null)
            {
                failures.Add($"{where} compilation: {run.CompileFailure}");
                continue;
            }
            if (run.Load!.Answer != "loaded")
            {
                failures.Add($"{where} load: {run.Load.Answer}");
                continue;
            }
            foreach (var (call, command) in run.Calls)
                if (command.Result != call.Result)
                    failures.Add($"{where} {call.Text}: expected {call.Result}, actual {command.Answer}");
            if (run.Output is { } output && output.CapturedOutput != ConformanceProgram.Load(name).Output)
                failures.Add($"{where} output:\n--- expected\n{ConformanceProgram.Load(name).Output}--- actual ({output.Answer})\n{output.CapturedOutput}---");
        }
        if (failures.Count > 0)
            Assert.Fail(string.Join("\n", failures));
    }

    private static List<Run> RunAll(TargetPlatform target)
    {
        var directory = Directory.CreateTempSubdirectory($"maru-conformance-{target.RuntimeIdentifier}-").FullName;
        var runs = new List<Run>();
        var commands = new List<MachOLoaderCommand>();
        foreach (var name in ConformanceProgram.Names())
        {
            var program = ConformanceProgram.Load(name);
            foreach (var level in Enum.GetValues<OptimisationLevel>())
            {
                var options = new CompilationOptions { Target = target, LibraryName = "test", Optimisation = level, VerifyIr = true };
                var result = MaruCompiler.Compile(program.Sources, options);
                if (!result.Success)
                {
                    runs.Add(new Run(name, level, string.Join("\n  ", result.Diagnostics), [], null, null));
                    continue;
                }
                var path = Path.Combine(directory, $"{name}-{level}.dylib");
                File.WriteAllBytes(path, result.Library!);
                var load = MachOLoaderCommand.Load(path);
                var calls = program.Calls.Select(c => (c, MachOLoaderCommand.Call(MachOSymbol(c.Function), c.Arguments))).ToList();
                var output = program.Output is null ? null : MachOLoaderCommand.Output(MachOSymbol(program.OutputCall!.Function), program.OutputCall.Arguments);
                commands.Add(load);
                commands.AddRange(calls.Select(c => c.Item2));
                if (output is not null) commands.Add(output);
                runs.Add(new Run(name, level, null, calls, output, load));
            }
        }
        if (MachOLoader.Unavailable(target) is null && target.IsSupported)
            MachOLoader.Run(target, commands);
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        return runs;
    }

    private static string MachOSymbol(string maruName) => "_" + Maru.Compiler.Interop.SymbolNames.ToSymbolName(maruName);
}
