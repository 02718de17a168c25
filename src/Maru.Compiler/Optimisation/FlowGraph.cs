using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// The control-flow facts of one function: predecessors, reverse postorder and the dominator tree
/// (Lengauer and Tarjan, path compression), plus dominance frontiers on request. Building it
/// first drops unreachable blocks (and their phi inputs), then numbers the blocks by position
/// (<see cref="BasicBlock.Index"/>).
/// <para>
/// Shared between passes: <see cref="Of"/> hands out one graph per thread and rebuilds it only
/// when the function's blocks or edges changed since it was built (a walk comparing each
/// block and its successors with what the graph was built from: linear, no allocation). Passes
/// that only rewrite instructions, phis or branch conditions (SSA construction, value numbering,
/// branch facts, induction variables...) so share one analysis; a pass that changes edges just
/// asks again. Its tables are flat arrays (predecessors and dominator children in one array
/// each, sliced per block) kept from one build to the next, so a warm compilation's 10-odd
/// builds per function allocate nothing once the arrays have grown. Whatever a caller got from
/// it describes the function as of the last <see cref="Of"/>: ask again after changing edges.
/// </para>
/// </summary>
internal sealed class FlowGraph
{
    /// <summary>Tables above this many blocks are not kept once the function is done (<see cref="Forget"/>).</summary>
    private const int MaxRetainedBlocks = 1 << 12;

    [ThreadStatic] private static FlowGraph? _shared;

    private int _count;                                 // blocks
    private BasicBlock[] _blocks = [];                  // what the graph was built from, by Index
    private int[] _successors = [];                     // two per block: 1 + the successor's Index, 0 when absent (numbers: no write barrier per store)
    private TerminatorSlot[] _terminators = [];         // each block's terminator when last checked (a record: same object, same successors)
    private int[] _predecessorStart = [];               // predecessors of block i: _predecessors[start[i]..start[i+1]]
    private BasicBlock[] _predecessors = [];
    private BasicBlock[] _reversePostorder = [];
    private bool _hasDominators;
    private BasicBlock[] _immediateDominator = [];
    private int[] _childStart = [];
    private BasicBlock[] _children = [];
    private int[] _preorder = [];
    private int[] _postorder = [];
    private bool _numbered;   // _preorder and _postorder describe this build's tree (numbered on the first Dominates)
    private bool _hasFrontiers;
    private int _cycle;   // HasCycle's answer for this build: 1 yes, -1 no, 0 not asked yet
    private int[] _frontierHead = [], _frontierTail = [];
    private int[] _frontierNext = [];
    private int _frontierUsed;
    private BasicBlock[] _frontierItem = [];
    private readonly int[]?[] _work = new int[]?[12];

    private FlowGraph() { }

    /// <summary>A struct around the reference: a store into a Terminator[] is a covariance-checked helper call.</summary>
    private struct TerminatorSlot
    {
        public Terminator? Terminator;
    }

    public IrFunction Function { get; private set; } = null!;

    /// <summary>
    /// The graph of <paramref name="function"/> as it is now: the shared one when the blocks and
    /// edges are those it was built from, else rebuilt (which drops unreachable blocks first).
    /// </summary>
    /// <param name="withDominators">False for passes that only need predecessors and reverse postorder.</param>
    public static FlowGraph Of(IrFunction function, bool withDominators = true)
    {
        var graph = _shared ??= new FlowGraph();
        if (!ReferenceEquals(graph.Function, function) || !graph.StillDescribes(function)) graph.Build(function);
        if (withDominators && !graph._hasDominators) graph.BuildDominators();
        return graph;
    }

    /// <summary>
    /// Whether this thread's graph was built from <paramref name="function"/> and its blocks and edges
    /// are still those: then every block is reachable (a build drops the rest). Numbers the blocks by position.
    /// </summary>
    public static bool Describes(IrFunction function) =>
        _shared is { } graph && ReferenceEquals(graph.Function, function) && graph.StillDescribes(function);

    /// <summary>This graph with its dominator tree, for a caller that got it without one and has changed no edge since (no second check of the blocks).</summary>
    public FlowGraph WithDominators()
    {
        if (!_hasDominators) BuildDominators();
        return this;
    }

