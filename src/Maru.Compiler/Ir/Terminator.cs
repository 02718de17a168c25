namespace Maru.Compiler.Ir;

/// <summary>How a basic block ends: exactly one of these per block.</summary>
public abstract record Terminator;

public sealed record Jump(BasicBlock Target) : Terminator
{
    public override string ToString() => $"jmp {Target.Name}";
}

/// <summary>Go to <see cref="IfTrue"/> when the condition is non-zero, else to <see cref="IfFalse"/>.</summary>
public sealed record Branch(Operand Condition, BasicBlock IfTrue, BasicBlock IfFalse) : Terminator
{
    public override string ToString() => $"br {Condition}, {IfTrue.Name}, {IfFalse.Name}";
}

public sealed record Return(Operand Value) : Terminator
{
    public override string ToString() => $"ret {Value}";
}
