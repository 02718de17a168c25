using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// Which virtual registers are live at the exit of every block, and at the function's entry (live-in = uses ∪
/// (live-out − defs), live-out = ∪ live-in of the successors), computed register by register:
/// from each block reading a register before writing it, walk backwards through predecessors
/// until a block that writes it. The work and the memory are the sizes of the live ranges (a dense
/// bit set per block would be blocks × registers: quadratic in a long function). Requires
/// terminated blocks; the IR need not be SSA. Blocks are numbered by their position in
/// <see cref="IrFunction.Blocks"/> (and <see cref="BasicBlock.Index"/> is set to it); the sets are
/// sorted register numbers.
/// <para>
/// Everything is kept in a few flat arrays (compressed rows: the members of block b's set are
/// <c>data[start[b]..start[b+1]]</c>) rather than a list per block and per register: a warm
/// compilation makes this analysis for every function, and its garbage was most of the backend's.
/// </para>
/// </summary>
public sealed class Liveness
{
    private readonly int[] _entry, _outStart, _out;

    private Liveness(int[] entry, int[] outStart, int[] @out, int[] loopDepth)
    {
        _entry = entry;
        _outStart = outStart;
        _out = @out;
        LoopDepth = loopDepth;
    }

    /// <summary>Registers live on entry to the function (its first block), in increasing order. (Only the entry's live-in set is kept: no caller reads another block's.)</summary>
    public ReadOnlySpan<int> LiveAtEntry => _entry;

    /// <summary>Registers live on exit from block <paramref name="block"/>, in increasing order.</summary>
    public ReadOnlySpan<int> LiveOut(int block) => _out.AsSpan(_outStart[block], _outStart[block + 1] - _outStart[block]);

    /// <summary>How many natural loops enclose each block: a spill-cost weight.</summary>
    public int[] LoopDepth { get; }

    public bool IsLiveAtEntry(int register) => LiveAtEntry.BinarySearch(register) >= 0;

    public static Liveness Compute(IrFunction function)
    {
        var blocks = function.Blocks;
        var count = blocks.Count;
        var registers = function.RegisterCount;
        for (var i = 0; i < count; i++) blocks[i].Index = i;

        // Edges as compressed rows: successors in terminator order, predecessors by target.
        // Work arrays are the thread's (Workspace): this runs for every function of every compilation,
        // and its temporaries were a megabyte of young garbage per compilation of a large program.
        var space = Workspace.ForThread();
        var successorStart = space.Zeroed(ref space.SuccessorStart, count + 1);
        for (var b = 0; b < count; b++) successorStart[b + 1] = successorStart[b] + SuccessorCount(blocks[b].Terminator!);
        var successors = space.Room(ref space.Successors, successorStart[count]);
        var predecessorStart = space.Zeroed(ref space.PredecessorStart, count + 1);
        for (var b = 0; b < count; b++)
        {
            var at = successorStart[b];
            switch (blocks[b].Terminator)
            {
                case Jump jump:
                    successors[at] = jump.Target.Index;
                    break;
                case Branch branch:
                    successors[at] = branch.IfTrue.Index;
                    successors[at + 1] = branch.IfFalse.Index;
                    break;
            }
            for (var e = successorStart[b]; e < successorStart[b + 1]; e++) predecessorStart[successors[e] + 1]++;
        }
        for (var b = 0; b < count; b++) predecessorStart[b + 1] += predecessorStart[b];
        var predecessors = space.Room(ref space.Predecessors, predecessorStart[count]);
        var fill = space.Zeroed(ref space.Fill, count);
        for (var b = 0; b < count; b++)
            for (var e = successorStart[b]; e < successorStart[b + 1]; e++)
            {
                var s = successors[e];
                predecessors[predecessorStart[s] + fill[s]++] = b;
            }

        // Per register: the blocks reading it before writing it (exposed uses) and the blocks
        // writing it, as linked lists threaded through one growing array of (block, next) cells.
        var firstUse = space.Room(ref space.FirstUse, registers);
        var firstDefinition = space.Room(ref space.FirstDefinition, registers);
        Array.Fill(firstUse, -1, 0, registers);
        Array.Fill(firstDefinition, -1, 0, registers);
        var cells = space.Room(ref space.Cells, 2 * Math.Max(16, count * 4));
        var cellCount = 0;
        var defined = space.Zeroed(ref space.Defined, registers);   // stamps: block position + 1
        var used = space.Zeroed(ref space.Used, registers);
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            var stamp = b + 1;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                foreach (var operand in instruction.Arguments)
                    if (!operand.IsConstant) Read(operand.Register.Index);
                if (instruction.Destination is { } destination && defined[destination.Index] != stamp)
                {
                    defined[destination.Index] = stamp;
                    Push(ref firstDefinition[destination.Index], b);
                }
            }
            if (TerminatorOperand(block.Terminator!) is { IsConstant: false } value) Read(value.Register.Index);

