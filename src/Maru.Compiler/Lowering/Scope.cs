using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>
/// A local variable: normally a virtual register; a variable whose address is taken lives in a
/// frame block instead (<see cref="Address"/>), and every read and write goes through memory.
/// </summary>
internal sealed record Variable(VReg Storage, bool InMemory);

/// <summary>Lexical scopes of a function: parameters, then nested let frames. Inner names shadow outer ones.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, Variable> _names = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public void Bind(string name, Variable variable) => _names[name] = variable;

    /// <summary>Whether this scope itself (not an outer one) binds <paramref name="name"/>.</summary>
    public bool BindsHere(string name) => _names.ContainsKey(name);

    public Variable? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
            if (scope._names.TryGetValue(name, out var variable))
                return variable;
        return null;
    }
}
