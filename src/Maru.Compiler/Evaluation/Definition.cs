using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>A top-level binding the compile-time world hands to the compiler.</summary>
public abstract record Definition(string Name, SourceLocation Location);

/// <summary>A function: parameter symbols and the body forms, as written (after expansion, once macros exist).</summary>
public sealed record FunctionDefinition(string Name, SourceLocation Location, IReadOnlyList<SymbolDatum> Parameters, IReadOnlyList<Datum> Body)
    : Definition(Name, Location);

/// <summary>A global word of writable data with an initial integer value.</summary>
public sealed record IntegerDefinition(string Name, SourceLocation Location, long Value) : Definition(Name, Location);

/// <summary>Everything to compile, in definition order; names are unique.</summary>
public sealed class CompilationUnit
{
    private readonly Dictionary<string, Definition> _byName = new(StringComparer.Ordinal);
    private readonly List<Definition> _definitions = new();

    public IReadOnlyList<Definition> Definitions => _definitions;

    public Definition? Lookup(string name) => _byName.GetValueOrDefault(name);

    public bool TryAdd(Definition definition)
    {
        if (!_byName.TryAdd(definition.Name, definition)) return false;
        _definitions.Add(definition);
        return true;
    }
}
