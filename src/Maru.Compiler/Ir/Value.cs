namespace Maru.Compiler.Ir;

/// <summary>A virtual register: an unbounded supply of 64-bit word variables, numbered per function.</summary>
public readonly record struct VReg(int Index)
{
    public override string ToString() => $"%{Index}";
}

/// <summary>An instruction operand: a virtual register or a 64-bit constant.</summary>
public readonly struct Operand : IEquatable<Operand>
{
    private Operand(VReg register, long constant, bool isConstant)
    {
        Register = register;
        Constant = constant;
        IsConstant = isConstant;
    }

    // Declared widest first so the struct packs into 16 bytes (8 + 4 + 1, padded) instead of 24:
    // operands fill every instruction's argument array, phi input and analysis table.
    public long Constant { get; }
    public VReg Register { get; }
    public bool IsConstant { get; }

    public static Operand Of(VReg register) => new(register, 0, isConstant: false);
    public static Operand Of(long constant) => new(default, constant, isConstant: true);

    public static implicit operator Operand(VReg register) => Of(register);

    public bool Equals(Operand other) => IsConstant == other.IsConstant && (IsConstant ? Constant == other.Constant : Register == other.Register);
    public override bool Equals(object? obj) => obj is Operand other && Equals(other);
    public override int GetHashCode() => IsConstant ? Constant.GetHashCode() : Register.GetHashCode() ^ 0x5bd1e995;

    public override string ToString() => IsConstant ? Constant.ToString(System.Globalization.CultureInfo.InvariantCulture) : Register.ToString();
}
