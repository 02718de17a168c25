using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>A word of writable data with its initial value.</summary>
public sealed record IrGlobal(string Name, long InitialValue, SourceLocation Location);

/// <summary>Everything one compilation emits: the whole environment is a single unit.</summary>
public sealed class IrModule
{
    public List<IrFunction> Functions { get; } = new();
    public List<IrGlobal> Globals { get; } = new();
}
