using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// The control-flow facts of one function at one moment: predecessors, reverse postorder and the
/// dominator tree (Lengauer and Tarjan, path compression), plus
/// dominance frontiers on request. Building it first drops unreachable blocks (and their phi
/// inputs), then numbers the blocks by position (<see cref="BasicBlock.Index"/>). Any pass that
/// changes edges builds a new one.
/// </summary>
internal sealed class FlowGraph
{
    private readonly int[] _preorder = [];
    private readonly int[] _postorder = [];

    public IrFunction Function { get; }

    /// <summary>Distinct predecessors of each block (by Index), in block order.</summary>
    public List<BasicBlock>[] Predecessors { get; }

    /// <summary>Reachable blocks, entry first, each before its successors except along back edges.</summary>
    public BasicBlock[] ReversePostorder { get; }

    /// <summary>Immediate dominator of each block (by Index); the entry's is itself.</summary>
    public BasicBlock[] ImmediateDominator { get; }

    /// <summary>Children in the dominator tree, in reverse postorder.</summary>
    public List<BasicBlock>[] DominatorChildren { get; }

    /// <param name="withDominators">False for passes that only need predecessors and reverse postorder.</param>
    public FlowGraph(IrFunction function, bool withDominators = true)
    {
        Function = function;
        RemoveUnreachableBlocks(function);
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = i;

        Predecessors = new List<BasicBlock>[blocks.Count];
        for (var i = 0; i < blocks.Count; i++) Predecessors[i] = new List<BasicBlock>(2);
        foreach (var block in blocks)
            for (var s = 0; s < SuccessorCount(block); s++)
                Predecessors[Successor(block, s).Index].Add(block);

        ReversePostorder = ComputeReversePostorder(function);
        ImmediateDominator = [];
        DominatorChildren = [];
        if (!withDominators) return;
        ImmediateDominator = ComputeDominators();
        DominatorChildren = new List<BasicBlock>[blocks.Count];
        for (var i = 0; i < blocks.Count; i++) DominatorChildren[i] = new List<BasicBlock>();
        foreach (var block in ReversePostorder)
            if (block.Index != 0) DominatorChildren[ImmediateDominator[block.Index].Index].Add(block);

        // Pre/post numbers of the dominator tree answer "does a dominate b" in constant time.
        _preorder = new int[blocks.Count];
        _postorder = new int[blocks.Count];
        var clock = 0;
        WalkDominatorTree(block => _preorder[block.Index] = clock++, (block, _) => _postorder[block.Index] = clock++);
    }

    public BasicBlock Entry => Function.Blocks[0];

    public bool Dominates(BasicBlock a, BasicBlock b) =>
        _preorder[a.Index] <= _preorder[b.Index] && _postorder[b.Index] <= _postorder[a.Index];

    /// <summary>
    /// Visits the dominator tree depth first, children in reverse postorder, without recursion (a
    /// chain of thousands of blocks is a tree that deep): <paramref name="enter"/> runs before a
    /// block's subtree and returns a mark (what to undo back to), <paramref name="exit"/> runs after
    /// the subtree with that mark. Scoped passes (value numbering, branch facts, SSA renaming) keep
    /// what holds on the current dominator path this way.
    /// </summary>
    public void WalkDominatorTree(Func<BasicBlock, int> enter, Action<BasicBlock, int> exit)
    {
        var frames = new (BasicBlock Block, int Child, int Mark)[Function.Blocks.Count];
        var depth = 0;
        frames[depth++] = (Entry, 0, enter(Entry));
        while (depth > 0)
        {
            ref var frame = ref frames[depth - 1];
            var children = DominatorChildren[frame.Block.Index];
            if (frame.Child < children.Count)
            {
                var child = children[frame.Child++];
                frames[depth++] = (child, 0, enter(child));
                continue;
            }
            exit(frame.Block, frame.Mark);
            depth--;
        }
    }

    /// <summary>Dominance frontiers (CHK's "runner" walk up from each predecessor of a join).</summary>
    public List<BasicBlock>[] DominanceFrontiers()
    {
        var frontiers = new List<BasicBlock>[Function.Blocks.Count];
        for (var i = 0; i < frontiers.Length; i++) frontiers[i] = new List<BasicBlock>();
        foreach (var block in Function.Blocks)
        {
            var predecessors = Predecessors[block.Index];
            if (predecessors.Count < 2) continue;
            var idom = ImmediateDominator[block.Index];
            foreach (var predecessor in predecessors)
            {
                for (var runner = predecessor; runner != idom; runner = ImmediateDominator[runner.Index])
                {
                    // A runner that already has the join was walked from an earlier predecessor,
                    // and so was the rest of the chain: stopping keeps the walk linear in the frontier sizes.
                    var frontier = frontiers[runner.Index];
                    if (frontier.Count > 0 && frontier[^1] == block) break;
                    frontier.Add(block);
                    if (runner.Index == 0) break;
                }
            }
        }
        return frontiers;
    }

    // ---- successors without allocation -----------------------------------------------------------

