namespace Maru.Compiler.Diagnostics;

/// <summary>Collects diagnostics in the order they are found; each compilation owns one (no shared state).</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = new();

    public IReadOnlyList<Diagnostic> Items => _items;

    public bool HasErrors { get; private set; }

    public void Error(DiagnosticCode code, SourceLocation location, string message)
    {
        _items.Add(new Diagnostic(code, DiagnosticSeverity.Error, location, message));
        HasErrors = true;
    }

    public void Warning(DiagnosticCode code, SourceLocation location, string message) =>
        _items.Add(new Diagnostic(code, DiagnosticSeverity.Warning, location, message));

    public void Add(Diagnostic diagnostic)
    {
        _items.Add(diagnostic);
        HasErrors |= diagnostic.IsError;
    }
}
