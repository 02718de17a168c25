using System.Globalization;
using System.Reflection;
using System.Text;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Conformance;

/// <summary>
/// The conformance suite: every Programs/*.l is one test case. Each program is compiled natively
/// (at every optimisation level: O0 and O1), its <c>call:</c> expectations are called through function
/// pointers and its <c>output:</c> is captured from standard output; unless it says
/// <c>interpret: no</c>, the same calls are also evaluated by the compile-time interpreter, whose
/// results must be the same integers (<c>t</c> counts as 1 and <c>()</c> as 0, the interpreter's
/// spelling of the compiled comparison results). See README.md.
/// </summary>
[TestClass]
[DoNotParallelize] // output: expectations redirect the process's standard output
public sealed class ConformanceTests
{
    private const string Marker = "=conformance= ";

    public static IEnumerable<object[]> Programs => ConformanceProgram.Names().Select(name => new object[] { name });

    public static string DisplayName(MethodInfo method, object[] data) => (string)data[0];

    [TestMethod]
    public void TheSuiteHasPrograms() => Assert.IsGreaterThanOrEqualTo(45, ConformanceProgram.Names().Count());

    [TestMethod]
    [DynamicData(nameof(Programs), DynamicDataDisplayName = nameof(DisplayName))]
    public void Program(string name)
    {
        var program = ConformanceProgram.Load(name);
        Assert.IsTrue(program.Calls.Count > 0 || program.Output is not null || program.Messages is not null || program.Exports is not null,
            $"{name}: the program states no expectation (call:, output: or messages:)");
        var failures = new List<string>();
        foreach (var level in Levels)
            OnLargeStack(() => RunNatively(program, level, failures));
        if (program.Interpret && program.Calls.Count > 0)
            RunInInterpreter(program, failures);
        if (failures.Count > 0)
            Assert.Fail($"{name}: {failures.Count} expectation(s) failed\n" + string.Join("\n", failures));
    }

    /// <summary>Deep recursion in compiled code must not depend on the test runner's thread stack.</summary>
    private static void OnLargeStack(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { failure = e; }
        }, 512 * 1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>The optimisation levels every program is compiled at.</summary>
    private static IEnumerable<OptimisationLevel> Levels => Enum.GetValues<OptimisationLevel>();

    private static CompilationResult Compile(ConformanceProgram program, OptimisationLevel level) =>
        MaruCompiler.Compile(program.Sources, CompiledLibrary.OptionsAt(level));

    private static void RunNatively(ConformanceProgram program, OptimisationLevel level, List<string> failures)
    {
        var where = $"[{program.Name} native {level}]";
        var result = Compile(program, level);
        var unexpected = result.Diagnostics.Where(d => d.IsError || !program.AllowedWarnings.Contains(d.Code)).ToList();
        if (unexpected.Count > 0 || !result.Success)
        {
            failures.Add($"{where} compilation: expected no diagnostics, got\n  " + string.Join("\n  ", unexpected));
            if (!result.Success) return;
        }
        if (program.Messages is not null && !program.Messages.SequenceEqual(result.Messages))
            failures.Add($"{where} compile-time messages:\n  expected: {Show(program.Messages)}\n  actual:   {Show(result.Messages)}");

        if (program.Exports is not null)
        {
            var exported = result.Exports.Select(e => e.MaruName).Order(StringComparer.Ordinal).ToList();
            if (!program.Exports.Order(StringComparer.Ordinal).SequenceEqual(exported))
                failures.Add($"{where} exported functions:\n  expected: {string.Join(" ", program.Exports.Order(StringComparer.Ordinal))}\n  actual:   {string.Join(" ", exported)}");
        }

        using var library = CompiledLibrary.Load(result);
        foreach (var call in program.Calls)
        {
            var actual = library.Call(call.Function, [.. call.Arguments]);
            if (actual != call.Result)
                failures.Add($"{where} {call.Text}: expected {call.Result}, actual {actual}");
        }
        if (program.Output is not null)
        {
            var call = program.OutputCall!;
            var output = StandardOutput.Capture(() => library.Call(call.Function, [.. call.Arguments]));
            if (output != program.Output)
                failures.Add($"{where} output of {call.Text}:\n--- expected\n{program.Output}--- actual\n{output}---");
        }
    }

    /// <summary>
    /// Evaluates every call: expectation in the compile-time interpreter. The calls are top-level
    /// (println ...) forms: inserted before the last (compile-end) of the program's own file if it
    /// has a compile section (whose definitions are not visible after it), else given as one more
    /// source file after all the others.
    /// </summary>
    private static void RunInInterpreter(ConformanceProgram program, List<string> failures)
    {
        var where = $"[{program.Name} interpreter]";
        var calls = new StringBuilder();
        for (var i = 0; i < program.Calls.Count; i++)
        {
            var call = program.Calls[i];
            calls.Append(CultureInfo.InvariantCulture,
                $"(println \"{Marker}{i} \" ({call.Function}{string.Concat(call.Arguments.Select(a => " " + a.ToString(CultureInfo.InvariantCulture)))}))");
        }
        var main = program.Sources.Single(s => s.Path == program.Path);
        var sources = InsertionPoint(main) is { } offset
            ? program.Sources.Select(s => s == main ? new SourceFile(s.Path, s.Text[..offset] + calls + " " + s.Text[offset..]) : s).ToList()
            : [.. program.Sources, new SourceFile(Path.Combine(Path.GetDirectoryName(program.Path)!, "conformance-calls.l"), calls.ToString())];

        var diagnostics = new DiagnosticBag();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test" };
        var evaluation = Evaluator.Process(sources, options, diagnostics);
        var errors = diagnostics.Items.Where(d => d.IsError).ToList();
        if (errors.Count > 0)
        {
            failures.Add($"{where} evaluation failed:\n  " + string.Join("\n  ", errors));
            return;
        }
        var values = evaluation.Messages.Where(m => m.StartsWith(Marker, StringComparison.Ordinal))
            .Select(m => m[Marker.Length..].Split(' ', 2)).ToDictionary(p => int.Parse(p[0], CultureInfo.InvariantCulture), p => p[1]);
        for (var i = 0; i < program.Calls.Count; i++)
        {
            var call = program.Calls[i];
            if (!values.TryGetValue(i, out var printed))
            {
                failures.Add($"{where} {call.Text}: expected {call.Result}, but the call printed nothing");
                continue;
            }
            long? actual = printed switch
            {
                "t" => 1,
                "()" => 0,
                _ => long.TryParse(printed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null,
            };
            if (actual != call.Result)
                failures.Add($"{where} {call.Text}: expected {call.Result}, actual {printed}");
        }
    }

    /// <summary>Where the program's own file ends its last compile section, or null if it has none.</summary>
    private static int? InsertionPoint(SourceFile file)
    {
        var topLevel = Reader.Read(file, new DiagnosticBag());
        static bool Is(Datum form, string head) => form is PairDatum { Head: SymbolDatum symbol } && symbol.Name == head;
        var end = topLevel.LastOrDefault(f => Is(f, "compile-end"));
        if (end is null || !topLevel.Any(f => Is(f, "compile-begin")))
            return null;
        var offset = 0;
        for (var line = 1; line < end.Location.Line; line++)
            offset = file.Text.IndexOf('\n', offset) + 1;
        return offset + end.Location.Column - 1;
    }

    private static string Show(IEnumerable<string> lines) => "[" + string.Join(", ", lines.Select(l => $"\"{l}\"")) + "]";
}
