using Maru.Compiler.Ir;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// A function that starts by comparing parameters (or constants) and, on one outcome, returns a
/// parameter or a constant without doing anything else: fib's <c>(if (&lt; n 2) n ...)</c>. The
/// entry block is that one comparison ending in a branch (and nothing jumps back to it); one
/// successor leads through nothing but copies to a return. The O1 code generator uses it twice: the
/// function tests it before its prologue (shrink-wrapping: the early path saves nothing), and a
/// direct call tests it at the call site on the argument registers, skipping the call when it
/// holds (the callee would only have returned the value).
/// </summary>
/// <param name="Comparison">The entry block's comparison (or logical not) of parameters and constants.</param>
/// <param name="ExitWhenTrue">The early path is taken when the comparison holds.</param>
/// <param name="Value">What the early path returns: a register parameter or a constant.</param>
/// <param name="Continue">The other successor of the entry block.</param>
internal sealed record EarlyExit(Instruction Comparison, bool ExitWhenTrue, Operand Value, BasicBlock Continue)
{
    public static EarlyExit? Find(IrFunction function, int registerArguments)
    {
        var entry = function.Blocks[0];
        if (entry.Terminator is not Branch { Condition.IsConstant: false } branch || entry.Instructions.Count != 1) return null;
        var comparison = entry.Instructions[0];
        if (comparison.Destination != branch.Condition.Register || !(comparison.Op.IsComparison() || comparison.Op == Opcode.LogicalNot)) return null;
        var constants = 0;
        foreach (var operand in comparison.Arguments)
            if (operand.IsConstant) constants++;
            else if (!IsRegisterParameter(function, registerArguments, operand.Register)) return null;
        if (constants == comparison.Arguments.Length) return null;
        foreach (var block in function.Blocks)
            foreach (var successor in block.Successors)
                if (successor == entry) return null;
        foreach (var (exitWhenTrue, target, other) in new[] { (true, branch.IfTrue, branch.IfFalse), (false, branch.IfFalse, branch.IfTrue) })
            if (target != other && ReturnedOnThePath(function, registerArguments, target) is { } value)
                return new EarlyExit(comparison, exitWhenTrue, value, other);
        return null;
    }

    private static bool IsRegisterParameter(IrFunction function, int registerArguments, VReg register) =>
        register.Index < function.ParameterCount && register.Index < registerArguments;

    /// <summary>What the path from <paramref name="start"/> returns, as a parameter or a constant, if it does nothing else.</summary>
    private static Operand? ReturnedOnThePath(IrFunction function, int registerArguments, BasicBlock start)
    {
        var values = new Dictionary<int, Operand>();
        Operand? Value(Operand operand) =>
            operand.IsConstant ? operand
            : values.TryGetValue(operand.Register.Index, out var known) ? known
            : IsRegisterParameter(function, registerArguments, operand.Register) ? operand
            : null;
        var block = start;
        for (var steps = 0; steps < function.Blocks.Count; steps++)
        {
            if (block == function.Blocks[0]) return null;
            foreach (var instruction in block.Instructions)
            {
                if (instruction.Op != Opcode.Copy || Value(instruction.Arguments[0]) is not { } value) return null;
                var destination = instruction.Destination!.Value;
                // A parameter overwritten on the path would be read later from its (stale) argument register.
                if (IsRegisterParameter(function, registerArguments, destination)) return null;
                values[destination.Index] = value;
            }
            switch (block.Terminator)
            {
                case Return ret:
                    return Value(ret.Value);
                case Jump jump:
                    block = jump.Target;
                    break;
                default:
                    return null;
            }
        }
        return null;
    }
}
