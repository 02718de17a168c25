using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>What lowering makes of a combination's head name before it asks the unit (a special form) or after (an operator).</summary>
internal enum FormKind : byte
{
    /// <summary>Neither a special form nor an operator: a call, resolved by the unit.</summary>
    Call,
    Let, If, While, Set, And, Or, Return, AddressOf,
    /// <summary>quote and quasiquote: data that exists only at compile time.</summary>
    Quote,
    Lambda,
    /// <summary>A primitive operator compiled inline (<see cref="Operators"/>).</summary>
    Operator,
}

/// <summary>A head name's meaning to lowering: its form kind, and for an operator its opcode by operand count (null where it takes no such count).</summary>
internal readonly record struct HeadForm(FormKind Kind, Opcode? Unary = null, Opcode? Binary = null, Opcode? Ternary = null);

/// <summary>The primitive operators compiled inline, by name and operand count (as emit.l's operator table).</summary>
internal static class Operators
{
    /// <summary>
    /// The special form or operator <paramref name="name"/> names, by one switch on the name (lowering
    /// meets every combination of the program: one test of the name instead of a dictionary per table).
    /// </summary>
    public static HeadForm Classify(string name) => name switch
    {
        "let" => new(FormKind.Let),
        "if" => new(FormKind.If),
        "while" => new(FormKind.While),
        "set" => new(FormKind.Set),
        "and" => new(FormKind.And),
        "or" => new(FormKind.Or),
        "return" => new(FormKind.Return),
        "address-of" => new(FormKind.AddressOf),
        "quote" or "quasiquote" => new(FormKind.Quote),
        "lambda" => new(FormKind.Lambda),
        "-" => new(FormKind.Operator, Unary: Opcode.Negate, Binary: Opcode.Subtract),
        "not" => new(FormKind.Operator, Unary: Opcode.LogicalNot),
        "+" => new(FormKind.Operator, Binary: Opcode.Add),
        "*" => new(FormKind.Operator, Binary: Opcode.Multiply),
        "/" => new(FormKind.Operator, Binary: Opcode.Divide),
        "%" => new(FormKind.Operator, Binary: Opcode.Remainder),
        "&" => new(FormKind.Operator, Binary: Opcode.And),
        "|" => new(FormKind.Operator, Binary: Opcode.Or),
        "^" => new(FormKind.Operator, Binary: Opcode.Xor),
        "<<" => new(FormKind.Operator, Binary: Opcode.ShiftLeft),
        ">>" => new(FormKind.Operator, Binary: Opcode.ShiftRight),
        "<" => new(FormKind.Operator, Binary: Opcode.Less),
        "<=" => new(FormKind.Operator, Binary: Opcode.LessOrEqual),
        "=" => new(FormKind.Operator, Binary: Opcode.Equal),
        "!=" => new(FormKind.Operator, Binary: Opcode.NotEqual),
        ">=" => new(FormKind.Operator, Binary: Opcode.GreaterOrEqual),
        ">" => new(FormKind.Operator, Binary: Opcode.Greater),
        "oop-at" => new(FormKind.Operator, Binary: Opcode.LoadWord),
        "string-at" => new(FormKind.Operator, Binary: Opcode.LoadByte),
        "set-oop-at" => new(FormKind.Operator, Ternary: Opcode.StoreWord),
        "set-string-at" => new(FormKind.Operator, Ternary: Opcode.StoreByte),
        _ => default,
    };

    public static bool IsOperator(string name) => Classify(name).Kind == FormKind.Operator;

    /// <summary>"1 operand", "1 or 2 operands"...: what an operator accepts, for messages.</summary>
    public static string Arity(string name)
    {
        var form = Classify(name);
        var counts = new List<int>();
        if (form.Unary is not null) counts.Add(1);
        if (form.Binary is not null) counts.Add(2);
        if (form.Ternary is not null) counts.Add(3);
        return string.Join(" or ", counts) + (counts is [1] ? " operand" : " operands");
    }
}
