using System.Globalization;
using Maru.Compiler.Diagnostics;

namespace Maru.Compiler;

/// <summary>
/// The clock side of one compilation's budget: the wall-clock limit and the caller's cancellation,
/// as one token every stage polls. (Steps and memory are counted by the interpreter, which is the
/// only stage whose work the input controls directly.) Polling is cheap, so stages check it in
/// their loops and stop with <see cref="CompilationStoppedException"/>.
/// </summary>
internal sealed class CompilationBudget : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationToken _caller;

    public CompilationBudget(CompilationOptions options)
    {
        _caller = options.CancellationToken;
        Limit = options.MaxCompilationTime;
        _source = CancellationTokenSource.CreateLinkedTokenSource(_caller);
        if (Limit > TimeSpan.Zero && Limit < TimeSpan.FromDays(1)) _source.CancelAfter(Limit);
    }

    public TimeSpan Limit { get; }

    public bool IsStopped => _source.IsCancellationRequested;

    /// <summary>Throws when the time is up or the caller cancelled.</summary>
    public void Check()
    {
        if (_source.IsCancellationRequested) throw new CompilationStoppedException(Code, Message);
    }

    public DiagnosticCode Code => _caller.IsCancellationRequested ? DiagnosticCode.CompilationCancelled : DiagnosticCode.CompilationTimeLimitExceeded;

    public string Message => _caller.IsCancellationRequested
        ? "the compilation was cancelled"
        : $"the compilation did not finish within {Limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (MaxCompilationTime; raise it with MaruMaxCompilationTime or maruc --max-time)";

    public void Dispose() => _source.Dispose();
}

/// <summary>A compilation stopped by its clock or its caller; becomes one diagnostic, never a crash.</summary>
internal sealed class CompilationStoppedException(DiagnosticCode code, string message) : Exception(message)
{
    public DiagnosticCode Code { get; } = code;
}
