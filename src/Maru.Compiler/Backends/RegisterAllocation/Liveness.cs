using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// Which virtual registers are live at the entry and exit of every block (live-in = uses ∪
/// (live-out − defs), live-out = ∪ live-in of the successors), computed register by register:
/// from each block reading a register before writing it, walk backwards through predecessors
/// until a block that writes it. The work and the memory are the sizes of the live ranges (a dense
/// bit set per block would be blocks × registers: quadratic in a long function). Requires
/// terminated blocks; the IR need not be SSA. Blocks are numbered by their position in
/// <see cref="IrFunction.Blocks"/>; the sets are sorted register numbers.
/// </summary>
public sealed class Liveness
{
    private Liveness(int[][] liveIn, int[][] liveOut, int[][] successors, int[] loopDepth)
    {
        LiveIn = liveIn;
        LiveOut = liveOut;
        Successors = successors;
        LoopDepth = loopDepth;
    }

    /// <summary>Registers live on entry to each block, in increasing order.</summary>
    public int[][] LiveIn { get; }

    /// <summary>Registers live on exit from each block, in increasing order.</summary>
    public int[][] LiveOut { get; }

    /// <summary>Successor block positions, per block position.</summary>
    public int[][] Successors { get; }

    /// <summary>How many loops (back edges in layout order) enclose each block: a spill-cost weight.</summary>
    public int[] LoopDepth { get; }

    public bool IsLiveIn(int block, int register) => Array.BinarySearch(LiveIn[block], register) >= 0;

    public static Liveness Compute(IrFunction function)
    {
        var blocks = function.Blocks;
        var count = blocks.Count;
        var registers = function.RegisterCount;
        var position = new Dictionary<BasicBlock, int>(count);
        for (var i = 0; i < count; i++) position.Add(blocks[i], i);

        // Per register: the blocks reading it before writing it (exposed uses) and the blocks writing it.
        var successors = new int[count][];
        var predecessors = new List<int>[count];
        for (var b = 0; b < count; b++) predecessors[b] = new List<int>(2);
        var exposedUses = new List<int>?[registers];
        var definingBlocks = new List<int>?[registers];
        var defined = new int[registers];   // stamps: block position + 1
        var used = new int[registers];
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            successors[b] = block.Terminator switch
            {
                Jump jump => [position[jump.Target]],
                Branch branch => [position[branch.IfTrue], position[branch.IfFalse]],
                _ => [],
            };
            foreach (var s in successors[b]) predecessors[s].Add(b);
            var stamp = b + 1;
            void Read(int v)
            {
                if (defined[v] == stamp || used[v] == stamp) return;
                used[v] = stamp;
                (exposedUses[v] ??= new List<int>(2)).Add(b);
            }
            foreach (var instruction in block.Instructions)
            {
                foreach (var operand in instruction.Arguments)
                    if (!operand.IsConstant) Read(operand.Register.Index);
                if (instruction.Destination is { } destination && defined[destination.Index] != stamp)
                {
                    defined[destination.Index] = stamp;
                    (definingBlocks[destination.Index] ??= new List<int>(2)).Add(b);
                }
            }
            if (TerminatorOperand(block.Terminator!) is { IsConstant: false } value) Read(value.Register.Index);
        }

        var liveIn = new List<int>[count];
        var liveOut = new List<int>[count];
        for (var b = 0; b < count; b++)
        {
            liveIn[b] = new List<int>();
            liveOut[b] = new List<int>();
        }
        var defines = new int[count];   // stamps: register + 1
        var inStamp = new int[count];
        var outStamp = new int[count];
        var work = new Stack<int>();
        for (var v = 0; v < registers; v++)
        {
            if (exposedUses[v] is not { } uses) continue;
            var stamp = v + 1;
            if (definingBlocks[v] is { } writers)
                foreach (var b in writers) defines[b] = stamp;
            foreach (var b in uses)
            {
                inStamp[b] = stamp;
                liveIn[b].Add(v);
                work.Push(b);
            }
            while (work.Count > 0)
                foreach (var p in predecessors[work.Pop()])
                {
                    if (outStamp[p] != stamp)
                    {
                        outStamp[p] = stamp;
                        liveOut[p].Add(v);
                    }
                    if (inStamp[p] == stamp || defines[p] == stamp) continue;
                    inStamp[p] = stamp;
                    liveIn[p].Add(v);
                    work.Push(p);
                }
        }

        var inSets = new int[count][];
        var outSets = new int[count][];
        for (var b = 0; b < count; b++)
        {
            inSets[b] = liveIn[b].ToArray();   // registers were visited in increasing order: sorted
            outSets[b] = liveOut[b].ToArray();
        }
        return new Liveness(inSets, outSets, successors, LoopDepths(successors));
    }

    /// <summary>The value a terminator reads, if any.</summary>
    public static Operand? TerminatorOperand(Terminator terminator) => terminator switch
    {
        Branch branch => branch.Condition,
        Return ret => ret.Value,
        _ => null,
    };

    // A back edge in layout order (to the same or an earlier block) encloses the blocks between:
    // +1 at its target, -1 after its source, then a running sum (linear in blocks + edges).
    private static int[] LoopDepths(int[][] successors)
    {
        var delta = new int[successors.Length + 1];
        for (var b = 0; b < successors.Length; b++)
            foreach (var s in successors[b])
                if (s <= b)
                {
                    delta[s]++;
                    delta[b + 1]--;
                }
        var depth = new int[successors.Length];
        for (int b = 0, running = 0; b < successors.Length; b++) depth[b] = running += delta[b];
        return depth;
    }
}
