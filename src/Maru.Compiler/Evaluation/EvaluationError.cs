using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// Abandons the current top-level form. The location is filled in on the way out: the thrower
/// gives one when it knows a better one (the unknown symbol), otherwise the innermost form from a
/// user file being evaluated claims it, and a macro call claims errors raised by its expansion.
/// </summary>
internal sealed class EvaluationError(DiagnosticCode code, SourceLocation location, string message) : Exception(message)
{
    public DiagnosticCode Code { get; } = code;

    public SourceLocation Location { get; set; } = location;

    /// <summary>Set when the problem was already reported (a reader error in a loaded file).</summary>
    public bool AlreadyReported { get; init; }

    /// <summary>A limit of the whole compilation (steps, memory, time) was reached: evaluation stops here instead of going on with the next form.</summary>
    public bool Fatal { get; init; }
}

/// <summary>
/// The stack of the thread that called the compiler ran short before any limit of the language
/// was reached: the evaluation is abandoned and done again from the start on a thread with the
/// big stack (see <see cref="Evaluator.Process"/>). Never reaches the user.
/// </summary>
internal sealed class StackTooSmallException() : Exception("the caller's stack is too small for this evaluation");