            void Read(int v)
            {
                if (defined[v] == stamp || used[v] == stamp) return;
                used[v] = stamp;
                Push(ref firstUse[v], b);
            }
        }

        // Walk each register's range; (block, register) pairs come out in increasing register order,
        // so a stable bucketing by block leaves every set sorted. A block's live-in set is only
        // marked (the walk stops there); the entry's is collected.
        var entry = new List<int>();
        var outPairs = new PairList(space, count);
        var defines = space.Zeroed(ref space.Defines, count);   // stamps: register + 1
        var inStamp = space.Zeroed(ref space.InStamp, count);
        var outStamp = space.Zeroed(ref space.OutStamp, count);
        var work = space.Room(ref space.Work, count);
        for (var v = 0; v < registers; v++)
        {
            if (firstUse[v] < 0) continue;
            var stamp = v + 1;
            for (var c = firstDefinition[v]; c >= 0; c = cells[2 * c + 1]) defines[cells[2 * c]] = stamp;
            var top = 0;
            for (var c = firstUse[v]; c >= 0; c = cells[2 * c + 1])
            {
                var b = cells[2 * c];
                inStamp[b] = stamp;
                work[top++] = b;
            }
            while (top > 0)
            {
                var w = work[--top];
                for (var e = predecessorStart[w]; e < predecessorStart[w + 1]; e++)
                {
                    var p = predecessors[e];
                    if (outStamp[p] != stamp)
                    {
                        outStamp[p] = stamp;
                        outPairs.Add(p, v);
                    }
                    if (inStamp[p] == stamp || defines[p] == stamp) continue;
                    inStamp[p] = stamp;
                    work[top++] = p;   // each block at most once per register: count is enough room
                }
            }
            if (count > 0 && inStamp[0] == stamp) entry.Add(v);
        }

        var (outStart, @out) = outPairs.ByBlock(space);
        space.Cells = cells;   // (grown, maybe)
        return new Liveness(entry.ToArray(), outStart, @out, LoopDepths(space, count, successorStart, successors, predecessorStart, predecessors));

        void Push(ref int head, int block)
        {
            if (2 * cellCount + 2 > cells.Length) Array.Resize(ref cells, cells.Length * 2);
            cells[2 * cellCount] = block;
            cells[2 * cellCount + 1] = head;
            head = cellCount++;
        }
    }

    private static int SuccessorCount(Terminator terminator) => terminator switch
    {
        Jump => 1,
        Branch => 2,
        _ => 0,
    };

    /// <summary>
    /// One thread's work arrays, kept from one function to the next (each taken at the length a
    /// function needs: zeroed where the walk relies on it, else only long enough). A huge
    /// function's are not kept.
    /// </summary>
    private sealed class Workspace
    {
        private const int KeepLimit = 1 << 16;

        [ThreadStatic] private static Workspace? t_current;

        public int[] SuccessorStart = [], Successors = [], PredecessorStart = [], Predecessors = [], Fill = [], FirstUse = [], FirstDefinition = [],
            Cells = [], Defined = [], Used = [], Defines = [], InStamp = [], OutStamp = [], Work = [], PairBlocks = [], PairRegisters = [], Next = [],
            Preorder = [], Last = [], OnStack = [], Stack = [], NextEdge = [], Header = [], Seen = [], Pending = [];

        public static Workspace ForThread() => t_current ??= new Workspace();

        /// <summary>At least <paramref name="length"/> elements (what lies there is left over).</summary>
        public int[] Room(ref int[] array, int length)
        {
            if (array.Length < length || array.Length > Math.Max(KeepLimit, 4 * length)) array = new int[Math.Max(64, length + (length >> 3))];
            return array;
        }

        /// <summary>At least <paramref name="length"/> elements, the first <paramref name="length"/> zero.</summary>
        public int[] Zeroed(ref int[] array, int length)
        {
            if (array.Length < length || array.Length > Math.Max(KeepLimit, 4 * length)) array = new int[Math.Max(64, length + (length >> 3))];
            else Array.Clear(array, 0, length);
            return array;
        }
    }

    /// <summary>(block, register) pairs in the order added, then bucketed by block (stable).</summary>
    private struct PairList(Workspace space, int blocks)
    {
        private int[] _blocks = space.Room(ref space.PairBlocks, Math.Max(16, blocks * 2));
        private int[] _registers = space.Room(ref space.PairRegisters, Math.Max(16, blocks * 2));
        private int _count;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Add(int block, int register)
        {
            // Rented arrays may be longer than asked and of different lengths: the shorter is the room.
            if (_count == Math.Min(_blocks.Length, _registers.Length))
            {
                Array.Resize(ref _blocks, _count * 2);
                Array.Resize(ref _registers, _count * 2);
            }
            _blocks[_count] = block;
            _registers[_count++] = register;
        }

        /// <summary>The pairs bucketed by block; the arrays (grown, maybe) go back to the workspace.</summary>
        public readonly (int[] Start, int[] Members) ByBlock(Workspace space)
        {
            var start = new int[blocks + 1];
            for (var i = 0; i < _count; i++) start[_blocks[i] + 1]++;
            for (var b = 0; b < blocks; b++) start[b + 1] += start[b];
            var members = new int[_count];
            var next = space.Zeroed(ref space.Next, blocks);
            for (var i = 0; i < _count; i++)
            {
                var b = _blocks[i];
                members[start[b] + next[b]++] = _registers[i];
            }
            space.PairBlocks = _blocks;
            space.PairRegisters = _registers;
            return (start, members);
        }
    }

    /// <summary>The value a terminator reads, if any.</summary>
    public static Operand? TerminatorOperand(Terminator terminator) => terminator switch
    {
        Branch branch => branch.Condition,
        Return ret => ret.Value,
        _ => null,
    };

    /// <summary>
    /// How many natural loops hold each block. A depth-first walk from the entry finds the back
    /// edges (to a block still on the walk's stack); every block that reaches a back edge's source
    /// backwards without passing its target (the header), staying among the header's descendants
    /// in the walk, is in that header's loop. In a reducible graph those are exactly the natural
    /// loops (a header dominates its body, so the body lies in the header's subtree); an
    /// irreducible cycle is still counted once, over the blocks of its subtree. Layout order is no
    /// guide: a loop's join blocks placed after its exit once counted as many loops deep as the
    /// jumps back over them, outweighing the loop's own header.
    /// </summary>
    private static int[] LoopDepths(Workspace space, int count, int[] successorStart, int[] successors, int[] predecessorStart, int[] predecessors)
    {
        var depth = new int[count];
        if (count == 0) return depth;
        var preorder = space.Zeroed(ref space.Preorder, count);      // visit number + 1 (0: unreached)
        var last = space.Zeroed(ref space.Last, count);              // the largest visit number + 1 in the block's subtree
        var onStack = space.Zeroed(ref space.OnStack, count);        // 1 while the block is on the walk's stack
        var stack = space.Room(ref space.Stack, count);
        var next = space.Room(ref space.NextEdge, count);            // the next successor edge to follow, per block on the stack
        var header = space.Zeroed(ref space.Header, count);          // 1: the target of some back edge
        var seen = space.Zeroed(ref space.Seen, count);              // stamps: header + 1
        var work = space.Room(ref space.Pending, count);
        var visits = 0;
        var top = 0;
        preorder[0] = ++visits;
        onStack[0] = 1;
        stack[top++] = 0;
        next[0] = successorStart[0];
        while (top > 0)
        {
            var b = stack[top - 1];
            if (next[b] < successorStart[b + 1])
            {
                var s = successors[next[b]++];
                if (preorder[s] == 0)
                {
                    preorder[s] = ++visits;
                    onStack[s] = 1;
                    next[s] = successorStart[s];
                    stack[top++] = s;
                }
                else if (onStack[s] == 1) header[s] = 1;
                continue;
            }
            onStack[b] = 0;
            last[b] = visits;
            top--;
        }
        for (var h = 0; h < count; h++)
        {
            if (header[h] == 0) continue;
            var stamp = h + 1;
            seen[h] = stamp;
            depth[h]++;
            var pending = 0;
            for (var e = predecessorStart[h]; e < predecessorStart[h + 1]; e++)
            {
                var latch = predecessors[e];
                if (InSubtree(latch, h) && seen[latch] != stamp) Visit(latch);
            }
            while (pending > 0)
            {
                var w = work[--pending];
                for (var e = predecessorStart[w]; e < predecessorStart[w + 1]; e++)
                {
                    var p = predecessors[e];
                    if (seen[p] != stamp && InSubtree(p, h)) Visit(p);
                }
            }

            void Visit(int block)
            {
                seen[block] = stamp;
                depth[block]++;
                work[pending++] = block;   // each block once per header: count is room enough
            }
        }
        return depth;

        // Reached, and visited while h was on the stack.
        bool InSubtree(int block, int h) => preorder[block] != 0 && preorder[block] >= preorder[h] && preorder[block] <= last[h];
    }
}
