using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// Which virtual registers are live at the entry and exit of every block: the classic backward
/// dataflow (live-in = uses ∪ (live-out − defs), live-out = ∪ live-in of the successors) over bit
/// sets, iterated to a fixed point. Requires terminated blocks; the IR need not be SSA.
/// Blocks are numbered by their position in <see cref="IrFunction.Blocks"/>.
/// </summary>
public sealed class Liveness
{
    private Liveness(BitSet[] liveIn, BitSet[] liveOut, int[][] successors, int[] loopDepth)
    {
        LiveIn = liveIn;
        LiveOut = liveOut;
        Successors = successors;
        LoopDepth = loopDepth;
    }

    public BitSet[] LiveIn { get; }
    public BitSet[] LiveOut { get; }

    /// <summary>Successor block positions, per block position.</summary>
    public int[][] Successors { get; }

    /// <summary>How many loops (back edges in layout order) enclose each block: a spill-cost weight.</summary>
    public int[] LoopDepth { get; }

    public static Liveness Compute(IrFunction function)
    {
        var blocks = function.Blocks;
        var count = blocks.Count;
        var registers = function.RegisterCount;
        var position = new Dictionary<BasicBlock, int>(count);
        for (var i = 0; i < count; i++) position.Add(blocks[i], i);

        var successors = new int[count][];
        var uses = new BitSet[count];
        var defs = new BitSet[count];
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            successors[b] = block.Terminator switch
            {
                Jump jump => [position[jump.Target]],
                Branch branch => [position[branch.IfTrue], position[branch.IfFalse]],
                _ => [],
            };
            var use = new BitSet(registers);
            var def = new BitSet(registers);
            foreach (var instruction in block.Instructions)
            {
                foreach (var operand in instruction.Arguments)
                    if (!operand.IsConstant && !def[operand.Register.Index]) use.Add(operand.Register.Index);
                if (instruction.Destination is { } destination) def.Add(destination.Index);
            }
            if (TerminatorOperand(block.Terminator!) is { IsConstant: false } value && !def[value.Register.Index])
                use.Add(value.Register.Index);
            uses[b] = use;
            defs[b] = def;
        }

        var liveIn = new BitSet[count];
        var liveOut = new BitSet[count];
        for (var b = 0; b < count; b++)
        {
            liveIn[b] = uses[b].Clone();
            liveOut[b] = new BitSet(registers);
        }
        for (var changed = true; changed;)
        {
            changed = false;
            for (var b = count - 1; b >= 0; b--)
            {
                foreach (var s in successors[b]) liveOut[b].UnionWith(liveIn[s]);
                if (liveIn[b].SetToDifferenceUnion(liveOut[b], defs[b], uses[b])) changed = true;
            }
        }
        return new Liveness(liveIn, liveOut, successors, LoopDepths(successors));
    }

    /// <summary>The value a terminator reads, if any.</summary>
    public static Operand? TerminatorOperand(Terminator terminator) => terminator switch
    {
        Branch branch => branch.Condition,
        Return ret => ret.Value,
        _ => null,
    };

    // A back edge in layout order (to the same or an earlier block) encloses the blocks between.
    private static int[] LoopDepths(int[][] successors)
    {
        var depth = new int[successors.Length];
        for (var b = 0; b < successors.Length; b++)
            foreach (var s in successors[b])
                if (s <= b)
                    for (var i = s; i <= b; i++) depth[i]++;
        return depth;
    }
}
