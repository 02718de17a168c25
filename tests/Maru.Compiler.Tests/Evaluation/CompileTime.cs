using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>Runs the compile-time evaluator alone (no lowering, no native code) and shows what it made.</summary>
internal static class CompileTime
{
    public sealed record Run(EvaluationResult Result, IReadOnlyList<Diagnostic> Diagnostics)
    {
        public IReadOnlyList<Diagnostic> Errors => Diagnostics.Where(d => d.IsError).ToList();
        public CompilationUnit Unit => Result.Unit;
    }

    public static Run Evaluate(string source, string fileName = "test.l", long maxSteps = 50_000_000)
    {
        var diagnostics = new DiagnosticBag();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test", MaxEvaluationSteps = maxSteps };
        var result = Evaluator.Process([new SourceFile(fileName, source)], options, diagnostics);
        return new Run(result, diagnostics.Items);
    }

    /// <summary>The value of <paramref name="expression"/> evaluated at compile time, as dump prints it.</summary>
    public static string Value(string expression, string definitions = "")
    {
        // The empty section keeps the file from being compiled whole: everything stays compile-time only.
        var run = Evaluate($"{definitions}\n(dump {expression})\n(compile-begin)\n(compile-end)");
        Assert.IsEmpty(run.Errors, string.Join("\n", run.Errors));
        Assert.IsNotEmpty(run.Result.Messages, "nothing was printed");
        return run.Result.Messages[^1];
    }

    /// <summary>The single error of evaluating <paramref name="source"/>.</summary>
    public static Diagnostic Error(string source, string fileName = "test.l", long maxSteps = 50_000_000)
    {
        var run = Evaluate(source, fileName, maxSteps);
        Assert.HasCount(1, run.Errors, string.Join("\n", run.Diagnostics));
        return run.Errors[0];
    }

    public static void AssertError(Diagnostic error, DiagnosticCode code, int line, int column, string message, string file = "test.l")
    {
        Assert.AreEqual(code, error.Code, error.ToString());
        Assert.AreEqual(message, error.Message, error.ToString());
        Assert.AreEqual(new SourceLocation(file, line, column), error.Location, error.ToString());
    }
}
