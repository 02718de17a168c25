using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Constant offsets into memory operands: <c>t = add i, K</c> (or <c>sub i, K</c>) whose every
/// use is the index of a load or store becomes a displacement of those accesses,
/// <c>loadw a, t</c> ⇒ <c>loadw a, i, 8K</c> (x86-64 <c>[a + i*8 + 8K]</c>: a vm's
/// <c>stack[sp-1]</c> is one load, not lea + load); likewise a base <c>p = add q, K</c> whose every
/// use is the base of an access, <c>loadw p, c</c> ⇒ <c>loadw q, c, K</c>. Exact in wrapping
/// arithmetic: the address is the same word modulo 2^64, so a displacement that wrapped still
/// names the same address. The addition then has no use left and is deleted; a chain of them
/// folds one link per round. Only where the target's access takes the displacement at no cost
/// (<see cref="ITargetCosts.FoldsDisplacement"/>: x86-64 any disp32; AArch64 only an immediate
/// offset with a constant index), and only additions with no other use: the register the addition
/// read replaces the one it wrote, so no more values are live than before.
/// Requires: SSA (one definition per register; runs last, so no earlier pass meets a displacement).
/// Guarantees: the same accesses at the same addresses, in the same order.
/// </summary>
internal static class AddressFolding
{
    private const int MaxRounds = 4;

    public static void Run(IrFunction function, ITargetCosts costs)
    {
        for (var round = 0; round < MaxRounds && Fold(function, costs); round++) { }
    }

    /// <summary>One round; its tables are rented (<see cref="Scratch{T}"/>): a function's registers, every round of every function.</summary>
    private static bool Fold(IrFunction function, ITargetCosts costs)
    {
        var count = function.RegisterCount;
        var tables = new Tables(Scratch<Instruction?>.Rent(count), Scratch<int>.Rent(count), Scratch<int>.Rent(count), Scratch<bool>.Rent(count));
        try
        {
            return Fold(function, costs, tables, count);
        }
        finally
        {
            Scratch<Instruction?>.Return(tables.Definition);
            Scratch<int>.Return(tables.Uses);
            Scratch<int>.Return(tables.AddressUses);
            Scratch<bool>.Return(tables.Rejected);
        }
    }

    /// <summary>Per register: its definition, its uses, its uses as an address, and whether an access it feeds could not take the displacement.</summary>
    private readonly record struct Tables(Instruction?[] Definition, int[] Uses, int[] AddressUses, bool[] Rejected)
    {
        /// <summary>An addition of a constant whose every use is an address and that no access rejected.</summary>
        public bool Candidate(Operand operand) =>
            !operand.IsConstant && !Rejected[operand.Register.Index] && Uses[operand.Register.Index] == AddressUses[operand.Register.Index]
            && Offset(Definition[operand.Register.Index]) is not null;
    }

