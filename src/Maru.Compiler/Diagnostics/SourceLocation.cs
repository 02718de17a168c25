namespace Maru.Compiler.Diagnostics;

/// <summary>A position in a source file: 1-based line and column (columns count UTF-16 code units, as MSBuild and IDEs do).</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    /// <summary>For things that come from no file (the compiler itself, the command line).</summary>
    public static readonly SourceLocation None = new("", 0, 0);

    public bool IsNone => File.Length == 0;

    public override string ToString() => IsNone ? "" : $"{File}({Line},{Column})";
}
