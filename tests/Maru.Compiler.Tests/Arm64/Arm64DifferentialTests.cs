using Maru.Differential;

namespace Maru.Compiler.Tests.Arm64;

/// <summary>
/// The differential random programs on linux-arm64: the same 1,000 seeds as
/// <see cref="Differential.DifferentialTests"/>, compiled for AArch64 at O0 and O1 and run under
/// qemu (one process per batch) against the compile-time interpreter (x86-64 O1 for programs the
/// interpreter cannot run). Millions: <c>dotnet run --project tests/Maru.Differential -- --arm64</c>.
/// </summary>
[TestClass]
public sealed class Arm64DifferentialTests
{
    private const int FirstSeed = 1;
    private const int Batches = 2;
    private const int BatchSize = 500;

    public static IEnumerable<object[]> BatchNumbers => Enumerable.Range(0, Batches).Select(b => new object[] { b });

    [TestMethod]
    [DynamicData(nameof(BatchNumbers))]
    public void ProgramsAgreeWithTheReferenceUnderQemu(int batch)
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var work = Directory.CreateTempSubdirectory("maru-differential-arm64-").FullName;
        try
        {
            var first = FirstSeed + batch * BatchSize;
            var programs = Enumerable.Range(first, BatchSize).Select(ProgramGenerator.Generate).ToList();
            var reports = Arm64Check.CheckBatch(programs, work);
            if (reports.Count > 0)
                Assert.Fail($"{reports.Count} of {BatchSize} programs disagree on linux-arm64:\n\n" + string.Join("\n", reports.Take(10)));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
