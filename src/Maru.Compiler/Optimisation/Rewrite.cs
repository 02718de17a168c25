using System.Runtime.InteropServices;
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
    /// <summary>What a substitution does to one operand read, and to one destination (when asked to).</summary>
    public interface IOperandRewriter
    {
        Operand Use(Operand operand);
        VReg Definition(VReg register);
    }

    /// <summary>
    /// Replaces each operand the block's instructions and terminator read with <paramref name="use"/>
    /// of it; with <paramref name="definition"/>, each destination too, right after its
    /// instruction's operands. Phi inputs are not touched (they belong to the edge: <see cref="PhiInputs"/>).
    /// </summary>
    public static void Uses(BasicBlock block, Func<Operand, Operand> use, Func<VReg, VReg>? definition = null)
    {
        var rewriter = new Delegates(use, definition);
        Uses(block, ref rewriter, definitions: definition is not null);
    }

    /// <summary>
    /// <see cref="Uses(BasicBlock, Func{Operand, Operand}, Func{VReg, VReg})"/> through a struct: no
    /// delegate or closure per block (a pass calls this for every block of every function).
    /// </summary>
    public static void Uses<T>(BasicBlock block, ref T rewriter, bool definitions) where T : struct, IOperandRewriter
    {
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
        {
            var arguments = instruction.Arguments;
            for (var a = 0; a < arguments.Length; a++) arguments[a] = rewriter.Use(arguments[a]);
            if (definitions && instruction.Destination is { } destination) instruction.Destination = rewriter.Definition(destination);
        }
        // Terminators are immutable records: a new one only when the operand changed.
        switch (block.Terminator)
        {
            case Branch branch:
                var condition = rewriter.Use(branch.Condition);
                if (!condition.Equals(branch.Condition)) block.Terminator = branch with { Condition = condition };
                break;
            case Return ret:
                var value = rewriter.Use(ret.Value);
                if (!value.Equals(ret.Value)) block.Terminator = ret with { Value = value };
                break;
        }
    }

    /// <summary>Replaces the value of every input of the block's phis with <paramref name="use"/> of it.</summary>
    public static void PhiInputs(BasicBlock block, Func<Operand, Operand> use)
    {
        var rewriter = new Delegates(use, null);
        PhiInputs(block, ref rewriter);
    }

    public static void PhiInputs<T>(BasicBlock block, ref T rewriter) where T : struct, IOperandRewriter
    {
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
        {
            var inputs = CollectionsMarshal.AsSpan(phi.Inputs);
            for (var i = 0; i < inputs.Length; i++)
            {
                var value = rewriter.Use(inputs[i].Value);
                if (!value.Equals(inputs[i].Value)) inputs[i] = inputs[i] with { Value = value };   // (a store of a block reference costs a write barrier)
            }
        }
    }

    private readonly struct Delegates(Func<Operand, Operand> use, Func<VReg, VReg>? definition) : IOperandRewriter
    {
        public Operand Use(Operand operand) => use(operand);
        public VReg Definition(VReg register) => definition!(register);
    }
}
