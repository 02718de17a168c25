using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>
/// A local variable: normally a virtual register; a variable whose address is taken lives in a
/// frame block instead (<see cref="Address"/>), and every read and write goes through memory.
/// </summary>
internal sealed record Variable(VReg Storage, bool InMemory);

/// <summary>
/// Lexical scopes of a function: parameters, then nested let frames. Inner names shadow outer ones.
/// A scope's names are searched in two arrays while they are few (most lets bind one to three);
/// a scope that binds many more is indexed by a dictionary, so no lookup grows with its size.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    /// <summary>Names a scope searches one by one before it indexes them.</summary>
    private const int MaxSearched = 8;

    private string[] _names = [];
    private Variable[] _variables = [];
    private int _count;
    private Dictionary<string, int>? _index;

    public Scope? Parent { get; } = parent;

    /// <summary>Binds <paramref name="name"/> here, replacing this scope's own binding of it if there is one.</summary>
    public void Bind(string name, Variable variable)
    {
        var at = Find(name);
        if (at >= 0)
        {
            _variables[at] = variable;
            return;
        }
        if (_count == _names.Length)
        {
            var capacity = Math.Max(4, _count * 2);
            Array.Resize(ref _names, capacity);
            Array.Resize(ref _variables, capacity);
        }
        _names[_count] = name;
        _variables[_count] = variable;
        if (_index is not null)
        {
            _index.Add(name, _count);
        }
        else if (_count == MaxSearched)
        {
            _index = new Dictionary<string, int>(2 * MaxSearched, StringComparer.Ordinal);
            for (var i = 0; i <= _count; i++) _index.Add(_names[i], i);
        }
        _count++;
    }

    /// <summary>Whether this scope itself (not an outer one) binds <paramref name="name"/>.</summary>
    public bool BindsHere(string name) => Find(name) >= 0;

    public Variable? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            var at = scope.Find(name);
            if (at >= 0) return scope._variables[at];
        }
        return null;
    }

    private int Find(string name)
    {
        if (_index is not null) return _index.TryGetValue(name, out var at) ? at : -1;
        var names = _names;
        for (var i = _count - 1; i >= 0; i--)
        {
            // The evaluator's names are one instance each (NameTable), so the first test usually decides.
            var bound = names[i];
            if (ReferenceEquals(bound, name)
                || (bound.Length == name.Length && (bound.Length == 0 || bound[0] == name[0]) && bound.AsSpan().SequenceEqual(name)))
                return i;
        }
        return -1;
    }
}
