namespace Maru.Compiler.Lowering;

/// <summary>Lexical scopes of a function: parameters, then nested let frames. Inner names shadow outer ones.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, Ir.VReg> _names = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public void Bind(string name, Ir.VReg register) => _names[name] = register;

    public Ir.VReg? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
            if (scope._names.TryGetValue(name, out var register))
                return register;
        return null;
    }
}
