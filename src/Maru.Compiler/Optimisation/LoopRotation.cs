using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Loop rotation by tail duplication: a small block that only computes a condition and branches
/// (a while loop's header: <c>c = i &lt; n; br c, body, exit</c>) is copied into every block that
/// jumps to it. Copied into the preheader it becomes the guard; copied into the latch it becomes
/// the bottom test (<c>br c, body, exit</c>), so an iteration runs one conditional branch and no
/// unconditional jump. The header itself goes once nothing jumps to it. Each path still runs
/// exactly one copy of the header's instructions, so any instruction could be copied; only pure
/// ones (no calls, no stores) up to <see cref="MaxInstructions"/> are, to bound the growth.
/// Registers the header defines and only the header reads get fresh names in each copy (so a
/// compare stays a single-definition, single-use value the backend fuses with its branch).
/// Requires: Plain form (no phis). Guarantees: Plain form; the same executions.
/// </summary>
internal static class LoopRotation
{
    public const int MaxInstructions = 4;

    public static void Run(IrFunction function)
    {
        var changed = false;
        var blocks = function.Blocks;
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            if (block.Terminator is not Jump { Target: var header } || header == block || !IsDuplicable(header)) continue;
            var local = LocalRegisters(function, header);
            var renamed = new Dictionary<VReg, VReg>();
            Operand Rename(Operand operand) =>
                !operand.IsConstant && renamed.TryGetValue(operand.Register, out var fresh) ? fresh : operand;
            foreach (var instruction in header.Instructions)
            {
                var arguments = instruction.Arguments.Select(Rename).ToArray();
                var destination = instruction.Destination;
                if (destination is { } d && local.Contains(d))
                {
                    var fresh = function.NewRegister();
                    renamed[d] = fresh;
                    destination = fresh;
                }
                block.Instructions.Add(new Instruction(instruction.Op, destination, arguments, instruction.Symbol, instruction.Location));
            }
            var branch = (Branch)header.Terminator!;
            block.Terminator = new Branch(Rename(branch.Condition), branch.IfTrue, branch.IfFalse);
            changed = true;
        }
        if (changed) ControlFlow.RemoveUnreachableBlocks(function);
    }

    private static bool IsDuplicable(BasicBlock header) =>
        header.Terminator is Branch branch && branch.IfTrue != header && branch.IfFalse != header
        && header.Instructions.Count <= MaxInstructions
        && header.Instructions.TrueForAll(i => !i.Op.HasSideEffects() && i.Op != Opcode.Alloca);

    /// <summary>Registers defined once in the whole function, in the header, and read only after that definition in the header.</summary>
    private static HashSet<VReg> LocalRegisters(IrFunction function, BasicBlock header)
    {
        var candidates = new HashSet<VReg>();
        foreach (var instruction in header.Instructions)
            if (instruction.Destination is { } d && !candidates.Add(d)) candidates.Remove(d);
        if (candidates.Count == 0) return candidates;
        // A read before the definition (or another definition anywhere) disqualifies.
        var defined = new HashSet<VReg>();
        foreach (var instruction in header.Instructions)
        {
            foreach (var argument in instruction.Arguments)
                if (!argument.IsConstant && candidates.Contains(argument.Register) && !defined.Contains(argument.Register))
                    candidates.Remove(argument.Register);
            if (instruction.Destination is { } d) defined.Add(d);
        }
        foreach (var block in function.Blocks)
        {
            if (block == header) continue;
            foreach (var instruction in block.Instructions)
            {
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) candidates.Remove(argument.Register);
                if (instruction.Destination is { } d) candidates.Remove(d);
            }
            if (block.Terminator is Branch { Condition: { IsConstant: false } c }) candidates.Remove(c.Register);
            if (block.Terminator is Return { Value: { IsConstant: false } r }) candidates.Remove(r.Register);
        }
        return candidates;
    }
}
