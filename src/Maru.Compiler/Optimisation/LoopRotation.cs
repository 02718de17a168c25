using System.Runtime.InteropServices;
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
        var counts = new Counts(function.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions)) counts.Count(instruction);
            if (TerminatorOperand(block.Terminator) is { IsConstant: false } value) counts.Reads[value.Register.Index]++;
        }
        // Copying a header can turn its jumping predecessor into a header: repeat until no jump to
        // a small branch block is left. Each copy replaces a jump with a branch, so this ends.
        for (var round = true; round;)
        {
            round = false;
            for (var b = 0; b < blocks.Count; b++)
                if (blocks[b].Terminator is Jump { Target: var header } && header != blocks[b] && IsDuplicable(header))
                {
                    Duplicate(function, blocks[b], header, ref counts);
                    round = true;
                }
            changed |= round;
        }
        counts.Return();
        if (changed) ControlFlow.RemoveUnreachableBlocks(function);
    }

    /// <summary>Reads and writes per register, in rented arrays that grow with the registers the copies add.</summary>
    private struct Counts
    {
        public int[] Reads, Writes;
        private int _length;

        public Counts(int registers)
        {
            Reads = Scratch<int>.Rent(registers);
            Writes = Scratch<int>.Rent(registers);
            _length = registers;
        }

        /// <summary>Room for one more register (zero reads, zero writes).</summary>
        public void Add()
        {
            // Rent may hand out arrays longer than asked, and not equally long: grow at the shorter.
            if (_length == Math.Min(Reads.Length, Writes.Length))
            {
                var reads = Scratch<int>.Rent(2 * _length + 1);
                var writes = Scratch<int>.Rent(2 * _length + 1);
                Array.Copy(Reads, reads, _length);
                Array.Copy(Writes, writes, _length);
                Scratch<int>.Return(Reads);
                Scratch<int>.Return(Writes);
                (Reads, Writes) = (reads, writes);
            }
            Reads[_length] = Writes[_length] = 0;
            _length++;
        }

        public readonly void Count(Instruction instruction)
        {
            foreach (var argument in instruction.Arguments)
                if (!argument.IsConstant) Reads[argument.Register.Index]++;
            if (instruction.Destination is { } d) Writes[d.Index]++;
        }

        public readonly void Return()
        {
            Scratch<int>.Return(Reads);
            Scratch<int>.Return(Writes);
        }
    }

    private static void Duplicate(IrFunction function, BasicBlock block, BasicBlock header, ref Counts counts)
    {
        var local = LocalRegisters(header, counts.Reads, counts.Writes);
        // At most MaxInstructions renamings: a list, not a table.
        var renamed = new List<(VReg From, VReg To)>(local.Count);
        foreach (var instruction in CollectionsMarshal.AsSpan(header.Instructions))
        {
            var arguments = new Operand[instruction.Arguments.Length];
            for (var a = 0; a < arguments.Length; a++) arguments[a] = Rename(instruction.Arguments[a], renamed);
            var destination = instruction.Destination;
            if (destination is { } d && local.Contains(d))
            {
                var fresh = function.NewRegister();
                counts.Add();
                renamed.Add((d, fresh));
                destination = fresh;
            }
            // The copy runs where the header would have, on the same values: its division facts hold.
            var copy = new Instruction(instruction.Op, destination, arguments, instruction.Symbol, instruction.Location)
            {
                FixedArguments = instruction.FixedArguments,
                DivisionFacts = instruction.DivisionFacts,
            };
            counts.Count(copy);
            block.Instructions.Add(copy);
        }
        var branch = (Branch)header.Terminator!;
        var condition = Rename(branch.Condition, renamed);
        if (!condition.IsConstant) counts.Reads[condition.Register.Index]++;
        block.Terminator = new Branch(condition, branch.IfTrue, branch.IfFalse);
    }

    private static Operand Rename(Operand operand, List<(VReg From, VReg To)> renamed)
    {
        if (operand.IsConstant) return operand;
        foreach (var (from, to) in renamed)
            if (from == operand.Register) return to;
        return operand;
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
    /// <remarks>A header has at most <see cref="MaxInstructions"/> instructions: short lists searched linearly, no tables.</remarks>
    private static List<VReg> LocalRegisters(BasicBlock header, int[] reads, int[] writes)
    {
        var local = new List<VReg>(MaxInstructions);
        var readsHere = new List<(VReg Register, int Reads)>(2 * MaxInstructions + 1);
        foreach (var instruction in CollectionsMarshal.AsSpan(header.Instructions))
        {
            foreach (var argument in instruction.Arguments)
                if (!argument.IsConstant)
                {
                    // A read before the definition here: the value comes from elsewhere.
                    var at = IndexOf(readsHere, argument.Register);
                    var count = !local.Contains(argument.Register) ? int.MinValue : (at < 0 ? 0 : readsHere[at].Reads) + 1;
                    if (at < 0) readsHere.Add((argument.Register, count));
                    else readsHere[at] = (argument.Register, count);
                }
            if (instruction.Destination is { } d && writes[d.Index] == 1 && IndexOf(readsHere, d) < 0 && !local.Contains(d)) local.Add(d);
        }
        if (TerminatorOperand(header.Terminator) is { IsConstant: false } c && local.Contains(c.Register))
        {
            var at = IndexOf(readsHere, c.Register);
            if (at < 0) readsHere.Add((c.Register, 1));
            else readsHere[at] = (c.Register, readsHere[at].Reads + 1);
        }
        for (var i = local.Count - 1; i >= 0; i--)
        {
            var at = IndexOf(readsHere, local[i]);
            if ((at < 0 ? 0 : readsHere[at].Reads) != reads[local[i].Index]) local.RemoveAt(i);
        }
        return local;
    }

    private static int IndexOf(List<(VReg Register, int Reads)> counts, VReg register)
    {
        for (var i = 0; i < counts.Count; i++)
            if (counts[i].Register == register) return i;
        return -1;
    }
}
