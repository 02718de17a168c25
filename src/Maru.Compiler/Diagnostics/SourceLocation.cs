namespace Maru.Compiler.Diagnostics;

/// <summary>A position in a source file: 1-based line and column (columns count UTF-16 code units, as MSBuild and IDEs do).</summary>
public readonly record struct SourceLocation(string File, int Line, int Column) : ISpanFormattable
{
    /// <summary>For things that come from no file (the compiler itself, the command line).</summary>
    public static readonly SourceLocation None = new("", 0, 0);

    public bool IsNone => File.Length == 0;

    /// <summary><c>file(line,column)</c>, MSBuild's form; empty for <see cref="None"/>. The text is <see cref="TryFormat"/>'s.</summary>
    public override string ToString() => IsNone ? "" : $"{this}";

    /// <summary>The text, written where it goes (an interpolation into a builder makes no string of it: the C# shims).</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (!IsNone) return destination.TryWrite($"{File}({Line},{Column})", out charsWritten);
        charsWritten = 0;
        return true;
    }

    string IFormattable.ToString(string? format, IFormatProvider? formatProvider) => ToString();
}
