using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// The one loop over a block's operands that substitution passes share (copy propagation, branch
/// facts, induction variables, SSA renaming, register compaction). The callbacks run exactly once
/// per operand, in program order, so a renaming that numbers values by first appearance sees
/// them in the order the block reads and writes them.
/// </summary>
internal static class Rewrite
{
    /// <summary>
    /// Replaces each operand the block's instructions and terminator read with <paramref name="use"/>
    /// of it; with <paramref name="definition"/>, each destination too, right after its
    /// instruction's operands. Phi inputs are not touched (they belong to the edge: <see cref="PhiInputs"/>).
    /// </summary>
    public static void Uses(BasicBlock block, Func<Operand, Operand> use, Func<VReg, VReg>? definition = null)
    {
        foreach (var instruction in block.Instructions)
        {
            var arguments = instruction.Arguments;
            for (var a = 0; a < arguments.Length; a++) arguments[a] = use(arguments[a]);
            if (definition is not null && instruction.Destination is { } destination) instruction.Destination = definition(destination);
        }
        // Terminators are immutable records: a new one only when the operand changed.
        switch (block.Terminator)
        {
            case Branch branch:
                var condition = use(branch.Condition);
                if (!condition.Equals(branch.Condition)) block.Terminator = branch with { Condition = condition };
                break;
            case Return ret:
                var value = use(ret.Value);
                if (!value.Equals(ret.Value)) block.Terminator = ret with { Value = value };
                break;
        }
    }

    /// <summary>Replaces the value of every input of the block's phis with <paramref name="use"/> of it.</summary>
    public static void PhiInputs(BasicBlock block, Func<Operand, Operand> use)
    {
        foreach (var phi in block.Phis)
            for (var i = 0; i < phi.Inputs.Count; i++)
                phi.Inputs[i] = phi.Inputs[i] with { Value = use(phi.Inputs[i].Value) };
    }
}
