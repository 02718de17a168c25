using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Moves the instruction whose result a block's branch tests down to the branch, so the flags it
/// sets are still there when the branch reads them: a comparison becomes cmp + jcc instead of a
/// set into a register and a test, and an add/sub/and/or/xor whose register the branch tests for
/// zero needs no test (x86-64 reuses the operation's zero flag). Loops written as
/// <c>(set x (&amp; x (- x 1))) (set c (+ c 1))</c> with the test of x at the bottom had the
/// counter's add between the and and the branch. The producer P is the last instruction writing
/// the branch's register, or, when that is a copy (what SSA destruction leaves for a loop
/// variable), the last instruction writing the copy's source. Every instruction after P that
/// neither reads a value P or its dependants made nor overwrites a register they read or write
/// moves above P in its order; the rest (the dependants) must all be copies, which coalescing
/// usually makes free, otherwise the block stays as it is (moving only pays when P then ends up
/// last but for copies). Pure P only, so no memory order changes; P's operands live a few
/// instructions longer, its result shorter.
/// Requires: Plain form. Guarantees: the same instructions in each block, only reordered.
/// </summary>
internal static class FlagScheduling
{
    public static void Run(IrFunction function)
    {
        List<Instruction>? independents = null, dependants = null;
        HashSet<int>? made = null, used = null;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            if (block.Terminator is not Branch { Condition.IsConstant: false } branch) continue;
            var instructions = block.Instructions;
            var p = LastWriter(instructions, branch.Condition.Register, instructions.Count);
            if (p < 0) continue;
            if (instructions[p] is { Op: Opcode.Copy } copy && !copy.Arguments[0].IsConstant)
            {
                p = LastWriter(instructions, copy.Arguments[0].Register, p);
                if (p < 0) continue;
            }
            var producer = instructions[p];
            if (!SetsFlags(producer.Op) || p == instructions.Count - 1) continue;

            independents ??= [];
            dependants ??= [];
            made ??= [];
            used ??= [];
            independents.Clear();
            dependants.Clear();
            made.Clear();
            used.Clear();
            made.Add(producer.Destination!.Value.Index);
            AddReads(producer, used);
            var movable = true;
            for (var j = p + 1; j < instructions.Count && movable; j++)
            {
                var instruction = instructions[j];
                if (DependsOn(instruction, made, used))
                {
                    if (instruction.Op != Opcode.Copy) movable = false;
                    if (instruction.Destination is { } d) made.Add(d.Index);
                    AddReads(instruction, used);
                    dependants.Add(instruction);
                }
                else independents.Add(instruction);
            }
            if (!movable || independents.Count == 0) continue;
            instructions.RemoveRange(p, instructions.Count - p);
            instructions.AddRange(independents);
            instructions.Add(producer);
            instructions.AddRange(dependants);
        }
    }

    /// <summary>The operations whose flags a branch right after them can read (a comparison, a zero test of the result).</summary>
    private static bool SetsFlags(Opcode op) =>
        op.IsComparison() || op is Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Add or Opcode.Subtract or Opcode.LogicalNot;

    private static int LastWriter(List<Instruction> instructions, VReg register, int before)
    {
        for (var i = before - 1; i >= 0; i--)
            if (instructions[i].Destination == register) return i;
        return -1;
    }

    private static void AddReads(Instruction instruction, HashSet<int> used)
    {
        foreach (var operand in instruction.Arguments)
            if (!operand.IsConstant) used.Add(operand.Register.Index);
    }

    /// <summary>Whether <paramref name="instruction"/> must stay after the producer and its dependants: it reads what they made, or writes what they read or made.</summary>
    private static bool DependsOn(Instruction instruction, HashSet<int> made, HashSet<int> used)
    {
        foreach (var operand in instruction.Arguments)
            if (!operand.IsConstant && made.Contains(operand.Register.Index)) return true;
        return instruction.Destination is { } d && (made.Contains(d.Index) || used.Contains(d.Index));
    }
}
