using Maru.Compiler;

namespace Maru.Runtime;

/// <summary>How <see cref="MaruModule.Compile(string, MaruCompileOptions?)"/> compiles. Every property has a default.</summary>
public sealed record MaruCompileOptions
{
    /// <summary>The file name diagnostics name for source text (<c>&lt;source&gt;.l(3,7): error ...</c>).</summary>
    public string FileName { get; init; } = "<source>.l";

    /// <summary>The folder that <c>load</c>/<c>require</c> of relative names and relative file paths are resolved against; null: the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>O1 (the default) optimises; O0 is straight code.</summary>
    public OptimisationLevel Optimisation { get; init; } = OptimisationLevel.O1;

    /// <summary>Receives each line compile-time code prints (<c>println</c> in macros and top-level forms) as it is printed; they are also in <see cref="MaruModule.CompileTimeOutput"/>.</summary>
    public Action<string>? CompileTimeOutput { get; init; }

    /// <summary>The most evaluation steps compile-time code may take (an endless loop in a macro is an error, not a hang); null: the compiler's default.</summary>
    public long? MaxEvaluationSteps { get; init; }

    /// <summary>Tests: compile with this native compiler library (null: the package's, when there is one).</summary>
    internal Native.NativeCompiler? NativeCompiler { get; init; }

    /// <summary>Tests: compile with the managed compiler even when the native one is there.</summary>
    internal bool ManagedCompiler { get; init; }
}
