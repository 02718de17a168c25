namespace Maru.Compiler.Ir;

/// <summary>
/// The operations of the IR. All values are 64-bit words. Arithmetic wraps; division and
/// remainder are total (x / 0 = 0, x % 0 = 0, MIN / -1 = MIN) so no target ever traps;
/// shifts take their count modulo 64; comparisons yield 0 or 1 and are signed, except the four
/// unsigned ones only the optimiser writes (a range check lo &lt;= x &lt;= hi is (x - lo) &lt;=u (hi - lo)).
/// </summary>
public enum Opcode
{
    Copy,        // dest = a
    Negate,      // dest = -a
    LogicalNot,  // dest = a == 0 ? 1 : 0
    Add, Subtract, Multiply,
    MultiplyHigh, // dest = the high 64 bits of the signed 128-bit product a * b (division by constants)
    Divide, Remainder,
    And, Or, Xor, ShiftLeft, ShiftRight,
    ShiftRightLogical, // dest = a >>> b (zeros in from the left; count modulo 64): only the optimiser writes it, for (x >> k) & (2^(64-k) - 1)
    Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual,
    Below, BelowOrEqual, Above, AboveOrEqual,   // unsigned <, <=, >, >= (the optimiser's range checks)
    Select,      // dest = a != 0 ? b : c                 if-conversion (IfConversion): cmov / csel, no branch
    LoadGlobal,  // dest = global
    StoreGlobal, // global = a
    Call,        // dest = function(args...)            direct call of a function of this module
    CallImport,  // dest = import(args...)              through the import's GOT slot; variadic-safe
    CallIndirect,// dest = (a)(args...)                 a is any function address

    GlobalAddress,   // dest = &global
    FunctionAddress, // dest = &function
    ImportAddress,   // dest = address of the imported function
    StringAddress,   // dest = address of a NUL-terminated string constant (read-only)
    Alloca,          // dest = address of a frame-lived block of a (constant) bytes; entry block only

    // Memory: an optional last constant operand d is a byte displacement (0 when absent; only
    // AddressFolding, the last SSA pass, writes it). Addresses wrap modulo 2^64.
    LoadWord,    // dest = *(int64*)(a + 8*b [+ d])          oop-at
    LoadByte,    // dest = *(uint8*)(a + b [+ d])            string-at
    StoreWord,   // *(int64*)(a + 8*b [+ d]) = c             set-oop-at
    StoreByte,   // *(uint8*)(a + b [+ d]) = (uint8)c        set-string-at
}

public static class OpcodeFacts
{
    public static bool IsBinary(this Opcode op) => op is >= Opcode.Add and <= Opcode.AboveOrEqual;

    public static bool IsComparison(this Opcode op) => op is >= Opcode.Equal and <= Opcode.AboveOrEqual;

