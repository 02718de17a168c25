using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>A top-level binding the compile-time world hands to the compiler.</summary>
public abstract record Definition(string Name, SourceLocation Location);

/// <summary>
/// A function: parameter symbols and the body forms, fully macro-expanded (the compiled body is
/// the expanded form, as in maru-2.4). <paramref name="Documentation"/> is the docstring, if any.
/// </summary>
public sealed record FunctionDefinition(string Name, SourceLocation Location, IReadOnlyList<SymbolDatum> Parameters, IReadOnlyList<Datum> Body, string? Documentation = null)
    : Definition(Name, Location);

/// <summary>A global word of writable data with an initial integer value.</summary>
public sealed record IntegerDefinition(string Name, SourceLocation Location, long Value) : Definition(Name, Location);

/// <summary>A global word of writable data pointing at a NUL-terminated UTF-8 copy of <paramref name="Value"/> in read-only data.</summary>
public sealed record StringDefinition(string Name, SourceLocation Location, string Value) : Definition(Name, Location);

/// <summary>
/// A C function imported from the platform's C library: <c>(define printf (extern 'printf))</c>.
/// <see cref="FixedParameters"/> is the number of parameters before the "..." of a variadic
/// function (null when it is not variadic), which calls carry to the backend.
/// </summary>
public sealed record ExternDefinition(string Name, SourceLocation Location, string Symbol) : Definition(Name, Location)
{
    public int? FixedParameters { get; init; }
}

/// <summary>Everything to compile, in definition order; names are unique.</summary>
public sealed class CompilationUnit
{
    private readonly Dictionary<string, Definition> _byName = new(StringComparer.Ordinal);
    private readonly List<Definition> _definitions = new();

    public IReadOnlyList<Definition> Definitions => _definitions;

    public Definition? Lookup(string name) => _byName.GetValueOrDefault(name);

    private readonly HashSet<string> _compileTimeOnlyNames = new(StringComparer.Ordinal);
    private GlobalEnvironment? _compileTimeRoot;

    /// <summary>
    /// True for a name that exists only in the compile-time world (prelude functions, forms,
    /// definitions made outside compile-begin/compile-end): compiled code referring to one gets a
    /// helpful error. Asked only on that error path, so the root's few hundred names are not copied
    /// into a set for every compilation.
    /// </summary>
    public bool IsCompileTimeOnly(string name)
    {
        // Functions may be lowered on several threads (ModuleLowerer), and finding a name in the
        // root copies it out of the prelude's snapshot: one at a time.
        lock (_compileTimeOnlyNames)
            return _compileTimeOnlyNames.Contains(name)
                || (_compileTimeRoot?.FindLocal(name) is not null && Lookup(name) is null && !Evaluator.CompiledBuiltins.Contains(name));
    }

    /// <summary>A name compile-time code defined that the unit does not compile (see <see cref="IsCompileTimeOnly"/>).</summary>
    internal void AddCompileTimeOnly(string name) => _compileTimeOnlyNames.Add(name);

    /// <summary>The compile-time root environment: its names are compile-time only unless compiled or built in.</summary>
    internal void SetCompileTimeRoot(GlobalEnvironment root) => _compileTimeRoot = root;

    /// <summary>
    /// Of those, the ones a file read by load/require defined outside a compile section, with their
    /// values. Such a file is a library: a definition of it is compiled when compiled code uses it
    /// or a define-export names it (<see cref="Resolve"/>), and stays compile-time only otherwise,
    /// so a macro library's helpers never reach the native library.
    /// </summary>
    public Dictionary<string, LoadedDefinition> DefinedByLoadedFiles { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The definition compiled code means by <paramref name="name"/>: a compiled one, or else one a
    /// file read by load/require made, which joins the unit now (and is lowered after the ones
    /// before it). Null when nothing compilable has that name.
    /// </summary>
    public Definition? Resolve(string name)
    {
        if (Lookup(name) is { } compiled) return compiled;
        if (!DefinedByLoadedFiles.TryGetValue(name, out var loaded) || loaded.Definition is not { } definition) return null;
        TryAdd(definition);
        return definition;
    }

    /// <summary>What C# should see for exported functions, from <c>(define-export ...)</c>, by function name.</summary>
    public Dictionary<string, Interop.ExportDeclaration> ExportDeclarations { get; } = new(StringComparer.Ordinal);

    public bool TryAdd(Definition definition)
    {
        if (!_byName.TryAdd(definition.Name, definition)) return false;
        _definitions.Add(definition);
        return true;
    }
}

/// <summary>
/// A definition a file read by load/require made outside any compile section: what it compiles to
/// (<see cref="Definition"/>), or why it cannot be compiled (<see cref="Problem"/>; both null for a macro).
/// </summary>
public sealed record LoadedDefinition(SourceLocation DefinedAt, Definition? Definition, string? Problem);
