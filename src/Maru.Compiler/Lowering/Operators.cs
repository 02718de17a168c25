using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>The primitive operators compiled inline, by name and operand count (as emit.l's operator table).</summary>
internal static class Operators
{
    public static readonly IReadOnlyDictionary<string, Opcode> Unary = new Dictionary<string, Opcode>(StringComparer.Ordinal)
    {
        ["-"] = Opcode.Negate,
        ["not"] = Opcode.LogicalNot,
    };

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
        ["oop-at"] = Opcode.LoadWord,
        ["string-at"] = Opcode.LoadByte,
    };

    public static readonly IReadOnlyDictionary<string, Opcode> Ternary = new Dictionary<string, Opcode>(StringComparer.Ordinal)
    {
        ["set-oop-at"] = Opcode.StoreWord,
        ["set-string-at"] = Opcode.StoreByte,
    };

    public static bool IsOperator(string name) => Binary.ContainsKey(name) || Unary.ContainsKey(name) || Ternary.ContainsKey(name);

    /// <summary>"1 operand", "1 or 2 operands"...: what an operator accepts, for messages.</summary>
    public static string Arity(string name)
    {
        var counts = new List<int>();
        if (Unary.ContainsKey(name)) counts.Add(1);
        if (Binary.ContainsKey(name)) counts.Add(2);
        if (Ternary.ContainsKey(name)) counts.Add(3);
        return string.Join(" or ", counts) + (counts is [1] ? " operand" : " operands");
    }
}