    /// <summary>The comparison that holds exactly when <paramref name="op"/> does not (signed, unsigned and equality alike).</summary>
    public static Opcode Negated(this Opcode op) => op switch
    {
        Opcode.Equal => Opcode.NotEqual,
        Opcode.NotEqual => Opcode.Equal,
        Opcode.Less => Opcode.GreaterOrEqual,
        Opcode.LessOrEqual => Opcode.Greater,
        Opcode.Greater => Opcode.LessOrEqual,
        Opcode.GreaterOrEqual => Opcode.Less,
        Opcode.Below => Opcode.AboveOrEqual,
        Opcode.BelowOrEqual => Opcode.Above,
        Opcode.Above => Opcode.BelowOrEqual,
        Opcode.AboveOrEqual => Opcode.Below,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>The comparison op' with b op' a exactly when a op b (operands swapped).</summary>
    public static Opcode Mirrored(this Opcode op) => op switch
    {
        Opcode.Equal or Opcode.NotEqual => op,
        Opcode.Less => Opcode.Greater,
        Opcode.LessOrEqual => Opcode.GreaterOrEqual,
        Opcode.Greater => Opcode.Less,
        Opcode.GreaterOrEqual => Opcode.LessOrEqual,
        Opcode.Below => Opcode.Above,
        Opcode.BelowOrEqual => Opcode.AboveOrEqual,
        Opcode.Above => Opcode.Below,
        Opcode.AboveOrEqual => Opcode.BelowOrEqual,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>The value of <c>select c, a, b</c>: a when c is non-zero, else b.</summary>
    public static long Select(long c, long a, long b) => c != 0 ? a : b;

    public static bool IsCall(this Opcode op) => op is Opcode.Call or Opcode.CallImport or Opcode.CallIndirect;

    /// <summary>Operations whose effect is more than their result: they may never be removed or reordered freely.</summary>
    public static bool HasSideEffects(this Opcode op) =>
        op.IsCall() || op is Opcode.StoreGlobal or Opcode.StoreWord or Opcode.StoreByte;

    public static string Mnemonic(this Opcode op) => op switch
    {
        Opcode.Copy => "copy",
        Opcode.Negate => "neg",
        Opcode.LogicalNot => "not",
        Opcode.Add => "add",
        Opcode.Subtract => "sub",
        Opcode.Multiply => "mul",
        Opcode.MultiplyHigh => "mulh",
        Opcode.Divide => "div",
        Opcode.Remainder => "rem",
        Opcode.And => "and",
        Opcode.Or => "or",
        Opcode.Xor => "xor",
        Opcode.ShiftLeft => "shl",
        Opcode.ShiftRight => "sar",
        Opcode.ShiftRightLogical => "shr",
        Opcode.Equal => "eq",
        Opcode.NotEqual => "ne",
        Opcode.Less => "lt",
        Opcode.LessOrEqual => "le",
        Opcode.Greater => "gt",
        Opcode.GreaterOrEqual => "ge",
        Opcode.Below => "ltu",
        Opcode.BelowOrEqual => "leu",
        Opcode.Above => "gtu",
        Opcode.AboveOrEqual => "geu",
        Opcode.Select => "sel",
        Opcode.LoadGlobal => "loadg",
        Opcode.StoreGlobal => "storeg",
        Opcode.Call => "call",
        Opcode.CallImport => "calli",
        Opcode.CallIndirect => "callp",
        Opcode.GlobalAddress => "addrg",
        Opcode.FunctionAddress => "addrf",
        Opcode.ImportAddress => "addri",
        Opcode.StringAddress => "addrs",
        Opcode.Alloca => "alloca",
        Opcode.LoadWord => "loadw",
        Opcode.LoadByte => "loadb",
        Opcode.StoreWord => "storew",
        Opcode.StoreByte => "storeb",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>The value a binary operation computes, with the IR's total semantics (used by folding and tests).</summary>
    public static long Evaluate(this Opcode op, long a, long b) => op switch
    {
        Opcode.Add => unchecked(a + b),
        Opcode.Subtract => unchecked(a - b),
        Opcode.Multiply => unchecked(a * b),
        Opcode.MultiplyHigh => Math.BigMul(a, b, out _),
        Opcode.Divide => b == 0 ? 0 : b == -1 ? unchecked(-a) : a / b,
        Opcode.Remainder => b == 0 || b == -1 ? 0 : a % b,
        Opcode.And => a & b,
        Opcode.Or => a | b,
        Opcode.Xor => a ^ b,
        Opcode.ShiftLeft => a << (int)(b & 63),
        Opcode.ShiftRight => a >> (int)(b & 63),
        Opcode.ShiftRightLogical => (long)((ulong)a >> (int)(b & 63)),
        Opcode.Equal => a == b ? 1 : 0,
        Opcode.NotEqual => a != b ? 1 : 0,
        Opcode.Less => a < b ? 1 : 0,
        Opcode.LessOrEqual => a <= b ? 1 : 0,
        Opcode.Greater => a > b ? 1 : 0,
        Opcode.GreaterOrEqual => a >= b ? 1 : 0,
        Opcode.Below => (ulong)a < (ulong)b ? 1 : 0,
        Opcode.BelowOrEqual => (ulong)a <= (ulong)b ? 1 : 0,
        Opcode.Above => (ulong)a > (ulong)b ? 1 : 0,
        Opcode.AboveOrEqual => (ulong)a >= (ulong)b ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
