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
}
