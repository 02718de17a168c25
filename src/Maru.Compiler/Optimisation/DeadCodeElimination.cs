using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Dead-code elimination by marking: what calls, stores, branches and returns read is live, and so
/// is whatever a live value is computed from (through phis too); every other phi and every
/// instruction without side effects is deleted. Calls and stores always stay, even when their
/// result is unused.
/// Requires: SSA. Guarantees: every remaining phi and pure instruction contributes to an effect,
/// a branch or the returned value.
/// </summary>
internal static class DeadCodeElimination
{
    public static void Run(IrFunction function)
    {
        var count = function.RegisterCount;
        var instructionOf = Scratch<Instruction?>.Rent(count);
        var phiOf = Scratch<Phi?>.Rent(count);
        var live = Scratch<bool>.Rent(count);
        var work = Scratch<int>.Rent(count);   // each register is pushed once, when it becomes live
        var top = 0;

        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis)) phiOf[phi.Destination.Index] = phi;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Destination is { } d) instructionOf[d.Index] = instruction;
                if (instruction.Op.HasSideEffects())
                    foreach (var argument in instruction.Arguments) Mark(argument, live, work, ref top);
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } used) Mark(used, live, work, ref top);
        }
        while (top > 0)
        {
            var register = work[--top];
            if (instructionOf[register] is { } instruction)
                foreach (var argument in instruction.Arguments) Mark(argument, live, work, ref top);
            else if (phiOf[register] is { } phi)
                foreach (var input in phi.Inputs) Mark(input.Value, live, work, ref top);
        }

        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            ListCompaction.RemoveWhere(block.Phis, new DeadPhi(live));
            ListCompaction.RemoveWhere(block.Instructions, new DeadInstruction(live));
        }
        // Cleared before going back: the tables must not keep this function's IR alive.
        Array.Clear(instructionOf, 0, count);
        Array.Clear(phiOf, 0, count);
        Scratch<Instruction?>.Return(instructionOf);
        Scratch<Phi?>.Return(phiOf);
        Scratch<bool>.Return(live);
        Scratch<int>.Return(work);
    }

    private static void Mark(Operand operand, bool[] live, int[] work, ref int top)
    {
        if (operand.IsConstant || live[operand.Register.Index]) return;
        live[operand.Register.Index] = true;
        work[top++] = operand.Register.Index;
    }

    private readonly struct DeadPhi(bool[] live) : IDropTest<Phi>
    {
        public bool Drop(Phi phi) => !live[phi.Destination.Index];
    }

    private readonly struct DeadInstruction(bool[] live) : IDropTest<Instruction>
    {
        public bool Drop(Instruction instruction) => !instruction.Op.HasSideEffects() && instruction.Destination is { } d && !live[d.Index];
    }
}
