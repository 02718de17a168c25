namespace Maru.Compiler.Diagnostics;

/// <summary>
/// Thrown inside a stage to abandon the current definition with a located diagnostic; the stage
/// catches it at a definition boundary, records it and moves on to find further errors.
/// </summary>
public sealed class CompilationError : Exception
{
    public CompilationError(DiagnosticCode code, SourceLocation location, string message) : base(message)
    {
        Diagnostic = new Diagnostic(code, DiagnosticSeverity.Error, location, message);
    }

    public Diagnostic Diagnostic { get; }
}
