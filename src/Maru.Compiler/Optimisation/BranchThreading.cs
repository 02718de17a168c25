using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Branch cleanup after SSA destruction and loop rotation, where <c>and</c>/<c>or</c> joins leave
/// a branch on a copy of a value just tested or just compared:
/// a branch on <c>v</c> whose block last set <c>v = copy w</c> (w unchanged since) branches on
/// <c>w</c> (jumps when w is a constant: an edge's known and/or value, <see cref="BranchFacts"/>); a block reached only over edges of branches on <c>c</c> that agree (all the true
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
        foreach (var block in function.Blocks)
            if (block.Terminator is Branch { Condition.IsConstant: false } branch && Original(block, branch.Condition.Register) is var source
                && !source.Equals(branch.Condition))
            {
                block.Terminator = source.IsConstant
                    ? new Jump(source.Constant != 0 ? branch.IfTrue : branch.IfFalse)
                    : branch with { Condition = source };
                changed = true;
            }

        // What every edge into a block says about the condition its source branched on.
        var knowledge = new Dictionary<BasicBlock, (VReg Condition, bool NonZero)?>();
        foreach (var block in function.Blocks)
            foreach (var successor in block.Successors.Distinct())
            {
                (VReg, bool)? fact = block.Terminator is Branch { Condition.IsConstant: false } test && test.IfTrue != test.IfFalse
                    ? (test.Condition.Register, successor == test.IfTrue)
                    : null;
                knowledge[successor] = !knowledge.TryGetValue(successor, out var known) ? fact
                    : known is { } k && fact is { } f && k == f ? k : null;
            }
        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not Branch { Condition.IsConstant: false } branch) continue;
            if (!knowledge.TryGetValue(block, out var known) || known is not var (condition, nonZero)) continue;
            if (branch.Condition.Register != condition || block.Instructions.Exists(i => i.Destination == condition)) continue;
            block.Terminator = new Jump(nonZero ? branch.IfTrue : branch.IfFalse);
            changed = true;
        }
        if (!changed) return;
        ControlFlow.RemoveUnreachableBlocks(function);
        RemoveUnreadDefinitions(function);
    }

    /// <summary>Follows the block's last copies into the branch's condition back to the value they copy (still unchanged at the end of the block), or the constant copied.</summary>
    private static Operand Original(BasicBlock block, VReg value)
    {
        var instructions = block.Instructions;
        for (var steps = 0; steps < 4; steps++)
        {
            var last = instructions.FindLastIndex(i => i.Destination == value);
            if (last < 0 || instructions[last] is not { Op: Opcode.Copy, Arguments: [var copied] }) return value;
            if (copied.IsConstant) return copied;
            var source = copied.Register;
            for (var i = last + 1; i < instructions.Count; i++)
                if (instructions[i].Destination == source) return value;
            value = source;
        }
        return value;
    }

    /// <summary>Deletes pure instructions whose destination no instruction or terminator reads, until none is left.</summary>
    private static void RemoveUnreadDefinitions(IrFunction function)
    {
        var reads = new int[function.RegisterCount];
        foreach (var block in function.Blocks)
        {
            foreach (var instruction in block.Instructions)
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) reads[argument.Register.Index]++;
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { IsConstant: false } used) reads[used.Register.Index]++;
        }
        var removed = true;
        while (removed)
        {
            removed = false;
            foreach (var block in function.Blocks)
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
