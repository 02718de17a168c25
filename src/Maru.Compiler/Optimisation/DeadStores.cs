using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Stores nothing can read. Maru has raw pointers, so the pass only trusts what it sees of one
/// register: a local allocation (<c>malloc</c>/<c>calloc</c> of constant sizes, the C library's,
/// or an <c>Alloca</c> frame block) whose address never escapes and is never read. Its only uses
/// must be the base of a store at a constant offset inside the allocation and the argument of
/// <c>free</c>; any other use (a load through it, an operand of arithmetic, a comparison, a copy,
/// a phi, a stored value, an index, any other call's argument, a branch, a return) means someone
/// may read the memory, and then nothing of that allocation is touched. Such an allocation's
/// stores are dead: no load, call or other pointer can observe them (a store outside the
/// allocation would have been a wrong program, and the offsets are checked anyway). Once its stores
/// are gone, a <c>malloc</c>/<c>calloc</c> used only by <c>free</c> goes too, with the frees (an
/// unused Alloca is left to DCE). GVN runs first, so a record written and read back in one function
/// (a callee inlined to fill a result record) has lost its loads by then.
/// Requires: SSA. Guarantees: no store into a non-escaping allocation that is never read.
/// </summary>
internal static class DeadStores
{
    public static void Run(IrFunction function)
    {
        // State per register: 0 not an allocation, 1 a candidate allocation, 2 disqualified.
        var count = function.RegisterCount;
        int[]? state = null;
        long[]? size = null;
        var candidates = 0;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d && AllocationSize(instruction) is { } bytes)
                {
                    state ??= Scratch<int>.Rent(count);
                    size ??= Scratch<long>.Rent(count);
                    state[d.Index] = 1;
                    size[d.Index] = bytes;
                    candidates++;
                }
        if (state is null || size is null) return;

        // One pass over every use: anything but an in-bounds store base or free's argument disqualifies.
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in CollectionsMarshal.AsSpan(phi.Inputs))
                    Disqualify(input.Value, state);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                var arguments = instruction.Arguments;
                if (IsStore(instruction.Op))
                {
                    if (!arguments[0].IsConstant && state[arguments[0].Register.Index] == 1 && !InBounds(instruction, size[arguments[0].Register.Index]))
                        state[arguments[0].Register.Index] = 2;
                    for (var a = 1; a < arguments.Length; a++) Disqualify(arguments[a], state);
                }
                else if (IsFree(instruction))
                {
                    // Its one argument is a use that reads nothing of the contents.
                }
                else
                {
                    foreach (var argument in arguments) Disqualify(argument, state);
                }
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } used) Disqualify(used, state);
        }

        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks)) ListCompaction.RemoveWhere(block.Instructions, new DeadStore(state));
        Scratch<int>.Return(state);
        Scratch<long>.Return(size);
    }

    /// <summary>A store into, a free of, or a C allocation of a register that stayed a candidate.</summary>
    private readonly struct DeadStore(int[] state) : IDropTest<Instruction>
    {
        public bool Drop(Instruction instruction)
        {
            var arguments = instruction.Arguments;
            if (IsStore(instruction.Op) || IsFree(instruction))
                return !arguments[0].IsConstant && state[arguments[0].Register.Index] == 1;
            return instruction.Op == Opcode.CallImport && instruction.Destination is { } d && state[d.Index] == 1;
        }
    }

    private static void Disqualify(Operand operand, int[] state)
    {
        if (!operand.IsConstant && state[operand.Register.Index] == 1) state[operand.Register.Index] = 2;
    }

    private static bool IsStore(Opcode op) => op is Opcode.StoreWord or Opcode.StoreByte;

    private static bool IsFree(Instruction instruction) =>
        instruction.Op == Opcode.CallImport && instruction.Symbol == "free" && instruction.Arguments.Length == 1;

    /// <summary>The bytes an allocation of constant size gives (malloc, calloc, an Alloca block); null for anything else.</summary>
    private static long? AllocationSize(Instruction instruction)
    {
        var arguments = instruction.Arguments;
        switch (instruction.Op)
        {
            case Opcode.Alloca when arguments.Length == 1 && arguments[0].IsConstant:
                return arguments[0].Constant;
            case Opcode.CallImport when instruction.Symbol == "malloc" && arguments.Length == 1 && arguments[0].IsConstant:
                return arguments[0].Constant;
            case Opcode.CallImport when instruction.Symbol == "calloc" && arguments.Length == 2 && arguments[0].IsConstant && arguments[1].IsConstant
                                        && arguments[0].Constant is >= 0 and <= int.MaxValue && arguments[1].Constant is >= 0 and <= int.MaxValue:
                return arguments[0].Constant * arguments[1].Constant;
            default:
                return null;
        }
    }

    /// <summary>The store writes at a constant offset whose bytes lie inside an allocation of <paramref name="bytes"/>.</summary>
    private static bool InBounds(Instruction store, long bytes)
    {
        var arguments = store.Arguments;
        if (!arguments[1].IsConstant) return false;
        var width = store.Op == Opcode.StoreWord ? 8L : 1L;
        var displacement = arguments.Length > 3 ? arguments[3] : Operand.Of(0);
        if (!displacement.IsConstant) return false;
        var index = arguments[1].Constant;
        if (index is < -(1L << 40) or > 1L << 40 || displacement.Constant is < -(1L << 40) or > 1L << 40) return false;
        var offset = index * width + displacement.Constant;
        return offset >= 0 && offset + width <= bytes;
    }
}