    /// <summary>What <see cref="NaturalLoop.FindAll"/> found for this build (its dominator tree), kept until the next build.</summary>
    internal List<NaturalLoop>? Loops { get; set; }

    /// <summary>The function is done: nothing of it stays referenced, and the tables of a huge one are not kept.</summary>
    public static void Forget()
    {
        if (_shared is not { } graph) return;
        if (graph._blocks.Length > MaxRetainedBlocks || graph._predecessors.Length > 2 * MaxRetainedBlocks || graph._frontierItem.Length > 4 * MaxRetainedBlocks)
        {
            _shared = null;
            return;
        }
        if (graph.Function is null) return;
        // Only the parts in use: the arrays may be much longer than this function needed.
        var n = graph._count;
        Array.Clear(graph._blocks, 0, n);
        Array.Clear(graph._terminators, 0, n);
        Array.Clear(graph._predecessors, 0, graph._predecessorStart[n]);
        Array.Clear(graph._reversePostorder, 0, n);
        if (graph._hasDominators)
        {
            Array.Clear(graph._immediateDominator, 0, n);
            Array.Clear(graph._children, 0, n);
        }
        Array.Clear(graph._frontierItem, 0, graph._frontierUsed);
        graph.Function = null!;
        graph.Loops = null;
        graph._count = 0;
        graph._frontierUsed = 0;
        graph._hasDominators = graph._hasFrontiers = false;
    }

    public BasicBlock Entry => Function.Blocks[0];

    /// <summary>Distinct predecessors of each block (by Index), in block order: <c>Predecessors[block.Index]</c>.</summary>
    public PredecessorTable Predecessors => new(this);

    public readonly struct PredecessorTable(FlowGraph graph)
    {
        public ReadOnlySpan<BasicBlock> this[int index] =>
            graph._predecessors.AsSpan(graph._predecessorStart[index], graph._predecessorStart[index + 1] - graph._predecessorStart[index]);
    }

    /// <summary>Reachable blocks, entry first, each before its successors except along back edges.</summary>
    public ReadOnlySpan<BasicBlock> ReversePostorder => _reversePostorder.AsSpan(0, _count);

    /// <summary>Immediate dominator of each block (by Index); the entry's is itself.</summary>
    public ReadOnlySpan<BasicBlock> ImmediateDominator => _immediateDominator.AsSpan(0, _count);

    /// <summary>Children of a block in the dominator tree, in reverse postorder.</summary>
    public ReadOnlySpan<BasicBlock> DominatorChildren(BasicBlock block) =>
        _children.AsSpan(_childStart[block.Index], _childStart[block.Index + 1] - _childStart[block.Index]);

    public bool Dominates(BasicBlock a, BasicBlock b) =>
        (_numbered || NumberDominatorTree()) && _preorder[a.Index] <= _preorder[b.Index] && _postorder[b.Index] <= _postorder[a.Index];

    /// <summary>Is there a cycle? An edge that does not go forward in reverse postorder (which orders an acyclic graph topologically).</summary>
    public bool HasCycle()
    {
        if (_cycle != 0) return _cycle > 0;
        var number = Work(0, _count);
        for (var i = 0; i < _count; i++) number[_reversePostorder[i].Index] = i;
        var cycle = false;
        for (var i = 0; i < _count && !cycle; i++)
        {
            for (var s = 0; s < 2 && _successors[2 * i + s] is > 0 and var successor; s++)
                if (number[successor - 1] <= number[i]) cycle = true;
        }
        _cycle = cycle ? 1 : -1;
        return cycle;
    }

