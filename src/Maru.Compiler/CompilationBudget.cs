using System.Diagnostics;
using System.Globalization;
using Maru.Compiler.Diagnostics;

namespace Maru.Compiler;

/// <summary>
/// The clock side of one compilation's budget: the wall-clock limit and the caller's cancellation,
/// polled by every stage. (Steps and memory are counted by the interpreter, which is the only stage
/// whose work the input controls directly.) Stages check it in their loops and stop with
/// <see cref="CompilationStoppedException"/>.
/// The limit is a deadline read from the clock when polled, never a timer: a timer starts the
/// runtime's timer thread at the compilation's first step, and in the NativeAOT compiler library
/// (Maru.Runtime's native compiler) that thread's start-up raced the first compilation's own
/// start-up for the same class constructors (UTF8Encoding, Lock's statics); the runtime broke the
/// deadlock by letting one thread see an uninitialised static, and the process aborted
/// (docs/performance.md, "the NativeAOT abort").
/// </summary>
internal sealed class CompilationBudget
{
    private readonly CancellationToken _caller;
    private readonly long _deadline;

    public CompilationBudget(CompilationOptions options)
    {
        _caller = options.CancellationToken;
        Limit = options.MaxCompilationTime;
        _deadline = Limit > TimeSpan.Zero && Limit < TimeSpan.FromDays(1)
            ? Stopwatch.GetTimestamp() + (long)(Limit.TotalSeconds * Stopwatch.Frequency)
            : long.MaxValue;
    }

    public TimeSpan Limit { get; }

    /// <summary>The caller cancelled or the deadline passed (a vDSO clock read: callers in hot loops poll it every so many steps).</summary>
    public bool IsStopped => _caller.IsCancellationRequested || (_deadline != long.MaxValue && Stopwatch.GetTimestamp() >= _deadline);

    /// <summary>Throws when the time is up or the caller cancelled.</summary>
    public void Check()
    {
        if (IsStopped) throw new CompilationStoppedException(Code, Message);
    }

    public DiagnosticCode Code => _caller.IsCancellationRequested ? DiagnosticCode.CompilationCancelled : DiagnosticCode.CompilationTimeLimitExceeded;

    public string Message => _caller.IsCancellationRequested
        ? "the compilation was cancelled"
        : $"the compilation did not finish within {Limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (MaxCompilationTime; raise it with MaruMaxCompilationTime or maruc --max-time)";
}

/// <summary>A compilation stopped by its clock or its caller; becomes one diagnostic, never a crash.</summary>
internal sealed class CompilationStoppedException(DiagnosticCode code, string message) : Exception(message)
{
    public DiagnosticCode Code { get; } = code;
}
