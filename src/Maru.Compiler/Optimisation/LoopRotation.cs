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
        // Reads and writes of every register in the whole function, kept up to date as copies are added.
        var reads = new List<int>(new int[function.RegisterCount]);
        var writes = new List<int>(new int[function.RegisterCount]);
        foreach (var block in blocks)
        {
            foreach (var instruction in block.Instructions) Count(instruction, reads, writes, 1);
            if (TerminatorOperand(block.Terminator) is { IsConstant: false } value) reads[value.Register.Index]++;
        }
        // Copying a header can turn its jumping predecessor into a header: repeat until no jump to
        // a small branch block is left. Each copy replaces a jump with a branch, so this ends.
        for (var round = true; round;)
        {
            round = false;
            for (var b = 0; b < blocks.Count; b++)
                round |= Duplicate(function, blocks[b], reads, writes);
            changed |= round;
        }
        if (changed) ControlFlow.RemoveUnreachableBlocks(function);
    }

    private static bool Duplicate(IrFunction function, BasicBlock block, List<int> reads, List<int> writes)
    {
        if (block.Terminator is not Jump { Target: var header } || header == block || !IsDuplicable(header)) return false;
        var local = LocalRegisters(header, reads, writes);
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
                reads.Add(0);
                writes.Add(0);
                renamed[d] = fresh;
                destination = fresh;
            }
            var copy = new Instruction(instruction.Op, destination, arguments, instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments };
            Count(copy, reads, writes, 1);
            block.Instructions.Add(copy);
        }
        var branch = (Branch)header.Terminator!;
        var condition = Rename(branch.Condition);
        if (!condition.IsConstant) reads[condition.Register.Index]++;
        block.Terminator = new Branch(condition, branch.IfTrue, branch.IfFalse);
        return true;
    }

    private static void Count(Instruction instruction, List<int> reads, List<int> writes, int delta)
    {
        foreach (var argument in instruction.Arguments)
            if (!argument.IsConstant) reads[argument.Register.Index] += delta;
        if (instruction.Destination is { } d) writes[d.Index] += delta;
    }

    private static Operand? TerminatorOperand(Terminator? terminator) => terminator switch
    {
        Branch branch => branch.Condition,
        Return ret => ret.Value,
        _ => null,
    };

    private static bool IsDuplicable(BasicBlock header) =>
        header.Terminator is Branch branch && branch.IfTrue != header && branch.IfFalse != header
        && header.Instructions.Count <= MaxInstructions
        && header.Instructions.TrueForAll(i => !i.Op.HasSideEffects() && i.Op != Opcode.Alloca);

    /// <summary>Registers defined once in the whole function, in the header, and read only after that definition in the header.</summary>
    private static HashSet<VReg> LocalRegisters(BasicBlock header, List<int> reads, List<int> writes)
    {
        var local = new HashSet<VReg>();
        var readsHere = new Dictionary<VReg, int>();
        foreach (var instruction in header.Instructions)
        {
            foreach (var argument in instruction.Arguments)
                if (!argument.IsConstant)
                {
                    // A read before the definition here: the value comes from elsewhere.
                    if (!local.Contains(argument.Register)) readsHere[argument.Register] = int.MinValue;
                    else readsHere[argument.Register] = readsHere.GetValueOrDefault(argument.Register) + 1;
                }
            if (instruction.Destination is { } d && writes[d.Index] == 1 && !readsHere.ContainsKey(d)) local.Add(d);
        }
        if (TerminatorOperand(header.Terminator) is { IsConstant: false } c && local.Contains(c.Register))
            readsHere[c.Register] = readsHere.GetValueOrDefault(c.Register) + 1;
        local.RemoveWhere(r => readsHere.GetValueOrDefault(r) != reads[r.Index]);
        return local;
    }
}
