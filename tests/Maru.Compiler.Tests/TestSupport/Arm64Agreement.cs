using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using QemuArm64 = Maru.Differential.QemuArm64;
using QemuCall = Maru.Differential.QemuCall;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// The arm64 half of an optimiser test: the source compiled for linux-arm64 at O0 and O1, every
/// call run in one qemu-aarch64 batch, each result compared with the same call of the x86-64 O0
/// library run natively (the reference that shares no optimiser or AArch64 code with what it checks).
/// </summary>
internal static class Arm64Agreement
{
    public static void AssertAgreesWithX64O0(string source, IEnumerable<(string Function, long[] Arguments)> calls, string name = "agree")
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var list = calls.ToList();
        var work = Directory.CreateTempSubdirectory($"maru-arm64-{name}-").FullName;
        try
        {
            using var reference = CompiledLibrary.Compile(source, OptimisationLevel.O0);
            var expected = list.Select(c => reference.Call(c.Function, c.Arguments)).ToList();
            var batch = new List<QemuCall>();
            foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
            {
                var result = MaruCompiler.Compile([new SourceFile($"{name}.l", source)],
                    new CompilationOptions { Target = TargetPlatform.LinuxArm64, LibraryName = name, Optimisation = level, VerifyIr = true });
                Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                var library = Path.Combine(work, $"lib{name}-{level}.so");
                File.WriteAllBytes(library, result.Library!);
                batch.AddRange(list.Select(c => new QemuCall(library, c.Function, c.Arguments)));
            }
            var results = QemuArm64.Run(batch);
            for (var i = 0; i < batch.Count; i++)
                Assert.AreEqual(expected[i % list.Count], results[i].Value,
                    $"{Path.GetFileName(batch[i].Library)} ({batch[i].Function} {string.Join(" ", batch[i].Arguments)}): {results[i].Error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
