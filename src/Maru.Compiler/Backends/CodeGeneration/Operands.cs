namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>The comparisons of the IR (six signed, four unsigned), as a condition a machine tests after a compare.</summary>
internal enum Condition { Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual, Below, BelowOrEqual, Above, AboveOrEqual }

internal static class Conditions
{
    public static Condition Of(Ir.Opcode op) => op switch
    {
        Ir.Opcode.Equal => Condition.Equal,
        Ir.Opcode.NotEqual => Condition.NotEqual,
        Ir.Opcode.Less => Condition.Less,
        Ir.Opcode.LessOrEqual => Condition.LessOrEqual,
        Ir.Opcode.Greater => Condition.Greater,
        Ir.Opcode.GreaterOrEqual => Condition.GreaterOrEqual,
        Ir.Opcode.Below => Condition.Below,
        Ir.Opcode.BelowOrEqual => Condition.BelowOrEqual,
        Ir.Opcode.Above => Condition.Above,
        Ir.Opcode.AboveOrEqual => Condition.AboveOrEqual,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "not a comparison"),
    };

    /// <summary>The condition with the operands swapped: a &lt; b is b &gt; a.</summary>
    public static Condition Mirror(this Condition condition) => condition switch
    {
        Condition.Less => Condition.Greater,
        Condition.LessOrEqual => Condition.GreaterOrEqual,
        Condition.Greater => Condition.Less,
        Condition.GreaterOrEqual => Condition.LessOrEqual,
        Condition.Below => Condition.Above,
        Condition.BelowOrEqual => Condition.AboveOrEqual,
        Condition.Above => Condition.Below,
        Condition.AboveOrEqual => Condition.BelowOrEqual,
        _ => condition,
    };

    public static Condition Invert(this Condition condition) => condition switch
    {
        Condition.Equal => Condition.NotEqual,
        Condition.NotEqual => Condition.Equal,
        Condition.Less => Condition.GreaterOrEqual,
        Condition.LessOrEqual => Condition.Greater,
        Condition.Greater => Condition.LessOrEqual,
        Condition.GreaterOrEqual => Condition.Less,
        Condition.Below => Condition.AboveOrEqual,
        Condition.BelowOrEqual => Condition.Above,
        Condition.Above => Condition.BelowOrEqual,
        Condition.AboveOrEqual => Condition.Below,
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };
}

internal enum OperandKind : byte { None, Register, Memory, Immediate, Indexed }

/// <summary>
/// An operand after allocation: a register, a frame word (at an offset the machine emitter
/// chose: from its frame or stack pointer), a constant, or (only for a machine that
/// <see cref="MachineEmitter.FoldsLoads"/>) the word or byte a load would have read,
/// [base + index*scale + displacement], folded into the one instruction that uses it.
/// </summary>
internal readonly record struct Loc(OperandKind Kind, int Register, int Offset, long Value)
{
    public static Loc Reg(int register) => new(OperandKind.Register, register, 0, 0);
    public static Loc Mem(int offset) => new(OperandKind.Memory, -1, offset, 0);
    public static Loc Imm(long value) => new(OperandKind.Immediate, -1, 0, value);

    /// <summary>A word (or zero-extended byte) in memory at base + index*scale + displacement; index -1: none.</summary>
    public static Loc Indexed(int baseRegister, int index, int scale, int displacement, bool word) =>
        new(OperandKind.Indexed, baseRegister, displacement, (long)(uint)(index + 1) | ((long)scale << 8) | (word ? 1L << 16 : 0));

    public bool IsReg => Kind == OperandKind.Register;
    public bool IsMem => Kind == OperandKind.Memory;
    public bool IsImm => Kind == OperandKind.Immediate;
    public bool IsIndexed => Kind == OperandKind.Indexed;
    /// <summary>Of an indexed operand: the index register, or -1.</summary>
    public int IndexRegister => (int)(Value & 0xff) - 1;
    public int Scale => (int)((Value >> 8) & 0xff);
    public bool IsWord => (Value & (1L << 16)) != 0;
    /// <summary>An indexed operand reads this register (its base or index).</summary>
    public bool Reads(int register) => IsIndexed && (Register == register || IndexRegister == register);
    public bool Is(int register) => Kind == OperandKind.Register && Register == register;
    public bool Is32 => IsImm && Value is >= int.MinValue and <= int.MaxValue;
}
