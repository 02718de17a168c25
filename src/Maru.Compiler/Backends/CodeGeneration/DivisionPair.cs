using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// A division and the remainder of the same operands side by side, in either order, that the
/// backend computes with one machine division (<c>FunctionEmitter</c> emits both at the first when
/// both results are used); the register allocator asks the same question so the pair's fixed
/// registers (x86-64's rax and rdx) are taken once, not across the pair's own first result.
/// </summary>
internal static class DivisionPair
{
    /// <summary>
    /// Whether instructions <paramref name="i"/> and i + 1 are one division: a pair no other
    /// division or remainder of the same operands touches on either side (in a run of three, the
    /// emitter's pairs from the front and the allocator's from the back could differ).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool At(List<Instruction> instructions, int i) =>
        (uint)i < (uint)instructions.Count && instructions[i].Op is Opcode.Divide or Opcode.Remainder && PairAt(instructions, i);   // (most instructions are no division)

    private static bool PairAt(List<Instruction> instructions, int i)
    {
        if (i < 0 || i + 1 >= instructions.Count || !Adjacent(instructions[i], instructions[i + 1])) return false;
        return !(i > 0 && SameDivision(instructions[i - 1], instructions[i]))
               && !(i + 2 < instructions.Count && SameDivision(instructions[i + 2], instructions[i]));
    }

    private static bool SameDivision(Instruction other, Instruction pair) =>
        other.Op is Opcode.Divide or Opcode.Remainder && other.Arguments[0].Equals(pair.Arguments[0]) && other.Arguments[1].Equals(pair.Arguments[1]);

    private static bool Adjacent(Instruction first, Instruction second)
    {
        if (first.Op is not (Opcode.Divide or Opcode.Remainder) || second.Op != (first.Op == Opcode.Divide ? Opcode.Remainder : Opcode.Divide)) return false;
        var args = first.Arguments;
        if (!second.Arguments[0].Equals(args[0]) || !second.Arguments[1].Equals(args[1])) return false;
        if (args[1].IsConstant && args[1].Constant is 0 or 1 or -1) return false;
        // The first must leave the operands the second reads alone.
        var written = first.Destination!.Value;
        foreach (var operand in args)
            if (!operand.IsConstant && operand.Register == written) return false;
        return true;
    }
}
