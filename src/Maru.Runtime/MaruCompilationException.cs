using Maru.Compiler.Diagnostics;

namespace Maru.Runtime;

/// <summary>
/// Compilation failed: <see cref="Diagnostics"/> holds every located error (and the warnings before
/// them), in the order the compiler reported them; <see cref="Exception.Message"/> is their
/// canonical text, one per line (<c>file.l(3,7): error MARU0202: ...</c>). Nothing was loaded and
/// no file was left behind.
/// </summary>
public sealed class MaruCompilationException : Exception
{
    /// <summary>A failure reporting <paramref name="diagnostics"/>.</summary>
    public MaruCompilationException(IReadOnlyList<Diagnostic> diagnostics, IReadOnlyList<string> compileTimeOutput)
        : base(string.Join(Environment.NewLine, diagnostics))
    {
        Diagnostics = diagnostics;
        CompileTimeOutput = compileTimeOutput;
    }

    /// <summary>Every diagnostic of the compilation, errors and warnings, located.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    /// <summary>The errors alone.</summary>
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);

    /// <summary>What compile-time code printed before the compilation failed.</summary>
    public IReadOnlyList<string> CompileTimeOutput { get; }
}
