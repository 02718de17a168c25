using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Moves a load down to the operation that reads it when that operation's result is stored back
/// to the loaded address right after it: a read-modify-write whose other operand is computed
/// after the load, as Maru's left-to-right order writes <c>(set-oop-at a i (| (oop-at a i) (&lt;&lt; 1 (&amp; i 63))))</c>
/// or <c>(set-oop-at h k (+ (oop-at h k) (* w x)))</c>. The three instructions become adjacent,
/// which x86-64 emits as one instruction on memory (FunctionEmitter's read-modify-writes); the
/// load is only later in its block elsewhere. It moves past at most <see cref="MaxDistance"/>
/// instructions that store nothing, call nothing, write none of its operands and neither read
/// nor write its destination (Plain form: registers may be written more than once).
/// Requires: Plain form. Guarantees: the same instructions in each block, only reordered.
/// </summary>
internal static class ReadModifyWriteSinking
{
    /// <summary>How far a load is moved (bounds the work per block: linear).</summary>
    public const int MaxDistance = 16;

    public static void Run(IrFunction function)
    {
        foreach (var block in function.Blocks)
        {
            var instructions = block.Instructions;
            for (var i = 0; i + 2 < instructions.Count; i++)
            {
                var load = instructions[i];
                if (load.Op is not (Opcode.LoadWord or Opcode.LoadByte) || load.Destination is not { } loaded) continue;
                for (var k = i + 1; k + 1 < instructions.Count && k <= i + MaxDistance; k++)
                {
                    var other = instructions[k];
                    if (Reads(other, loaded))
                    {
                        if (k > i + 1 && IsReadModifyWrite(load, other, instructions[k + 1]))
                        {
                            instructions.RemoveAt(i);
                            instructions.Insert(k - 1, load);
                            i--;   // the instruction now at i is looked at too
                        }
                        break;
                    }
                    if (other.Op.HasSideEffects() || other.Destination == loaded || other.WritesAnyOf(load.Arguments)) break;
                }
            }
        }
    }

    /// <summary>An Add/Subtract/And/Or/Xor of the loaded value (first, for Subtract), then its store to the load's address.</summary>
    private static bool IsReadModifyWrite(Instruction load, Instruction operation, Instruction store)
    {
        if (operation.Op is not (Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor) || operation.Destination is not { } result) return false;
        var loaded = Operand.Of(load.Destination!.Value);
        var arguments = operation.Arguments;
        if (!arguments[0].Equals(loaded) && (operation.Op == Opcode.Subtract || !arguments[1].Equals(loaded))) return false;
        if (store.Op != (load.Op == Opcode.LoadWord ? Opcode.StoreWord : Opcode.StoreByte)) return false;
        return store.Arguments[0].Equals(load.Arguments[0]) && store.Arguments[1].Equals(load.Arguments[1])
            && store.Arguments[2].Equals(Operand.Of(result)) && AddressFolding.Displacement(store) == AddressFolding.Displacement(load);
    }

    private static bool Reads(Instruction instruction, VReg register)
    {
        foreach (var argument in instruction.Arguments)
            if (!argument.IsConstant && argument.Register == register) return true;
        return false;
    }
}
