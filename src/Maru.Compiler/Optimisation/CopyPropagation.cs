using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Copy propagation: in SSA a copy <c>%a = copy x</c> means %a is x everywhere, and so does a phi
/// whose inputs are all x (or the phi itself). Every use is redirected to the original value and
/// those copies and phis are deleted.
/// Requires: SSA. Guarantees: no Copy instruction and no trivial phi.
/// </summary>
internal static class CopyPropagation
{
    public static void Run(IrFunction function)
    {
        if (!HasWork(function)) return;   // (nothing to rent, clear or rewrite: some runs of the pipeline find nothing in any function)
        var count = function.RegisterCount;
        var replacement = Scratch<Operand?>.Rent(count);
        var any = false;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Op == Opcode.Copy)
                {
                    replacement[instruction.Destination!.Value.Index] = instruction.Arguments[0];
                    any = true;
                }

        // Trivial phis can become trivial once others are resolved: repeat until none is found.
        var found = true;
        while (found)
        {
            found = false;
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                {
                    if (replacement[phi.Destination.Index] is not null) continue;
                    if (UniqueInput(phi, replacement) is { } only)
                    {
                        replacement[phi.Destination.Index] = only;
                        found = any = true;
                    }
                }
        }
        if (any)
        {
            var resolver = new Resolver(replacement);
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            {
                ListCompaction.RemoveWhere(block.Phis, new Replaced(replacement));
                Rewrite.PhiInputs(block, ref resolver);
                ListCompaction.RemoveWhere(block.Instructions, default(Copies));
                Rewrite.Uses(block, ref resolver, definitions: false);
            }
        }
        Scratch<Operand?>.Return(replacement);
    }

    /// <summary>
    /// Whether there is a copy, or a phi trivial as it stands: without a copy, the search for trivial
    /// phis below finds one only if its first round does, and that round starts with nothing replaced.
    /// </summary>
    private static bool HasWork(IrFunction function)
    {
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Op == Opcode.Copy) return true;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                if (UniqueInput(phi, replacement: null) is not null) return true;
        return false;
    }

    private readonly struct Copies : IDropTest<Instruction>
    {
        public bool Drop(Instruction instruction) => instruction.Op == Opcode.Copy;
    }

    private readonly struct Replaced(Operand?[] replacement) : IDropTest<Phi>
    {
        public bool Drop(Phi phi) => replacement[phi.Destination.Index] is not null;
    }

    private readonly struct Resolver(Operand?[] replacement) : Rewrite.IOperandRewriter
    {
        public Operand Use(Operand operand) =>
            operand.IsConstant || !replacement[operand.Register.Index].HasValue ? operand : Resolve(operand, replacement);   // most operands: not replaced
        public VReg Definition(VReg register) => register;
    }

    /// <summary>The one value the phi's inputs agree on (after the replacements, when given), ignoring the phi itself; null when they differ.</summary>
    private static Operand? UniqueInput(Phi phi, Operand?[]? replacement)
    {
        Operand? only = null;
        foreach (var input in CollectionsMarshal.AsSpan(phi.Inputs))
        {
            var value = replacement is null ? input.Value : Resolve(input.Value, replacement);
            if (!value.IsConstant && value.Register == phi.Destination) continue;
            if (only is { } seen && !seen.Equals(value)) return null;
            only = value;
        }
        return only;
    }

    /// <summary>Follows replacements to the end of the chain, shortening it on the way.</summary>
    private static Operand Resolve(Operand operand, Operand?[] replacement)
    {
        var result = operand;
        while (!result.IsConstant && replacement[result.Register.Index] is { } next) result = next;
        // Path compression keeps long chains of copies linear.
        var walk = operand;
        while (!walk.IsConstant && replacement[walk.Register.Index] is { } next && !next.Equals(result))
        {
            replacement[walk.Register.Index] = result;
            walk = next;
        }
        return result;
    }
}