    /// <summary>
    /// Visits the dominator tree depth first, children in reverse postorder, without recursion (a
    /// chain of thousands of blocks is a tree that deep): <paramref name="enter"/> runs before a
    /// block's subtree and returns a mark (what to undo back to), <paramref name="exit"/> runs after
    /// the subtree with that mark. Scoped passes (value numbering, branch facts, SSA renaming) keep
    /// what holds on the current dominator path this way.
    /// </summary>
    public void WalkDominatorTree(Func<BasicBlock, int> enter, Action<BasicBlock, int> exit)
    {
        var block = Scratch<int>.Rent(_count);
        var child = Scratch<int>.Rent(_count);
        var mark = Scratch<int>.Rent(_count);
        var depth = 0;
        block[0] = 0;
        child[0] = _childStart[0];
        mark[0] = enter(Entry);
        depth = 1;
        while (depth > 0)
        {
            var top = depth - 1;
            var b = block[top];
            if (child[top] < _childStart[b + 1])
            {
                var next = _children[child[top]++];
                block[depth] = next.Index;
                child[depth] = _childStart[next.Index];
                mark[depth] = enter(next);
                depth++;
                continue;
            }
            exit(_blocks[b], mark[top]);
            depth--;
        }
        Scratch<int>.Return(block);
        Scratch<int>.Return(child);
        Scratch<int>.Return(mark);
    }

    /// <summary>The dominance frontier of a block (CHK's "runner" walk up from each predecessor of a join), computed once per graph.</summary>
    public FrontierList DominanceFrontier(BasicBlock block)
    {
        if (!_hasFrontiers) BuildFrontiers();
        return new FrontierList(this, _frontierHead[block.Index]);
    }

    /// <summary>The blocks of one dominance frontier, in the order they were found.</summary>
    public readonly struct FrontierList(FlowGraph graph, int head)
    {
        public Enumerator GetEnumerator() => new(graph, head);

        public struct Enumerator(FlowGraph graph, int head)
        {
            private int _next = head;
            private int _at = -1;

            public readonly BasicBlock Current => graph._frontierItem[_at];

            public bool MoveNext()
            {
                if (_next < 0) return false;
                _at = _next;
                _next = graph._frontierNext[_at];
                return true;
            }
        }
    }

    // ---- successors without allocation -----------------------------------------------------------

