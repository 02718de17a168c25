using System.Reflection;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.Conformance;
using Maru.Compiler.Tests.TestSupport;
using Maru.Differential;

namespace Maru.Compiler.Tests.Arm64;

/// <summary>
/// The whole conformance suite compiled for linux-arm64 at O0 and O1 and executed under
/// qemu-aarch64: every <c>call:</c> and <c>output:</c> expectation (the same ones linux-x64
/// meets natively in <see cref="ConformanceTests"/>) must hold. All programs run in one qemu
/// batch, made once for the class; each program is then one test case reading its results.
/// Every library is also checked by eu-elflint --strict. A third build at O1 takes every branch
/// and call in its far form (<see cref="CompilationOptions.BranchReachForTesting"/> = 0: inverted
/// conditional branches over adrp/add/br, bl as adrp/add/blr through x16), so the sequences that
/// code beyond ±1 MiB and ±128 MiB needs run on every program.
/// </summary>
[TestClass]
public sealed class Arm64ConformanceTests
{
    private static readonly Dictionary<string, List<string>> s_failures = new(StringComparer.Ordinal);
    private static string? s_work;

    public static IEnumerable<object[]> Programs => ConformanceProgram.Names().Select(name => new object[] { name });

    public static string DisplayName(MethodInfo method, object[] data) => (string)data[0];

    [ClassInitialize]
    public static void RunTheSuiteUnderQemu(TestContext context)
    {
        if (!QemuArm64.Available) return;
        s_work = Directory.CreateTempSubdirectory("maru-arm64-conformance-").FullName;
        var calls = new List<QemuCall>();
        var expectations = new List<(string Program, string What, long? Value, string? Output)>();
        foreach (var name in ConformanceProgram.Names())
        {
            var program = ConformanceProgram.Load(name);
            s_failures[name] = [];
            foreach (var (level, far) in new[] { (OptimisationLevel.O0, false), (OptimisationLevel.O1, false), (OptimisationLevel.O1, true) })
            {
                var options = CompiledLibrary.OptionsAt(level);
                var result = MaruCompiler.Compile(program.Sources, new CompilationOptions
                {
                    Target = TargetPlatform.LinuxArm64, LibraryName = options.LibraryName, Optimisation = level, VerifyIr = true,
                    BranchReachForTesting = far ? 0 : null,
                });
                var variant = far ? $"{level}-far" : $"{level}";
                if (!result.Success)
                {
                    s_failures[name].Add($"[{variant}] compilation failed:\n  " + string.Join("\n  ", result.Diagnostics));
                    continue;
                }
                var library = Path.Combine(s_work, $"lib{name}-{variant}.so");
                File.WriteAllBytes(library, result.Library!);
                foreach (var call in program.Calls)
                {
                    calls.Add(new QemuCall(library, call.Function, call.Arguments));
                    expectations.Add((name, $"[{variant}] {call.Text}", call.Result, null));
                }
                if (program.Output is not null)
                {
                    calls.Add(new QemuCall(library, program.OutputCall!.Function, program.OutputCall.Arguments));
                    expectations.Add((name, $"[{variant}] output of {program.OutputCall.Text}", null, program.Output));
                }
            }
        }
        var results = QemuArm64.Run(calls);
        for (var i = 0; i < calls.Count; i++)
        {
            var (program, what, value, output) = expectations[i];
            var actual = results[i];
            if (actual.Error is not null)
                s_failures[program].Add($"{what}: {actual.Error}");
            else if (value is not null && actual.Value != value)
                s_failures[program].Add($"{what}: expected {value}, actual {actual.Value}");
            else if (output is not null && actual.Output != output)
                s_failures[program].Add($"{what}:\n--- expected\n{output}--- actual\n{actual.Output}---");
        }
    }

    [ClassCleanup]
    public static void DeleteLibraries()
    {
        if (s_work is not null) Directory.Delete(s_work, recursive: true);
    }

    [TestMethod]
    [DynamicData(nameof(Programs), DynamicDataDisplayName = nameof(DisplayName))]
    public void ProgramRunsUnderQemu(string name)
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var failures = s_failures[name];
        if (failures.Count > 0) Assert.Fail($"{name} on linux-arm64: {failures.Count} expectation(s) failed\n" + string.Join("\n", failures));
    }

    [TestMethod]
    public void LibrariesPassElfLint()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        foreach (var library in Directory.GetFiles(s_work!, "lib*-O1.so").Order(StringComparer.Ordinal).Take(12))
            ElfLint.AssertStrictlyValid(library);
    }
}
