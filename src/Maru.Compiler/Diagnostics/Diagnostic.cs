namespace Maru.Compiler.Diagnostics;

public enum DiagnosticSeverity { Warning, Error }

/// <summary>One located message. <see cref="ToString"/> gives MSBuild's canonical form so IDEs can jump to it.</summary>
public sealed record Diagnostic(DiagnosticCode Code, DiagnosticSeverity Severity, SourceLocation Location, string Message)
{
    public string CodeText => $"MARU{(int)Code:D4}";

    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString()
    {
        var severity = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        var origin = Location.IsNone ? "maruc" : Location.ToString();
        return $"{origin}: {severity} {CodeText}: {Message}";
    }
}
