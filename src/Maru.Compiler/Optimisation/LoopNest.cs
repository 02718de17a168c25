using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Which natural loop each block sits in most deeply, and how the loops nest, so "does this edge
/// leave the loop?" is a short walk up the nest. Blocks are numbered by their place in the list
/// when <see cref="Of"/> ran (FlowGraph numbers them so). Arrays are rented: <see cref="Return"/>.
/// </summary>
internal readonly struct LoopNest
{
    private readonly int[] _innermost;   // block Index -> innermost loop number + 1 (0: in no loop)
    private readonly int[] _parent;      // loop number -> the smallest loop around it, number + 1 (0: outermost)

    private LoopNest(int[] innermost, int[] parent)
    {
        _innermost = innermost;
        _parent = parent;
    }

    public static LoopNest Of(IrFunction function)
    {
        if (!HasRetreatingEdge(function)) return new LoopNest([], []);
        var graph = FlowGraph.Of(function);
        var loops = NaturalLoop.FindAll(graph);   // smallest first: a loop comes before every loop around it
        var innermost = Scratch<int>.Rent(function.Blocks.Count);
        var parent = Scratch<int>.Rent(loops.Count);
        for (var l = 0; l < loops.Count; l++)
            foreach (var block in CollectionsMarshal.AsSpan(loops[l].Blocks))
            {
                var inner = innermost[block.Index] - 1;
                if (inner < 0) innermost[block.Index] = l + 1;
                // The first bigger loop holding another loop's header is the smallest one around it.
                else if (inner != l && loops[inner].Header == block && parent[inner] == 0) parent[inner] = l + 1;
            }
        return new LoopNest(innermost, parent);
    }

    /// <summary>
    /// Every cycle has an edge to a block at or before its source in any order of the blocks: with
    /// none in the list order there is no loop, and no dominator tree to build.
    /// </summary>
    private static bool HasRetreatingEdge(IrFunction function)
    {
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = i;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
            for (var s = FlowGraph.SuccessorCount(block) - 1; s >= 0; s--)
                if (FlowGraph.Successor(block, s).Index <= block.Index) return true;
        return false;
    }

    /// <summary>The successor of <paramref name="block"/>'s branch that stays in its innermost loop when the other leaves it; null otherwise.</summary>
    public BasicBlock? Staying(BasicBlock block, Branch branch)
    {
        if (_innermost.Length == 0) return null;
        var loop = _innermost[block.Index];
        if (loop == 0) return null;
        var inTrue = Contains(loop, branch.IfTrue);
        if (inTrue == Contains(loop, branch.IfFalse)) return null;
        return inTrue ? branch.IfTrue : branch.IfFalse;
    }

    private bool Contains(int loop, BasicBlock block)
    {
        for (var m = _innermost[block.Index]; m != 0; m = _parent[m - 1])
            if (m == loop) return true;
        return false;
    }

    public void Return()
    {
        if (_innermost.Length == 0) return;
        Scratch<int>.Return(_innermost);
        Scratch<int>.Return(_parent);
    }
}
