using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Differential;

/// <summary>The results of one program in every world, per input; null where a world did not run.</summary>
public sealed record WorldResults(string Input, string? O0, string? O1, string? Interpreter);

/// <summary>
/// Runs a <see cref="GeneratedProgram"/> compiled at O0, compiled at O1 and (when it is portable) in
/// the compile-time interpreter, and compares the results of <c>(run a b c)</c> for every input.
/// Natively each level gets its own loaded library; <c>(setup)</c> allocates a memory program's
/// buffer first. In the interpreter the calls are top-level forms inserted before
/// <c>(compile-end)</c>, after <c>(set mem (allocate 0 16))</c>: oop-at and set-oop-at reach the
/// words of that record exactly as compiled code reaches memory. <c>run</c> initialises every word
/// and global it reads, so the three worlds start each call alike.
/// </summary>
public static unsafe class DifferentialCheck
{
    private const string Marker = "=differential= ";

    public static CompilationOptions Options(OptimisationLevel level) =>
        new() { Target = TargetPlatform.LinuxX64, LibraryName = "differential", Optimisation = level, VerifyIr = true };

    /// <summary>Null when all worlds agree, else a report ready to print.</summary>
    public static string? Check(GeneratedProgram program, string workDirectory)
    {
        var o0 = RunNatively(program, OptimisationLevel.O0, workDirectory);
        var o1 = RunNatively(program, OptimisationLevel.O1, workDirectory);
        var interpreter = program.Interpretable ? RunInInterpreter(program) : null;
        var rows = new List<WorldResults>();
        var agree = true;
        for (var i = 0; i < program.Inputs.Count; i++)
        {
            var row = new WorldResults(GeneratedProgram.Call(program.Inputs[i]), o0[i], o1[i], interpreter?[i]);
            agree &= row.O0 == row.O1 && (interpreter is null || row.O0 == row.Interpreter);
            rows.Add(row);
        }
        return agree ? null : Report(program, rows);
    }

    /// <summary>The printable result of every call (a number, or why there is none).</summary>
    internal static string[] RunNatively(GeneratedProgram program, OptimisationLevel level, string workDirectory)
    {
        var result = MaruCompiler.Compile([new SourceFile($"differential-{program.Seed}.l", program.Source)], Options(level));
        if (!result.Success)
        {
            var failure = "compilation failed: " + string.Join(" | ", result.Diagnostics.Where(d => d.IsError));
            return [.. program.Inputs.Select(_ => failure)];
        }
        var path = Path.Combine(workDirectory, $"libdifferential-{program.Seed}-{level}-{Environment.CurrentManagedThreadId}.so");
        File.WriteAllBytes(path, result.Library!);
        var handle = NativeLibrary.Load(path);
        try
        {
            if (program.UsesMemory) ((delegate* unmanaged<long>)NativeLibrary.GetExport(handle, "setup"))();
            var run = (delegate* unmanaged<long, long, long, long>)NativeLibrary.GetExport(handle, "run");
            var results = program.Inputs.Select(input => run(input[0], input[1], input[2]).ToString(CultureInfo.InvariantCulture)).ToArray();
            if (program.UsesMemory) ((delegate* unmanaged<long>)NativeLibrary.GetExport(handle, "teardown"))();
            return results;
        }
        finally
        {
            NativeLibrary.Free(handle);
            File.Delete(path);
        }
    }

    internal static string[] RunInInterpreter(GeneratedProgram program)
    {
        var diagnostics = new DiagnosticBag();
        var source = new SourceFile($"differential-{program.Seed}.l", InterpreterSource(program));
        var evaluation = Evaluator.Process([source], Options(OptimisationLevel.O0), diagnostics);
        var errors = diagnostics.Items.Where(d => d.IsError).ToList();
        if (errors.Count > 0)
        {
            var failure = "evaluation failed: " + string.Join(" | ", errors);
            return [.. program.Inputs.Select(_ => failure)];
        }
        var results = program.Inputs.Select(_ => "printed nothing").ToArray();
        foreach (var message in evaluation.Messages.Where(m => m.StartsWith(Marker, StringComparison.Ordinal)))
        {
            var parts = message[Marker.Length..].Split(' ', 2);
            results[int.Parse(parts[0], CultureInfo.InvariantCulture)] = parts[1];
        }
        return results;
    }

    /// <summary>The program with its calls as top-level forms just before (compile-end).</summary>
    public static string InterpreterSource(GeneratedProgram program)
    {
        var calls = new StringBuilder();
        if (program.UsesMemory) calls.Append(CultureInfo.InvariantCulture, $"(set mem (allocate 0 {ProgramGenerator.MemoryWords}))\n");
        for (var i = 0; i < program.Inputs.Count; i++)
            calls.Append(CultureInfo.InvariantCulture, $"(println \"{Marker}{i} \" {GeneratedProgram.Call(program.Inputs[i])})\n");
        // A compiled global must hold an integer when the section ends.
        if (program.UsesMemory) calls.Append("(set mem 0)\n");
        var end = program.Source.LastIndexOf("(compile-end)", StringComparison.Ordinal);
        return program.Source[..end] + calls + program.Source[end..];
    }

    private static string Report(GeneratedProgram program, List<WorldResults> rows)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"differential program {program.Seed} disagrees (again: dotnet run -c Release --project tests/Maru.Differential -- --seed {program.Seed} --count 1)\n");
        foreach (var row in rows)
            text.Append(CultureInfo.InvariantCulture,
                $"  {row.Input}: O0 {row.O0}, O1 {row.O1}{(program.Interpretable ? $", interpreter {row.Interpreter}" : "")}{(Agrees(program, row) ? "" : "   <-- differs")}\n");
        text.Append("--- as a conformance program (tests/Maru.Compiler.Tests/Conformance/Programs/differential-")
            .Append(program.Seed).Append(".l); the expected values are the majority's: check them by hand\n");
        text.Append(Conformance(program, rows));
        return text.ToString();
    }

    private static bool Agrees(GeneratedProgram program, WorldResults row) =>
        row.O0 == row.O1 && (!program.Interpretable || row.O0 == row.Interpreter);

    /// <summary>
    /// The program in the conformance suite's format. A memory program is native-only there: the
    /// suite's interpreter run cannot make <c>mem</c> a record as this check does.
    /// </summary>
    public static string Conformance(GeneratedProgram program, IReadOnlyList<WorldResults> rows)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $";; Found by the differential tester (seed {program.Seed}): O0, O1 and the interpreter disagreed.\n");
        if (program.UsesMemory) text.Append(";; call: (setup) => 0\n");
        foreach (var row in rows)
            text.Append(CultureInfo.InvariantCulture, $";; call: {row.Input} => {Majority(row)}\n");
        if (program.UsesMemory) text.Append(";; call: (teardown) => 0\n");
        if (program.Kind == ProgramKind.NativeOnly)
            text.Append(";; interpret: no (generated for native code only: 0 is false, return, address-of)\n");
        else if (program.UsesMemory)
            text.Append(";; interpret: no (mem is native memory from calloc; the differential tester interprets it with mem a 16-word record)\n");
        text.Append(program.Source);
        return text.ToString();
    }

    private static string Majority(WorldResults row)
    {
        string?[] values = [row.O0, row.O1, row.Interpreter];
        return values.Where(v => v is not null).GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key!;
    }
}
