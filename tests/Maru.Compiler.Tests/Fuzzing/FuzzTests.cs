using System.Collections.Concurrent;
using Maru.Fuzz;

namespace Maru.Compiler.Tests.Fuzzing;

/// <summary>
/// The fuzzer's CI batch: inputs from tests/Maru.Fuzz (random bytes, token soup, balanced forms
/// from the Maru vocabulary, mutations of the conformance programs) must each compile or be
/// refused with located errors, within the budget, never with an internal error or a crash;
/// every library accepted passes eu-elflint --strict and loads. Fixed seeds, so a failure
/// reproduces with <c>dotnet run --project tests/Maru.Fuzz -- --seed S --count 1</c>; long runs: docs/testing.md.
/// </summary>
[TestClass]
public sealed class FuzzTests
{
    private const int FirstSeed = 1;
    private const int Batches = 8;
    private const int BatchSize = 250;

    public static IEnumerable<object[]> BatchNumbers => Enumerable.Range(0, Batches).Select(b => new object[] { b });

    [TestMethod]
    [DynamicData(nameof(BatchNumbers))]
    public void InputsCompileOrAreRefusedWithLocatedErrors(int batch)
    {
        var corpus = FuzzCheck.Corpus();
        Assert.IsNotEmpty(corpus, "the conformance programs are copied beside the fuzzer as its seeds");
        var work = Directory.CreateTempSubdirectory("maru-fuzz-").FullName;
        var failures = new ConcurrentBag<string>();
        var libraries = new ConcurrentBag<string>();
        try
        {
            var first = FirstSeed + batch * BatchSize;
            Parallel.For(first, first + BatchSize, seed =>
            {
                if (FuzzCheck.Check(FuzzInput.Generate(seed, corpus), work, out var library) is { } report) failures.Add(report);
                if (library is not null) libraries.Add(library);
            });
            foreach (var report in FuzzCheck.LintAndLoad(libraries.Order(StringComparer.Ordinal).ToList())) failures.Add(report);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.IsGreaterThan(0, libraries.Count, "some inputs are accepted, so the library checks run");
    }
}
