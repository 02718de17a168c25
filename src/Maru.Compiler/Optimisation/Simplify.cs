using System.Numerics;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Algebraic simplification and strength reduction, one instruction at a time, always keeping the
/// IR's total semantics (x / 0 = 0, x % 0 = 0, MIN / -1 = MIN, shift counts modulo 64):
/// constants move to the right of commutative operations and comparisons; identities (x + 0,
/// x * 1, x | 0, x &lt;&lt; 64 ...) become copies; multiplication by 2^k becomes a shift; signed
/// division and remainder by ±2^k become shifts and masks with the rounding toward zero of the
/// hardware divide; a branch on (x != 0), (x == 0) or (not x) branches on x directly.
/// Requires: SSA (new registers are single definitions). Guarantees: same values; copies it leaves
/// are for copy propagation to remove.
/// </summary>
internal static class Simplify
{
    public static void Run(IrFunction function)
    {
        var output = new List<Instruction>();
        foreach (var block in function.Blocks)
        {
            output.Clear();
            foreach (var instruction in block.Instructions)
            {
                if (instruction.Op.IsBinary()) Binary(function, instruction, output);
                output.Add(instruction);
            }
            if (output.Count != block.Instructions.Count)
            {
                block.Instructions.Clear();
                block.Instructions.AddRange(output);
            }
        }

        var definition = new Instruction?[function.RegisterCount];
        foreach (var block in function.Blocks)
            foreach (var instruction in block.Instructions)
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
        foreach (var block in function.Blocks)
            if (block.Terminator is Branch branch)
                block.Terminator = SimplifyBranch(branch, definition);
    }

