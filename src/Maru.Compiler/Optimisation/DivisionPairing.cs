using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Puts a remainder right after the division of the same operands in its block (or that division
/// right before the remainder), so the backend computes both with one division: x86-64's idiv
/// leaves the quotient in rax and the remainder in rdx, AArch64's sdiv gives the quotient that
/// msub turns into the remainder (<c>FunctionEmitter</c> pairs them when they are adjacent). A
/// number's digits, a quotient and remainder returned through a record, a mixed-radix split: the
/// second division went. The instruction moves past at most <see cref="MaxDistance"/> others that
/// neither write its operands nor read or write its destination (Plain form: registers may be
/// written more than once). Both operations are pure, so nothing else about the order changes.
/// The quotient comes first, unless it is copied into one of the operands' registers somewhere
/// (a loop's <c>x = x / b</c>): then the remainder comes first, so the division is the operands'
/// last reader and the allocator may give the quotient the dividend's register, and the copy goes
/// (the other order keeps the operands alive at the remainder, past the quotient's definition).
/// Requires: Plain form. Guarantees: the same instructions in each block, only reordered.
/// </summary>
internal static class DivisionPairing
{
    /// <summary>How far a division or remainder is moved (bounds the work per block: linear).</summary>
    public const int MaxDistance = 32;

    public static void Run(IrFunction function)
    {
        HashSet<(VReg Destination, VReg Source)>? copies = null;
        foreach (var block in function.Blocks)
        {
            var instructions = block.Instructions;
            for (var i = 0; i < instructions.Count; i++)
            {
                var instruction = instructions[i];
                // One that overwrites its own operand leaves nothing to pair with.
                if (instruction.Op is not (Opcode.Divide or Opcode.Remainder) || !NeedsDivision(instruction.Arguments[1]) || instruction.WritesAnyOf(instruction.Arguments)) continue;
                var wanted = instruction.Op == Opcode.Divide ? Opcode.Remainder : Opcode.Divide;
                for (var j = i + 1; j < instructions.Count && j <= i + MaxDistance; j++)
                {
                    var other = instructions[j];
                    if (other.Op == wanted && SameOperands(other, instruction))
                    {
                        copies ??= Copies(function);
                        var quotient = instruction.Op == Opcode.Divide ? instruction.Destination!.Value : other.Destination!.Value;
                        var first = CopiedIntoOperand(copies, quotient, instruction.Arguments) ? Opcode.Remainder : Opcode.Divide;
                        // The later one moves up to follow or precede the earlier, whichever puts `first` first.
                        var to = instruction.Op == first ? i + 1 : i;
                        if (j != to)
                        {
                            if (!CanMoveUp(instructions, j, to)) break;
                            instructions.RemoveAt(j);
                            instructions.Insert(to, other);
                        }
                        i++;   // the pair is done
                        break;
                    }
                    if (other.WritesAnyOf(instruction.Arguments)) break;   // the operands change: no pair past here
                }
            }
        }
    }

    /// <summary>Every copy between registers in the function (destination, source).</summary>
    private static HashSet<(VReg Destination, VReg Source)> Copies(IrFunction function)
    {
        var copies = new HashSet<(VReg, VReg)>();
        foreach (var block in function.Blocks)
            foreach (var instruction in block.Instructions)
                if (instruction is { Op: Opcode.Copy, Destination: { } d, Arguments: [{ IsConstant: false } source] })
                    copies.Add((d, source.Register));
        return copies;
    }

    private static bool CopiedIntoOperand(HashSet<(VReg Destination, VReg Source)> copies, VReg quotient, Operand[] operands)
    {
        foreach (var operand in operands)
            if (!operand.IsConstant && copies.Contains((operand.Register, quotient))) return true;
        return false;
    }

    /// <summary>A divisor the backends divide by (0, 1 and -1 as constants need no division).</summary>
    private static bool NeedsDivision(Operand divisor) => !(divisor.IsConstant && divisor.Constant is 0 or 1 or -1);

    private static bool SameOperands(Instruction a, Instruction b) =>
        a.Arguments[0].Equals(b.Arguments[0]) && a.Arguments[1].Equals(b.Arguments[1]);

    /// <summary>
    /// Whether instruction <paramref name="from"/> may move to position <paramref name="to"/>:
    /// what lies between writes none of its operands and neither reads nor writes its destination.
    /// </summary>
    private static bool CanMoveUp(List<Instruction> instructions, int from, int to)
    {
        var moving = instructions[from];
        var destination = moving.Destination!.Value;
        for (var k = to; k < from; k++)
        {
            var between = instructions[k];
            if (between.WritesAnyOf(moving.Arguments) || between.Destination == destination) return false;
            foreach (var argument in between.Arguments)
                if (!argument.IsConstant && argument.Register == destination) return false;
        }
        return true;
    }
}