    /// <summary>Distinct successors: a branch whose two targets are the same block has one.</summary>
    public static int SuccessorCount(BasicBlock block) => block.Terminator switch
    {
        Jump => 1,
        Branch branch => branch.IfTrue == branch.IfFalse ? 1 : 2,
        _ => 0,
    };

    public static BasicBlock Successor(BasicBlock block, int index) => block.Terminator switch
    {
        Jump jump => jump.Target,
        Branch branch => index == 0 ? branch.IfTrue : branch.IfFalse,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>The terminator with every edge to <paramref name="from"/> sent to <paramref name="to"/> instead.</summary>
    public static Terminator Retarget(Terminator terminator, BasicBlock from, BasicBlock to) => terminator switch
    {
        Jump jump when jump.Target == from => new Jump(to),
        Branch branch when branch.IfTrue == from || branch.IfFalse == from =>
            new Branch(branch.Condition, branch.IfTrue == from ? to : branch.IfTrue, branch.IfFalse == from ? to : branch.IfFalse),
        _ => terminator,
    };

    // ---- construction ----------------------------------------------------------------------------

    /// <summary>Drops blocks no path from the entry reaches, and the phi inputs that came from them.</summary>
    public static void RemoveUnreachableBlocks(IrFunction function)
    {
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = -1;
        var work = new Stack<BasicBlock>();
        blocks[0].Index = 0;
        work.Push(blocks[0]);
        var reachable = 1;
        while (work.Count > 0)
        {
            var block = work.Pop();
            for (var s = 0; s < SuccessorCount(block); s++)
            {
                var successor = Successor(block, s);
                if (successor.Index >= 0) continue;
                successor.Index = 0;
                reachable++;
                work.Push(successor);
            }
        }
        if (reachable == blocks.Count) return;
        foreach (var block in blocks)
        {
            if (block.Index < 0) continue;
            foreach (var phi in block.Phis)
                phi.Inputs.RemoveAll(input => input.Predecessor.Index < 0);
        }
        blocks.RemoveAll(block => block.Index < 0);
    }

    private static BasicBlock[] ComputeReversePostorder(IrFunction function)
    {
        var blocks = function.Blocks;
        var visited = new bool[blocks.Count];
        var order = new BasicBlock[blocks.Count];
        var next = blocks.Count;
        var stack = new Stack<(BasicBlock Block, int Successor)>();
        visited[0] = true;
        stack.Push((blocks[0], 0));
        while (stack.Count > 0)
        {
            var (block, s) = stack.Pop();
            if (s < SuccessorCount(block))
            {
                stack.Push((block, s + 1));
                var successor = Successor(block, s);
                if (!visited[successor.Index])
                {
                    visited[successor.Index] = true;
                    stack.Push((successor, 0));
                }
            }
            else
            {
                order[--next] = block;
            }
        }
        return next == 0 ? order : order[next..];
    }

    /// <summary>
    /// Lengauer and Tarjan's dominator algorithm with path compression (near-linear; the iterative
    /// CHK algorithm walks dominator chains per predecessor and is quadratic on a join of
    /// thousands of edges). Iterative throughout: no recursion per block.
    /// </summary>
    private BasicBlock[] ComputeDominators()
    {
        var blocks = Function.Blocks;
        var n = blocks.Count;
        // DFS preorder numbers 1..count (0 = unreached), the DFS tree parent, and the vertex of each number.
        var number = new int[n];
        var vertex = new int[n + 1];
        var parent = new int[n + 1];
        var count = 0;
        var stack = new Stack<(int Block, int Parent)>();
        stack.Push((0, 0));
        while (stack.Count > 0)
        {
            var (b, from) = stack.Pop();
            if (number[b] != 0) continue;
            number[b] = ++count;
            vertex[count] = b;
            parent[count] = from;
            var block = blocks[b];
            for (var s = SuccessorCount(block) - 1; s >= 0; s--)
            {
                var successor = Successor(block, s).Index;
                if (number[successor] == 0) stack.Push((successor, count));
            }
        }

        var semi = new int[count + 1];
        var label = new int[count + 1];
        var ancestor = new int[count + 1];
        var dom = new int[count + 1];
        var bucketHead = new int[count + 1];   // buckets as linked lists through bucketNext
        var bucketNext = new int[count + 1];
        for (var i = 1; i <= count; i++) semi[i] = label[i] = i;
        var path = new List<int>();

        int Eval(int v)
        {
            if (ancestor[v] == 0) return v;
            // Compress the ancestor chain, topmost first (what the recursive formulation does on return).
            path.Clear();
            for (var x = v; ancestor[ancestor[x]] != 0; x = ancestor[x]) path.Add(x);
            for (var i = path.Count - 1; i >= 0; i--)
            {
                var x = path[i];
                var a = ancestor[x];
                if (semi[label[a]] < semi[label[x]]) label[x] = label[a];
                ancestor[x] = ancestor[a];
            }
            return label[v];
        }

        for (var w = count; w >= 2; w--)
        {
            foreach (var predecessor in Predecessors[vertex[w]])
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

        var idom = new BasicBlock[n];
        idom[0] = blocks[0];
        for (var w = 2; w <= count; w++) idom[vertex[w]] = blocks[vertex[dom[w]]];
        return idom;
    }
}
