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
        var instructionOf = new Instruction?[count];
        var phiOf = new Phi?[count];
        var live = new bool[count];
        var work = new Stack<VReg>();

        void Mark(Operand operand)
        {
            if (operand.IsConstant || live[operand.Register.Index]) return;
            live[operand.Register.Index] = true;
            work.Push(operand.Register);
        }

        foreach (var block in function.Blocks)
        {
            foreach (var phi in block.Phis) phiOf[phi.Destination.Index] = phi;
            foreach (var instruction in block.Instructions)
            {
                if (instruction.Destination is { } d) instructionOf[d.Index] = instruction;
                if (instruction.Op.HasSideEffects())
                    foreach (var argument in instruction.Arguments) Mark(argument);
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } used) Mark(used);
        }
        while (work.Count > 0)
        {
            var register = work.Pop();
            if (instructionOf[register.Index] is { } instruction)
                foreach (var argument in instruction.Arguments) Mark(argument);
            else if (phiOf[register.Index] is { } phi)
                foreach (var input in phi.Inputs) Mark(input.Value);
        }

        foreach (var block in function.Blocks)
        {
            block.Phis.RemoveAll(phi => !live[phi.Destination.Index]);
            block.Instructions.RemoveAll(instruction =>
                !instruction.Op.HasSideEffects() && instruction.Destination is { } d && !live[d.Index]);
        }
    }
}