    /// <summary>Distinct successors: a branch whose two targets are the same block has one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // millions of calls per compilation, most from tight walks
    public static int SuccessorCount(BasicBlock block) => block.Terminator switch
    {
        Jump => 1,
        Branch branch => branch.IfTrue == branch.IfFalse ? 1 : 2,
        _ => 0,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BasicBlock Successor(BasicBlock block, int index) => block.Terminator switch
    {
        Jump jump => jump.Target,
        Branch branch => index == 0 ? branch.IfTrue : branch.IfFalse,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>
    /// A block's distinct successors, read from its terminator once (a loop asking
    /// <see cref="SuccessorCount"/> and <see cref="Successor"/> at every step matched the
    /// terminator's type each time).
    /// </summary>
    public readonly struct Edges(BasicBlock? first, BasicBlock? second)
    {
        public int Count
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => first is null ? 0 : second is null ? 1 : 2;
        }

        public BasicBlock this[int index]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => index == 0 ? first! : second!;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Edges EdgesOf(BasicBlock block) => block.Terminator switch
    {
        Jump jump => new(jump.Target, null),
        Branch branch => new(branch.IfTrue, branch.IfTrue == branch.IfFalse ? null : branch.IfFalse),
        _ => default,
    };

    /// <summary>The terminator with every edge to <paramref name="from"/> sent to <paramref name="to"/> instead.</summary>
    public static Terminator Retarget(Terminator terminator, BasicBlock from, BasicBlock to) => terminator switch
    {
        Jump jump when jump.Target == from => new Jump(to),
        Branch branch when branch.IfTrue == from || branch.IfFalse == from =>
            new Branch(branch.Condition, branch.IfTrue == from ? to : branch.IfTrue, branch.IfFalse == from ? to : branch.IfFalse),
        _ => terminator,
    };

    /// <summary>Drops blocks no path from the entry reaches, and the phi inputs that came from them.</summary>
    public static void RemoveUnreachableBlocks(IrFunction function)
    {
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = -1;
        var work = Scratch<BasicBlock>.Rent(blocks.Count);
        var top = 0;
        blocks[0].Index = 0;
        work[top++] = blocks[0];
        var reachable = 1;
        while (top > 0)
        {
            var edges = EdgesOf(work[--top]);
            for (var s = 0; s < edges.Count; s++)
            {
                var successor = edges[s];
                if (successor.Index >= 0) continue;
                successor.Index = 0;
                reachable++;
                work[top++] = successor;
            }
        }
        Array.Clear(work, 0, blocks.Count);
        Scratch<BasicBlock>.Return(work);
        if (reachable == blocks.Count) return;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (block.Index < 0) continue;
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                ListCompaction.RemoveWhere(phi.Inputs, default(FromUnreached));
        }
        ListCompaction.RemoveWhere(blocks, default(Unreached));
    }

    /// <summary>A block the reachability walk of <see cref="RemoveUnreachableBlocks"/> left unnumbered.</summary>
    private readonly struct Unreached : IDropTest<BasicBlock>
    {
        public bool Drop(BasicBlock block) => block.Index < 0;
    }

    private readonly struct FromUnreached : IDropTest<PhiInput>
    {
        public bool Drop(PhiInput input) => input.Predecessor.Index < 0;
    }

    // ---- construction ----------------------------------------------------------------------------

    /// <summary>Are the function's blocks, in order, and their successors still those the graph was built from? Renumbers Index as it checks.</summary>
    private bool StillDescribes(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count != _count) return false;
        for (var i = 0; i < _count; i++)
        {
            var block = blocks[i];
            if (!ReferenceEquals(block, _blocks[i])) return false;
            block.Index = i;   // other code numbers blocks too (control-flow simplification, unreachable-block removal)
            // Terminators are immutable: the one seen last time has the same successors.
            var terminator = block.Terminator;
            if (ReferenceEquals(terminator, _terminators[i].Terminator)) continue;
            var edges = EdgesOf(block);
            var (first, second) = (_successors[2 * i], _successors[2 * i + 1]);
            if (edges.Count != (first == 0 ? 0 : second == 0 ? 1 : 2)
                || (first != 0 && !ReferenceEquals(edges[0], _blocks[first - 1]))
                || (second != 0 && !ReferenceEquals(edges[1], _blocks[second - 1]))) return false;
            _terminators[i].Terminator = terminator;
        }
        return true;
    }

    /// <summary>
    /// Work table number <paramref name="slot"/> of the construction steps (not of walks that call
    /// out, <see cref="WalkDominatorTree"/>), its first <paramref name="length"/> entries zero: kept
    /// by the graph, which is per thread, instead of a dozen rents and returns per build.
    /// </summary>
    private int[] Work(int slot, int length)
    {
        ref var array = ref _work[slot];
        if (array is null || array.Length < length) array = new int[Math.Max(length, 2 * (array?.Length ?? 8))];
        else array.AsSpan(0, length).Clear();
        return array;
    }