    /// <summary>Rewrites one binary instruction; any extra instructions it needs go to <paramref name="output"/> before it.</summary>
    private static bool Binary(IrFunction function, Instruction instruction, List<Instruction> output)
    {
        var op = instruction.Op;
        var x = instruction.Arguments[0];
        var y = instruction.Arguments[1];
        if (x.IsConstant && y.IsConstant)
            return Become(instruction, Opcode.Copy, Operand.Of(op.Evaluate(x.Constant, y.Constant)));
        if (x.IsConstant && Mirrored(op) is { } mirror)
        {
            instruction.Rewrite(mirror, y, x);
            (op, x, y) = (mirror, y, x);
            Binary(function, instruction, output);
            return true;
        }
        if (x.Equals(y))
        {
            switch (op)
            {
                case Opcode.Subtract or Opcode.Xor or Opcode.NotEqual or Opcode.Less or Opcode.Greater:
                    return Become(instruction, Opcode.Copy, Operand.Of(0));
                case Opcode.Equal or Opcode.LessOrEqual or Opcode.GreaterOrEqual:
                    return Become(instruction, Opcode.Copy, Operand.Of(1));
                case Opcode.And or Opcode.Or:
                    return Become(instruction, Opcode.Copy, x);
            }
        }
        if (x.IsConstant)
        {
            // Only the non-commutative operations get here with a constant on the left.
            if (x.Constant == 0 && op is Opcode.Divide or Opcode.Remainder or Opcode.ShiftLeft or Opcode.ShiftRight)
                return Become(instruction, Opcode.Copy, Operand.Of(0));  // 0/y = 0 for every y, even 0 and -1
            if (x.Constant == -1 && op == Opcode.ShiftRight)
                return Become(instruction, Opcode.Copy, Operand.Of(-1));
            if (x.Constant == 0 && op == Opcode.Subtract)
                return Become(instruction, Opcode.Negate, y);
            return false;
        }
        if (!y.IsConstant) return false;
        var c = y.Constant;
        switch (op)
        {
            case Opcode.Add or Opcode.Subtract or Opcode.Or or Opcode.Xor when c == 0:
                return Become(instruction, Opcode.Copy, x);
            case Opcode.ShiftLeft or Opcode.ShiftRight:
                if ((c & 63) == 0) return Become(instruction, Opcode.Copy, x);
                if (c is < 0 or > 63) return Become(instruction, op, x, Operand.Of(c & 63));
                return false;
            case Opcode.And:
                if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));
                if (c == -1) return Become(instruction, Opcode.Copy, x);
                return false;
            case Opcode.Or when c == -1:
                return Become(instruction, Opcode.Copy, Operand.Of(-1));
            case Opcode.Multiply:
                if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));
                if (c == 1) return Become(instruction, Opcode.Copy, x);
                if (c == -1) return Become(instruction, Opcode.Negate, x);
                if (IsPowerOfTwo(c)) return Become(instruction, Opcode.ShiftLeft, x, Operand.Of(Log2(c)));  // also c = MIN = 2^63
                return false;
            case Opcode.Divide:
                return Divide(function, instruction, x, c, output);
            case Opcode.Remainder:
                return Remainder(function, instruction, x, c, output);
        }
        return false;
    }

    private static bool Divide(IrFunction function, Instruction instruction, Operand x, long c, List<Instruction> output)
    {
        if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));           // x / 0 = 0
        if (c == 1) return Become(instruction, Opcode.Copy, x);
        if (c == -1) return Become(instruction, Opcode.Negate, x);                    // MIN / -1 = MIN = -MIN
        if (c == long.MinValue) return Become(instruction, Opcode.Equal, x, Operand.Of(long.MinValue));
        var magnitude = Math.Abs(c);
        if (!IsPowerOfTwo(magnitude)) return false;
        // Truncating division by 2^k: add 2^k - 1 to negative dividends before shifting, so
        // (x + ((x >> 63) & (2^k - 1))) >> k rounds toward zero like idiv. x / -2^k = -(x / 2^k).
        var k = Log2(magnitude);
        var quotient = RoundedTowardZero(function, instruction, x, k, output);
        if (c > 0) return Become(instruction, Opcode.ShiftRight, quotient, Operand.Of(k));
        var shifted = Emit(function, instruction, Opcode.ShiftRight, output, quotient, Operand.Of(k));
        return Become(instruction, Opcode.Negate, shifted);
    }

    private static bool Remainder(IrFunction function, Instruction instruction, Operand x, long c, List<Instruction> output)
    {
        if (c is 0 or 1 or -1) return Become(instruction, Opcode.Copy, Operand.Of(0)); // x % 0 = 0, x % ±1 = 0
        if (c == long.MinValue) return false;
        var magnitude = Math.Abs(c);
        if (!IsPowerOfTwo(magnitude)) return false;
        // The remainder has the dividend's sign: x - ((x + bias) & -2^k), and x % -d = x % d.
        var k = Log2(magnitude);
        var biased = RoundedTowardZero(function, instruction, x, k, output);
        var multiple = Emit(function, instruction, Opcode.And, output, biased, Operand.Of(-magnitude));
        return Become(instruction, Opcode.Subtract, x, multiple);
    }

    /// <summary>x + ((x >> 63) &amp; (2^k - 1)): the dividend biased so an arithmetic shift by k truncates toward zero.</summary>
    private static Operand RoundedTowardZero(IrFunction function, Instruction at, Operand x, int k, List<Instruction> output)
    {
        var sign = Emit(function, at, Opcode.ShiftRight, output, x, Operand.Of(63));
        var bias = Emit(function, at, Opcode.And, output, sign, Operand.Of((1L << k) - 1));
        return Emit(function, at, Opcode.Add, output, x, bias);
    }

    private static Terminator SimplifyBranch(Branch branch, Instruction?[] definition)
    {
        var condition = branch.Condition;
        var swapped = false;
        // Peel (x != 0), (x == 0) and (not x) off the condition, flipping the targets as needed.
        for (var steps = 0; steps < 4 && !condition.IsConstant && definition[condition.Register.Index] is { } def; steps++)
        {
            if (def.Op == Opcode.NotEqual && def.Arguments[1] is { IsConstant: true, Constant: 0 })
                condition = def.Arguments[0];
            else if (def.Op == Opcode.Equal && def.Arguments[1] is { IsConstant: true, Constant: 0 })
                (condition, swapped) = (def.Arguments[0], !swapped);
            else if (def.Op == Opcode.LogicalNot)
                (condition, swapped) = (def.Arguments[0], !swapped);
            else
                break;
        }
        if (condition.Equals(branch.Condition)) return branch;
        return swapped ? new Branch(condition, branch.IfFalse, branch.IfTrue) : new Branch(condition, branch.IfTrue, branch.IfFalse);
    }

    private static Opcode? Mirrored(Opcode op) => op switch
    {
        Opcode.Add or Opcode.Multiply or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Equal or Opcode.NotEqual => op,
        Opcode.Less => Opcode.Greater,
        Opcode.Greater => Opcode.Less,
        Opcode.LessOrEqual => Opcode.GreaterOrEqual,
        Opcode.GreaterOrEqual => Opcode.LessOrEqual,
        _ => null,
    };

    private static bool Become(Instruction instruction, Opcode op, params Operand[] arguments)
    {
        instruction.Rewrite(op, arguments);
        return true;
    }

    private static VReg Emit(IrFunction function, Instruction at, Opcode op, List<Instruction> output, params Operand[] arguments)
    {
        var destination = function.NewRegister();
        output.Add(new Instruction(op, destination, arguments, null, at.Location));
        return destination;
    }

    private static bool IsPowerOfTwo(long c) => c != 0 && (c & (c - 1)) == 0;

    private static int Log2(long c) => BitOperations.TrailingZeroCount((ulong)c);
}
