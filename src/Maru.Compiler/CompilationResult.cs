using Maru.Compiler.Diagnostics;

namespace Maru.Compiler;

/// <summary>A function the library exports, as the C# shims and tools see it.</summary>
/// <param name="MaruName">The name in Maru source, e.g. <c>fib-iter</c>.</param>
/// <param name="SymbolName">The name in the library's symbol table (see Interop/SymbolNames).</param>
/// <param name="Parameters">Parameter names as written in Maru.</param>
/// <param name="Location">Where the definition starts.</param>
public sealed record ExportedFunction(string MaruName, string SymbolName, IReadOnlyList<string> Parameters, SourceLocation Location)
{
    /// <summary>What C# sees: all <c>long</c> unless a <c>(define-export ...)</c> says otherwise.</summary>
    public Interop.ExportSignature Signature { get; init; } = Interop.ExportSignature.AllLong(Parameters);

    /// <summary>The function's docstring, which becomes the shim's XML documentation.</summary>
    public string? Documentation { get; init; }
}

/// <summary>A global word the library exports (<c>(define name 42)</c>, <c>(define name "text")</c>).</summary>
/// <param name="MaruName">The name in Maru source.</param>
/// <param name="SymbolName">The name in the library's symbol table (see Interop/SymbolNames).</param>
/// <param name="Location">Where the definition starts.</param>
public sealed record ExportedGlobal(string MaruName, string SymbolName, SourceLocation Location);

public sealed class CompilationResult
{
    public required IReadOnlyList<Diagnostic> Diagnostics { get; init; }

    /// <summary>The shared library's bytes; null when there were errors.</summary>
    public byte[]? Library { get; init; }

    /// <summary>The generated C# source; null when there were errors.</summary>
    public string? CSharpShims { get; init; }

    public IReadOnlyList<ExportedFunction> Exports { get; init; } = [];

    /// <summary>The exported global words: integer globals, then string globals, each in definition order.</summary>
    public IReadOnlyList<ExportedGlobal> Globals { get; init; } = [];

    /// <summary>The lines compile-time code printed (print, println, dump), in order; kept on failure too.</summary>
    public IReadOnlyList<string> Messages { get; init; } = [];

    /// <summary>Full paths of the files read by load/require, in first-load order: inputs of the build besides the sources.</summary>
    public IReadOnlyList<string> LoadedFiles { get; init; } = [];

    /// <summary>The assembly listing when <see cref="CompilationOptions.ProduceListing"/> asked for one.</summary>
    public string? Listing { get; init; }

    public bool Success => Library is not null && !HasErrors;

    /// <summary>
    /// Whether any diagnostic is an error. A loop, not LINQ: Maru.Runtime asks this in the first
    /// compilation of a process, where a generic LINQ instantiation costs JIT time.
    /// </summary>
    public bool HasErrors
    {
        get
        {
            for (var i = 0; i < Diagnostics.Count; i++)
                if (Diagnostics[i].IsError) return true;
            return false;
        }
    }
}
