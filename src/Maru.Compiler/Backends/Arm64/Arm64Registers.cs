namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// A general-purpose register where encoding 31 means the zero register: x0-x30 or xzr as a
/// 64-bit operand, w0-w30 or wzr as a 32-bit one. Instruction fields that read 31 as the stack
/// pointer take <see cref="RegisterOrSp"/> instead, so the type says which of the two a field
/// means (passing sp where the zero register would be read does not compile).
/// </summary>
public readonly record struct Register
{
    private Register(int code, bool is64)
    {
        Code = code;
        Is64 = is64;
    }

    /// <summary>The 5-bit field value: 0-30, or 31 for the zero register.</summary>
    public int Code { get; }

    /// <summary>True for the x view (64 bits), false for the w view (32 bits).</summary>
    public bool Is64 { get; }

    public bool IsZero => Code == 31;

    public static Register X(int number) => new(CheckNumber(number), true);

    public static Register W(int number) => new(CheckNumber(number), false);

    public static readonly Register Xzr = new(31, true);
    public static readonly Register Wzr = new(31, false);

    /// <summary>The same register seen with the other width (x3 -> w3).</summary>
    public Register As64 => new(Code, true);
    public Register As32 => new(Code, false);

    /// <summary>The same register number in a stack-pointer context; the zero register has none.</summary>
    public RegisterOrSp OrSp => IsZero
        ? throw new Arm64EncodingException($"{this} cannot be used where register 31 means sp")
        : Is64 ? RegisterOrSp.X(Code) : RegisterOrSp.W(Code);

    private static int CheckNumber(int number) => number is >= 0 and <= 30
        ? number
        : throw new Arm64EncodingException($"general register number {number} is outside 0-30 (use Xzr/Wzr for the zero register)");

    public override string ToString() => IsZero ? (Is64 ? "xzr" : "wzr") : $"{(Is64 ? 'x' : 'w')}{Code}";
}

/// <summary>
/// A general-purpose register where encoding 31 means the stack pointer: x0-x30 or sp (w0-w30
/// or wsp): the base of an address, the operands of add/sub (immediate and extended register).
/// </summary>
public readonly record struct RegisterOrSp
{
    private RegisterOrSp(int code, bool is64)
    {
        Code = code;
        Is64 = is64;
    }

    public int Code { get; }

    public bool Is64 { get; }

    public bool IsSp => Code == 31;

    public static RegisterOrSp X(int number) => new(Register.X(number).Code, true);

    public static RegisterOrSp W(int number) => new(Register.W(number).Code, false);

    public static readonly RegisterOrSp Sp = new(31, true);
    public static readonly RegisterOrSp Wsp = new(31, false);

    /// <summary>x0-x30 convert implicitly; the zero register throws (it has no sp-context meaning).</summary>
    public static implicit operator RegisterOrSp(Register register) => register.OrSp;

    /// <summary>The same register in a zero-register context; sp has none.</summary>
    public Register AsRegister => IsSp
        ? throw new Arm64EncodingException($"{this} cannot be used where register 31 means the zero register")
        : Is64 ? Register.X(Code) : Register.W(Code);

    public override string ToString() => IsSp ? (Is64 ? "sp" : "wsp") : $"{(Is64 ? 'x' : 'w')}{Code}";
}

/// <summary>Condition codes of b.cond, csel and friends (the 4-bit field values).</summary>
public enum Condition
{
    Eq = 0, Ne = 1,
    /// <summary>Unsigned higher or same (carry set).</summary>
    Hs = 2,
    /// <summary>Unsigned lower (carry clear).</summary>
    Lo = 3,
    Mi = 4, Pl = 5, Vs = 6, Vc = 7,
    Hi = 8, Ls = 9, Ge = 10, Lt = 11, Gt = 12, Le = 13,
    Al = 14, Nv = 15,
}

public static class ConditionExtensions
{
    /// <summary>The condition that holds exactly when this one does not (al and nv have no inverse).</summary>
    public static Condition Invert(this Condition condition) => condition is Condition.Al or Condition.Nv
        ? throw new Arm64EncodingException($"condition {condition} has no inverse")
        : (Condition)((int)condition ^ 1);

    public static string Name(this Condition condition) => condition.ToString().ToLowerInvariant();
}

/// <summary>Shift applied to the last register operand of data-processing (shifted register) forms.</summary>
public enum Shift { Lsl = 0, Lsr = 1, Asr = 2, Ror = 3 }

/// <summary>Extension applied to the index register of extended-register forms and register-offset addresses.</summary>
public enum Extend { Uxtb = 0, Uxth = 1, Uxtw = 2, Uxtx = 3, Sxtb = 4, Sxth = 5, Sxtw = 6, Sxtx = 7 }