    /// <summary>Makes the array at least that long; the contents are not kept (every table is filled anew).</summary>
    private static void Grow<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, 2 * array.Length)];
    }

    private void Build(IrFunction function)
    {
        Function = null!;   // set again once built: a build that throws leaves no graph to trust
        _hasDominators = false;
        _cycle = 0;
        Loops = null;
        _hasFrontiers = false;
        _frontierUsed = 0;
        var blocks = function.Blocks;
        // The reverse postorder walk finds the reachable blocks: only when it misses some are they
        // dropped (a second walk) and the order taken again. Most builds find every block reachable.
        ReadSuccessors(blocks);
        if (ComputeReversePostorder(blocks) != _count)
        {
            Array.Clear(_reversePostorder, 0, _count);   // the partial order: no dropped block stays referenced
            RemoveUnreachableBlocks(function);
            ReadSuccessors(blocks);
            if (ComputeReversePostorder(blocks) != _count) throw new InvalidOperationException("flow graph: a block no walk from the entry reached");
        }
        var n = _count;
        Grow(ref _blocks, n);
        Grow(ref _terminators, n);
        Grow(ref _predecessorStart, n + 1);

        // Predecessors, flat: count each block's, then fill in block order.
        var start = _predecessorStart;
        Array.Clear(start, 0, n + 1);
        var edges = 0;
        var successors = _successors;
        for (var i = 0; i < n; i++)
        {
            var block = blocks[i];
            _blocks[i] = block;
            _terminators[i].Terminator = block.Terminator;
            for (var s = 0; s < 2 && successors[2 * i + s] is > 0 and var successor; s++)
            {
                start[successor]++;   // (1 + its index: the count goes to the slot after the successor's)
                edges++;
            }
        }
        for (var i = 0; i < n; i++) start[i + 1] += start[i];
        Grow(ref _predecessors, edges);
        var fill = Work(0, n);
        for (var i = 0; i < n; i++)
            for (var s = 0; s < 2 && successors[2 * i + s] - 1 is >= 0 and var successor; s++)
                _predecessors[start[successor] + fill[successor]++] = blocks[i];
        Function = function;
    }

    /// <summary>Numbers the blocks by position and notes each one's distinct successors (two slots per block: 1 + the successor's number, 0 when absent).</summary>
    private void ReadSuccessors(List<BasicBlock> blocks)
    {
        var span = CollectionsMarshal.AsSpan(blocks);
        _count = span.Length;
        for (var i = 0; i < span.Length; i++) span[i].Index = i;
        Grow(ref _successors, 2 * _count);
        Grow(ref _reversePostorder, _count);
        var successors = _successors;
        for (var i = 0; i < span.Length; i++)
        {
            var edges = EdgesOf(span[i]);
            successors[2 * i] = edges.Count > 0 ? edges[0].Index + 1 : 0;
            successors[2 * i + 1] = edges.Count > 1 ? edges[1].Index + 1 : 0;
        }
    }

    /// <summary>Fills the reverse postorder of the blocks the entry reaches at the end of the table (from the successors <see cref="ReadSuccessors"/> noted); returns how many it reached.</summary>
    private int ComputeReversePostorder(List<BasicBlock> list)
    {
        var n = _count;
        var successors = _successors;
        var blocks = CollectionsMarshal.AsSpan(list);
        var order = _reversePostorder;
        var visited = Work(0, n);   // non-zero: visited
        var stackBlock = Work(1, n + 1);
        var stackNext = Work(2, n + 1);
        var next = n;
        var depth = 0;
        visited[0] = 1;
        stackBlock[depth] = 0;
        stackNext[depth++] = 0;
        while (depth > 0)
        {
            var b = stackBlock[depth - 1];
            var s = stackNext[depth - 1];
            if (s < 2 && successors[2 * b + s] is > 0 and var successor)
            {
                stackNext[depth - 1] = s + 1;
                var index = successor - 1;
                if (visited[index] == 0)
                {
                    visited[index] = 1;
                    stackBlock[depth] = index;
                    stackNext[depth++] = 0;
                }
            }
            else
            {
                order[--next] = blocks[b];
                depth--;
            }
        }
        return n - next;   // all of them: the order fills the table from its start
    }

    /// <summary>
    /// The dominator tree: immediate dominators (<see cref="ImmediateDominatorsIteratively"/> for
    /// small graphs, else <see cref="ImmediateDominatorsByLengauerTarjan"/>), then the tree's children
    /// (in reverse postorder); its pre/post numbers, which answer "does a dominate b" in constant time, come on the first such question.
    /// </summary>
    private void BuildDominators()
    {
        var n = _count;
        Grow(ref _immediateDominator, n);
        if (n <= MaxIterativeDominators) ImmediateDominatorsIteratively();
        else ImmediateDominatorsByLengauerTarjan();
        var idom = _immediateDominator;

        // Children, flat, in reverse postorder.
        Grow(ref _childStart, n + 1);
        Grow(ref _children, n);
        var start = _childStart;
        Array.Clear(start, 0, n + 1);
        var order = ReversePostorder;
        foreach (var block in order)
            if (block.Index != 0) start[idom[block.Index].Index + 1]++;
        for (var i = 0; i < n; i++) start[i + 1] += start[i];
        var fill = Work(0, n);
        foreach (var block in order)
        {
            if (block.Index == 0) continue;
            var parentIndex = idom[block.Index].Index;
            _children[start[parentIndex] + fill[parentIndex]++] = block;
        }
        _hasDominators = true;
        _numbered = false;   // most users walk the tree and never ask Dominates
    }

    /// <summary>
    /// Up to this many blocks the immediate dominators come from the iterative algorithm (Cooper, Harvey
    /// and Kennedy): on the small graphs of most functions it does a fraction of Lengauer and Tarjan's work
    /// (one pass in reverse postorder when there is no cycle), and its quadratic worst case (a join of
    /// thousands of edges from a deep chain) is bounded by the size. The tree is the same either way
    /// (immediate dominators are unique).
    /// </summary>
    private const int MaxIterativeDominators = 512;

    /// <summary>The immediate dominators by the iterative algorithm on reverse-postorder numbers (every block is reachable).</summary>
    private void ImmediateDominatorsIteratively()
    {
        var n = _count;
        var rpo = _reversePostorder;
        var number = Work(0, n);     // block index -> reverse-postorder number
        var dominator = Work(1, n);  // by number: the immediate dominator's number, -1 while unknown
        for (var i = 0; i < n; i++) number[rpo[i].Index] = i;
        dominator.AsSpan(1, n - 1).Fill(-1);
        var predecessors = Predecessors;
        var changed = true;
        while (changed)
        {
            changed = false;
            var later = false;   // a predecessor after its block: another pass may change something
            for (var i = 1; i < n; i++)
            {
                var found = -1;
                foreach (var predecessor in predecessors[rpo[i].Index])
                {
                    var p = number[predecessor.Index];
                    if (p >= i) later = true;
                    if (dominator[p] < 0) continue;
                    if (found < 0)
                    {
                        found = p;
                        continue;
                    }
                    var a = p;
                    while (a != found)
                    {
                        while (a > found) a = dominator[a];
                        while (found > a) found = dominator[found];
                    }
                }
                if (dominator[i] != found)
                {
                    dominator[i] = found;
                    changed = true;
                }
            }
            if (!later) break;   // every predecessor came first: the first pass is final
        }
        var idom = _immediateDominator;
        idom[rpo[0].Index] = rpo[0];
        for (var i = 1; i < n; i++) idom[rpo[i].Index] = rpo[dominator[i]];
    }

    /// <summary>
    /// Lengauer and Tarjan's algorithm with path compression (near-linear; the iterative algorithm
    /// walks dominator chains per predecessor and is quadratic on a join of thousands of edges).
    /// Iterative throughout: no recursion per block.
    /// </summary>
    private void ImmediateDominatorsByLengauerTarjan()
    {
        var blocks = Function.Blocks;
        var n = _count;
        // DFS preorder numbers 1..count (0 = unreached), the DFS tree parent, and the vertex of each number.
        var number = Work(0, n);
        var vertex = Work(1, n + 1);
        var parent = Work(2, n + 1);
        var stackBlock = Work(3, 2 * n + 2);
        var stackParent = Work(4, 2 * n + 2);
        var count = 0;
        var depth = 0;
        stackBlock[depth] = 0;
        stackParent[depth++] = 0;
        while (depth > 0)
        {
            depth--;
            var (b, from) = (stackBlock[depth], stackParent[depth]);
            if (number[b] != 0) continue;
            number[b] = ++count;
            vertex[count] = b;
            parent[count] = from;
            var edges = EdgesOf(blocks[b]);
            for (var s = edges.Count - 1; s >= 0; s--)
            {
                var successor = edges[s].Index;
                if (number[successor] != 0) continue;
                stackBlock[depth] = successor;
                stackParent[depth++] = count;
            }
        }

        var semi = Work(5, count + 1);
        var label = Work(6, count + 1);
        var ancestor = Work(7, count + 1);
        var dom = Work(8, count + 1);
        var bucketHead = Work(9, count + 1);   // buckets as linked lists through bucketNext
        var bucketNext = Work(10, count + 1);
        var path = Work(11, count + 1);
        for (var i = 1; i <= count; i++) semi[i] = label[i] = i;

        int Eval(int v)
        {
            if (ancestor[v] == 0) return v;
            // Compress the ancestor chain, topmost first (what the recursive formulation does on return).
            var length = 0;
            for (var x = v; ancestor[ancestor[x]] != 0; x = ancestor[x]) path[length++] = x;
            for (var i = length - 1; i >= 0; i--)
            {
                var x = path[i];
                var a = ancestor[x];
                if (semi[label[a]] < semi[label[x]]) label[x] = label[a];
                ancestor[x] = ancestor[a];
            }
            return label[v];
        }

        var predecessors = Predecessors;
        for (var w = count; w >= 2; w--)
        {
            foreach (var predecessor in predecessors[vertex[w]])
            {
                var v = number[predecessor.Index];
                if (v == 0) continue;
                var u = Eval(v);
                if (semi[u] < semi[w]) semi[w] = semi[u];
            }
            bucketNext[w] = bucketHead[semi[w]];
            bucketHead[semi[w]] = w;
            var p = parent[w];
            ancestor[w] = p;
            for (var v = bucketHead[p]; v != 0; v = bucketNext[v])
            {
                var u = Eval(v);
                dom[v] = semi[u] < semi[v] ? u : p;
            }
            bucketHead[p] = 0;
        }
        for (var w = 2; w <= count; w++)
            if (dom[w] != semi[w]) dom[w] = dom[dom[w]];

        var idom = _immediateDominator;
        idom[0] = blocks[0];
        for (var w = 2; w <= count; w++) idom[vertex[w]] = blocks[vertex[dom[w]]];
    }

    /// <summary>Pre and post numbers of a depth-first walk of the dominator tree (what <see cref="Dominates"/> reads), made on its first call after a build; returns true.</summary>
    private bool NumberDominatorTree()
    {
        Grow(ref _preorder, _count);
        Grow(ref _postorder, _count);
        var clock = 0;
        var block = Work(0, _count);
        var child = Work(1, _count);
        var depth = 1;
        block[0] = 0;
        child[0] = _childStart[0];
        _preorder[0] = clock++;
        while (depth > 0)
        {
            var top = depth - 1;
            var b = block[top];
            if (child[top] < _childStart[b + 1])
            {
                var next = _children[child[top]++].Index;
                block[depth] = next;
                child[depth] = _childStart[next];
                _preorder[next] = clock++;
                depth++;
                continue;
            }
            _postorder[b] = clock++;
            depth--;
        }
        _numbered = true;
        return true;
    }

    private void BuildFrontiers()
    {
        if (!_hasDominators) BuildDominators();
        var n = _count;
        Grow(ref _frontierHead, n);
        Grow(ref _frontierTail, n);
        Array.Fill(_frontierHead, -1, 0, n);
        var used = 0;
        var blocks = Function.Blocks;
        var idom = _immediateDominator;
        var predecessors = Predecessors;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var incoming = predecessors[block.Index];
            if (incoming.Length < 2) continue;
            var dominator = idom[block.Index];
            foreach (var predecessor in incoming)
            {
                for (var runner = predecessor; runner != dominator; runner = idom[runner.Index])
                {
                    // A runner that already has the join was walked from an earlier predecessor,
                    // and so was the rest of the chain: stopping keeps the walk linear in the frontier sizes.
                    var r = runner.Index;
                    if (_frontierHead[r] >= 0 && _frontierItem[_frontierTail[r]] == block) break;
                    if (used == _frontierItem.Length)
                    {
                        // Growing while filled: keep what is there (Grow does not).
                        Array.Resize(ref _frontierItem, Math.Max(16, 2 * used));
                        Array.Resize(ref _frontierNext, _frontierItem.Length);
                    }
                    _frontierItem[used] = block;
                    _frontierNext[used] = -1;
                    if (_frontierHead[r] < 0) _frontierHead[r] = used;
                    else _frontierNext[_frontierTail[r]] = used;
                    _frontierTail[r] = used++;
                    if (r == 0) break;
                }
            }
        }
        _frontierUsed = used;
        _hasFrontiers = true;
    }
}
