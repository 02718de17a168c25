using System.Collections.Concurrent;
using Maru.Differential;

namespace Maru.Compiler.Tests.Differential;

/// <summary>
/// The differential random test: programs from tests/Maru.Differential's generator (loops, branches,
/// calls, recursion, globals and memory, well defined by construction) are compiled at O0 and at
/// O1 and, when portable, run in the compile-time interpreter; every world must give the same
/// result for every input. A failure prints each disagreeing program with its seed, its results and
/// a conformance-suite version ready to add. Millions more: see docs/testing.md.
/// </summary>
[TestClass]
public sealed class DifferentialTests
{
    /// <summary>Programs FirstSeed .. FirstSeed + Batches * BatchSize - 1 run on every test run.</summary>
    private const int FirstSeed = 1;
    private const int Batches = 8;
    private const int BatchSize = 125;

    public static IEnumerable<object[]> BatchNumbers => Enumerable.Range(0, Batches).Select(b => new object[] { b });

    [TestMethod]
    [DynamicData(nameof(BatchNumbers))]
    public void ProgramsAgreeAtO0AndO1AndInTheInterpreter(int batch)
    {
        var work = Directory.CreateTempSubdirectory("maru-differential-").FullName;
        var failures = new ConcurrentBag<string>();
        try
        {
            var first = FirstSeed + batch * BatchSize;
            Parallel.For(first, first + BatchSize, seed =>
            {
                if (DifferentialCheck.Check(ProgramGenerator.Generate(seed), work) is { } report) failures.Add(report);
            });
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        if (!failures.IsEmpty)
            Assert.Fail($"{failures.Count} of {BatchSize} programs disagree:\n\n" + string.Join("\n", failures.OrderBy(f => f, StringComparer.Ordinal)));
    }

    [TestMethod]
    public void TheSameSeedGivesTheSameProgram()
    {
        Assert.AreEqual(ProgramGenerator.Generate(42).Source, ProgramGenerator.Generate(42).Source);
        Assert.AreNotEqual(ProgramGenerator.Generate(42).Source, ProgramGenerator.Generate(43).Source);
    }

    [TestMethod]
    public void TheCiBatchCoversEveryKindOfProgram()
    {
        var programs = Enumerable.Range(FirstSeed, Batches * BatchSize).Select(ProgramGenerator.Generate).ToList();
        Assert.IsGreaterThanOrEqualTo(1000, programs.Count);
        // Most programs run in all three worlds; memory, native-only forms and recursion all occur often.
        Assert.IsGreaterThan(600, programs.Count(p => p.Interpretable));
        Assert.IsGreaterThan(400, programs.Count(p => p.UsesMemory));
        Assert.IsGreaterThan(200, programs.Count(p => p.Interpretable && p.UsesMemory));
        Assert.IsGreaterThan(150, programs.Count(p => p.Source.Contains("(define-function f0 (n ", StringComparison.Ordinal)
                                                     || p.Source.Contains("(define-function f1 (n ", StringComparison.Ordinal)));
        foreach (var form in new[] { "(while ", "(let ((", "(if (and ", "(or ", "(not ", "(/ ", "(% ", "(<< ", "(>> ", "(f0 ", "(f2 ",
                                     "(oop-at mem ", "(set-oop-at mem ", "(return ", "(address-of ", "(string-at mem ", "(set g0 " })
            Assert.IsGreaterThan(20, programs.Count(p => p.Source.Contains(form, StringComparison.Ordinal)), form);
    }

    /// <summary>A generated failure must print as something the conformance suite can take as it is.</summary>
    [TestMethod]
    public void AReportIsAConformanceProgram()
    {
        var program = ProgramGenerator.Generate(2);
        var text = DifferentialCheck.Conformance(program, [new WorldResults("(run 1 2 3)", "7", "8", "7")]);
        StringAssert.Contains(text, ";; call: (run 1 2 3) => 7\n");
        StringAssert.EndsWith(text, program.Source);
    }
}
