using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>
/// One IR instruction: <c>dest = op args...</c>. <see cref="Symbol"/> names the global or function
/// for LoadGlobal, StoreGlobal and Call. Every instruction remembers the source it came from.
/// </summary>
public sealed class Instruction(Opcode op, VReg? destination, Operand[] arguments, string? symbol, SourceLocation location)
{
    public Opcode Op { get; } = op;
    public VReg? Destination { get; } = destination;
    public Operand[] Arguments { get; } = arguments;
    public string? Symbol { get; } = symbol;
    public SourceLocation Location { get; } = location;

    public override string ToString()
    {
        var text = Destination is { } d ? $"{d} = {Op.Mnemonic()}" : Op.Mnemonic();
        if (Symbol is not null) text += $" ${Symbol}";
        if (Arguments.Length > 0) text += " " + string.Join(", ", Arguments);
        return text;
    }
}
