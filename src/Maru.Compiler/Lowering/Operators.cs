using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>The primitive operators compiled inline, by name and operand count (as emit.l's operator table).</summary>
internal static class Operators
{
    public static readonly IReadOnlyDictionary<string, Opcode> Binary = new Dictionary<string, Opcode>(StringComparer.Ordinal)
    {
        ["+"] = Opcode.Add,
        ["-"] = Opcode.Subtract,
        ["*"] = Opcode.Multiply,
        ["/"] = Opcode.Divide,
        ["%"] = Opcode.Remainder,
        ["&"] = Opcode.And,
        ["|"] = Opcode.Or,
        ["^"] = Opcode.Xor,
        ["<<"] = Opcode.ShiftLeft,
        [">>"] = Opcode.ShiftRight,
        ["<"] = Opcode.Less,
        ["<="] = Opcode.LessOrEqual,
        ["="] = Opcode.Equal,
        ["!="] = Opcode.NotEqual,
        [">="] = Opcode.GreaterOrEqual,
        [">"] = Opcode.Greater,
    };

    public static readonly IReadOnlyDictionary<string, Opcode> Unary = new Dictionary<string, Opcode>(StringComparer.Ordinal)
    {
        ["-"] = Opcode.Negate,
        ["not"] = Opcode.LogicalNot,
    };

    public static bool IsOperator(string name) => Binary.ContainsKey(name) || Unary.ContainsKey(name);
}
