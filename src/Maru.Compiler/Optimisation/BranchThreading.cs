using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Branch cleanup after SSA destruction and loop rotation, where <c>and</c>/<c>or</c> joins leave
/// a branch on a copy of a value just tested or just compared:
/// a branch on <c>v</c> whose block last set <c>v = copy w</c> (w unchanged since) branches on
/// <c>w</c> (jumps when w is a constant: an edge's known and/or value, <see cref="BranchFacts"/>,
/// or a comparison of constants the block itself copied, what a join's constant phi inputs leave
/// once the test is duplicated into each predecessor: a three-way compare's -1/0/1 tested
/// by its caller); a block reached only over edges of branches on <c>c</c> that agree (all the true
/// edges or all the false ones) and that branches on <c>c</c> again (c unchanged in between)
/// jumps where those edges already decided; then pure instructions whose
/// register nothing reads any more are deleted, so a compare can again end its block next to the
/// branch (which the backend fuses into cmp/jcc).
/// Requires: Plain form. Guarantees: Plain form; the same executions.
/// </summary>
internal static class BranchThreading
{
    public static void Run(IrFunction function)
    {
        var changed = false;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            if (block.Terminator is Branch { Condition.IsConstant: false } branch && Original(block, branch.Condition.Register) is var source
                && !source.Equals(branch.Condition))
            {
                block.Terminator = source.IsConstant
                    ? new Jump(source.Constant != 0 ? branch.IfTrue : branch.IfFalse)
                    : branch with { Condition = source };
                changed = true;
            }

        // What every edge into a block says about the condition its source branched on: per block
        // (by position) nothing yet, nothing agreed, or the condition and whether it was non-zero.
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = i;
        var state = Scratch<byte>.Rent(blocks.Count);        // 0: no edge seen, 1: edges disagree or say nothing, 2: known
        var condition = Scratch<int>.Rent(blocks.Count);
        var nonZero = Scratch<bool>.Rent(blocks.Count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var edges = FlowGraph.EdgesOf(block);
            for (var s = 0; s < edges.Count; s++)
            {
                var successor = edges[s].Index;
                var fact = block.Terminator is Branch { Condition.IsConstant: false } test && test.IfTrue != test.IfFalse;
                var (register, holds) = fact ? (((Branch)block.Terminator!).Condition.Register.Index, s == 0) : (0, false);
                if (state[successor] == 0 && fact)
                    (state[successor], condition[successor], nonZero[successor]) = (2, register, holds);
                else if (state[successor] == 0 || state[successor] == 2 && !(fact && condition[successor] == register && nonZero[successor] == holds))
                    state[successor] = 1;
            }
        }
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (block.Terminator is not Branch { Condition.IsConstant: false } branch) continue;
            var at = block.Index;
            if (state[at] != 2 || branch.Condition.Register.Index != condition[at] || Defines(block, branch.Condition.Register)) continue;
            block.Terminator = new Jump(nonZero[at] ? branch.IfTrue : branch.IfFalse);
            changed = true;
        }
        Scratch<byte>.Return(state);
        Scratch<int>.Return(condition);
        Scratch<bool>.Return(nonZero);
        if (!changed) return;
        ControlFlow.RemoveUnreachableBlocks(function);
        RemoveUnreadDefinitions(function);
    }

    private static bool Defines(BasicBlock block, VReg register)
    {
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            if (instruction.Destination == register) return true;
        return false;
    }

    /// <summary>Follows the block's last copies into the branch's condition back to the value they copy (still unchanged at the end of the block), or the constant copied.</summary>
    private static Operand Original(BasicBlock block, VReg value)
    {
        var instructions = block.Instructions;
        for (var steps = 0; steps < 4; steps++)
        {
            var last = instructions.Count - 1;
            while (last >= 0 && instructions[last].Destination != value) last--;
            if (last < 0) return value;
            if (instructions[last] is { Op: var op, Arguments: [var left, var right] } && op.IsBinary()
                && ConstantBefore(instructions, last, left) is { } a && ConstantBefore(instructions, last, right) is { } b)
                return Operand.Of(op.Evaluate(a, b));   // a comparison of constants the block just copied
            if (instructions[last] is not { Op: Opcode.Copy, Arguments: [var copied] }) return value;
            if (copied.IsConstant) return copied;
            var source = copied.Register;
            for (var i = last + 1; i < instructions.Count; i++)
                if (instructions[i].Destination == source) return value;
            value = source;
        }
        return value;
    }

    /// <summary>The operand's value at instruction <paramref name="at"/> when it is a constant or the block last set it to one before there.</summary>
    private static long? ConstantBefore(List<Instruction> instructions, int at, Operand operand)
    {
        if (operand.IsConstant) return operand.Constant;
        for (var i = at - 1; i >= 0; i--)
            if (instructions[i].Destination == operand.Register)
                return instructions[i] is { Op: Opcode.Copy, Arguments: [{ IsConstant: true } constant] } ? constant.Constant : null;
        return null;
    }

    /// <summary>Deletes pure instructions whose destination no instruction or terminator reads, until none is left.</summary>
    internal static void RemoveUnreadDefinitions(IrFunction function)
    {
        var reads = new int[function.RegisterCount];
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) reads[argument.Register.Index]++;
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { IsConstant: false } used) reads[used.Register.Index]++;
        }
        var removed = true;
        while (removed)
        {
            removed = false;
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                block.Instructions.RemoveAll(instruction =>
                {
                    if (instruction.Op.HasSideEffects() || instruction.Op == Opcode.Alloca || instruction.Destination is not { } d || reads[d.Index] > 0) return false;
                    foreach (var argument in instruction.Arguments)
                        if (!argument.IsConstant) reads[argument.Register.Index]--;
                    removed = true;
                    return true;
                });
        }
    }
}
