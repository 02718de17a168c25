using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>A word of writable data with its initial value.</summary>
public sealed record IrGlobal(string Name, long InitialValue, SourceLocation Location);

/// <summary>A read-only NUL-terminated string constant (UTF-8).</summary>
public sealed record IrString(string Name, string Value);

/// <summary>A global word initialised with the address of a string constant.</summary>
public sealed record IrStringGlobal(string Name, string StringConstant, SourceLocation Location);

/// <summary>Everything one compilation emits: the whole environment is a single unit.</summary>
public sealed class IrModule
{
    public List<IrFunction> Functions { get; } = new();
    public List<IrGlobal> Globals { get; } = new();
    public List<IrStringGlobal> StringGlobals { get; } = new();

    /// <summary>C functions the module calls, by C name.</summary>
    public List<string> Imports { get; } = new();

    /// <summary>String constants in first-use order (StringAddress names them); equal strings share one constant.</summary>
    public List<IrString> Strings { get; } = new();

    private readonly Dictionary<string, string> _stringNames = new(StringComparer.Ordinal);

    /// <summary>The name of the constant holding <paramref name="value"/>, created on first use.</summary>
    public string InternString(string value)
    {
        if (!_stringNames.TryGetValue(value, out var name))
        {
            name = $".str{_stringNames.Count}";
            _stringNames.Add(value, name);
            Strings.Add(new IrString(name, value));
        }
        return name;
    }

    public void AddImport(string name)
    {
        if (!Imports.Contains(name, StringComparer.Ordinal)) Imports.Add(name);
    }
}
