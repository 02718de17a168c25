using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>
/// One IR instruction: <c>dest = op args...</c>. <see cref="Symbol"/> names the global or function
/// for LoadGlobal, StoreGlobal and Call. Every instruction remembers the source it came from.
/// The optimiser rewrites instructions in place (internal setters); everyone else only reads them.
/// </summary>
public sealed class Instruction(Opcode op, VReg? destination, Operand[] arguments, string? symbol, SourceLocation location)
{
    public Opcode Op { get; internal set; } = op;
    public VReg? Destination { get; internal set; } = destination;
    public Operand[] Arguments { get; internal set; } = arguments;
    public string? Symbol { get; } = symbol;
    public SourceLocation Location { get; } = location;

    /// <summary>Whether this instruction's destination is one of the registers among <paramref name="operands"/> (it changes them).</summary>
    internal bool WritesAnyOf(Operand[] operands)
    {
        if (Destination is not { } d) return false;
        foreach (var operand in operands)
            if (!operand.IsConstant && operand.Register == d) return true;
        return false;
    }

    /// <summary>
    /// For CallImport: the number of fixed arguments when the callee is variadic (the rest are
    /// passed as variadic arguments, which some ABIs place differently); null when it is not.
    /// </summary>
    public int? FixedArguments { get; init; }

    /// <summary>
    /// For Divide and Remainder by a register: what the optimiser proved about the operands
    /// (<c>ValueRanges</c>), so the backend drops the checks the total semantics no longer need.
    /// Only an analysis that proved it sets it; every rewrite of the instruction clears it.
    /// </summary>
    public DivisionFacts DivisionFacts { get; internal set; }

    /// <summary>Turns this instruction into <c>dest = op args</c>, keeping its destination and source location.</summary>
    internal void Rewrite(Opcode op, params Operand[] arguments)
    {
        Op = op;
        DivisionFacts = DivisionFacts.None;
        Arguments = arguments;
    }

    /// <summary><see cref="Rewrite(Opcode, Operand[])"/> into the existing argument array when it has the length (no new array).</summary>
    internal void Rewrite(Opcode op, Operand a)
    {
        Op = op;
        DivisionFacts = DivisionFacts.None;
        if (Arguments.Length != 1) Arguments = new Operand[1];
        Arguments[0] = a;
    }

    internal void Rewrite(Opcode op, Operand a, Operand b)
    {
        Op = op;
        DivisionFacts = DivisionFacts.None;
        if (Arguments.Length != 2) Arguments = new Operand[2];
        Arguments[0] = a;
        Arguments[1] = b;
    }

    public override string ToString()
    {
        var text = Destination is { } d ? $"{d} = {Op.Mnemonic()}" : Op.Mnemonic();
        if (Symbol is not null) text += $" ${Symbol}";
        if (Arguments.Length > 0) text += " " + string.Join(", ", Arguments);
        if (DivisionFacts != DivisionFacts.None) text += DivisionFacts switch
        {
            DivisionFacts.DivisorNonzero => " !nonzero",
            DivisionFacts.NoOverflow => " !no-overflow",
            _ => " !nonzero !no-overflow",
        };
        return text;
    }
}

/// <summary>
/// Facts about a division's operands that make the total semantics' checks unnecessary: a divisor
/// that is never 0, and no MIN / -1 (the divisor is never -1 or the dividend never MIN). With both,
/// a division is the machine's plain signed division.
/// </summary>
[Flags]
public enum DivisionFacts : byte
{
    None = 0,
    DivisorNonzero = 1,
    NoOverflow = 2,
}