    private static bool Fold(IrFunction function, ITargetCosts costs, Tables tables, int count)
    {
        var (definition, uses, addressUses, rejected) = tables;
        List<Instruction>? accesses = null;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs) Count(uses, input.Value);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
                var arguments = instruction.Arguments;
                foreach (var argument in arguments) Count(uses, argument);
                if (Scale(instruction.Op) == 0) continue;
                Count(addressUses, arguments[0]);
                Count(addressUses, arguments[1]);
                (accesses ??= new()).Add(instruction);
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } operand) Count(uses, operand);
        }
        if (accesses is null) return false;

        // Candidates: an addition of a constant whose every use is an address; rejected when one of
        // its accesses could not take the displacement (it then keeps its register, so all stay).
        bool again;
        var any = false;
        do
        {
            again = false;
            any = false;
            foreach (var access in accesses)
            {
                var (foldBase, foldIndex) = (tables.Candidate(access.Arguments[0]), tables.Candidate(access.Arguments[1]));
                if (!foldBase && !foldIndex) continue;
                if (Folded(access, definition, foldBase, foldIndex) is var (_, index, displacement)
                    && costs.FoldsDisplacement(Scale(access.Op), !index.IsConstant,
                        index.IsConstant ? unchecked(index.Constant * Scale(access.Op) + displacement) : displacement))
                {
                    any = true;
                    continue;
                }
                if (foldBase) rejected[access.Arguments[0].Register.Index] = true;
                if (foldIndex) rejected[access.Arguments[1].Register.Index] = true;
                again = true;
            }
        } while (again);
        if (!any) return false;

        var deleted = Scratch<bool>.Rent(count);
        foreach (var access in accesses)
        {
            var (foldBase, foldIndex) = (tables.Candidate(access.Arguments[0]), tables.Candidate(access.Arguments[1]));
            if (!foldBase && !foldIndex) continue;
            if (foldBase) deleted[access.Arguments[0].Register.Index] = true;
            if (foldIndex) deleted[access.Arguments[1].Register.Index] = true;
            var (address, index, displacement) = Folded(access, definition, foldBase, foldIndex);
            var value = access.Op is Opcode.StoreWord or Opcode.StoreByte ? access.Arguments[2] : (Operand?)null;
            access.Rewrite(access.Op, Operands(address, index, value, displacement));
        }
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            ListCompaction.RemoveWhere(block.Instructions, new Deleted(deleted));
        Scratch<bool>.Return(deleted);
        return true;
    }

    private readonly struct Deleted(bool[] deleted) : IDropTest<Instruction>
    {
        public bool Drop(Instruction instruction) => instruction.Destination is { } d && deleted[d.Index];
    }

    /// <summary>The access's base, index and displacement with the chosen additions folded in (wrapping).</summary>
    private static (Operand Address, Operand Index, long Displacement) Folded(Instruction access, Instruction?[] definition, bool foldBase, bool foldIndex)
    {
        var (address, index) = (access.Arguments[0], access.Arguments[1]);
        var displacement = Displacement(access);
        if (foldBase)
        {
            var (register, offset) = Offset(definition[address.Register.Index])!.Value;
            address = register;
            displacement = unchecked(displacement + offset);
        }
        if (foldIndex)
        {
            var (register, offset) = Offset(definition[index.Register.Index])!.Value;
            index = register;
            displacement = unchecked(displacement + offset * Scale(access.Op));
        }
        return (address, index, displacement);
    }

    private static Operand[] Operands(Operand address, Operand index, Operand? value, long displacement)
    {
        if (value is { } v)
            return displacement == 0 ? [address, index, v] : [address, index, v, Operand.Of(displacement)];
        return displacement == 0 ? [address, index] : [address, index, Operand.Of(displacement)];
    }

    /// <summary><c>r + K</c> as (r, K) for an addition or subtraction of a constant to a register (wrapping: r - MIN = r + MIN).</summary>
    private static (VReg Register, long Offset)? Offset(Instruction? instruction) => instruction switch
    {
        { Op: Opcode.Add, Arguments: [{ IsConstant: false } r, { IsConstant: true } k] } => (r.Register, k.Constant),
        { Op: Opcode.Add, Arguments: [{ IsConstant: true } k, { IsConstant: false } r] } => (r.Register, k.Constant),
        { Op: Opcode.Subtract, Arguments: [{ IsConstant: false } r, { IsConstant: true } k] } => (r.Register, unchecked(-k.Constant)),
        _ => null,
    };

    /// <summary>The byte displacement of an access (its optional last constant operand; 0 when absent).</summary>
    internal static long Displacement(Instruction access) => access.Op switch
    {
        Opcode.LoadWord or Opcode.LoadByte when access.Arguments.Length == 3 => access.Arguments[2].Constant,
        Opcode.StoreWord or Opcode.StoreByte when access.Arguments.Length == 4 => access.Arguments[3].Constant,
        _ => 0,
    };

    private static int Scale(Opcode op) => op switch
    {
        Opcode.LoadWord or Opcode.StoreWord => 8,
        Opcode.LoadByte or Opcode.StoreByte => 1,
        _ => 0,
    };

    private static void Count(int[] counts, Operand operand)
    {
        if (!operand.IsConstant) counts[operand.Register.Index]++;
    }
}
