using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// A natural loop: a back edge t -> h where h dominates t; the body is what reaches t without
/// passing h. Its header and body blocks (header included) are in reverse postorder.
/// </summary>
internal sealed record NaturalLoop(BasicBlock Header, List<BasicBlock> Blocks)
{
    /// <summary>Stamps the body's blocks into <paramref name="member"/> (by block Index) so membership is one array read.</summary>
    public void Mark(int[] member, int stamp)
    {
        foreach (var block in Blocks) member[block.Index] = stamp;
    }

    /// <summary>
    /// Stamps every register the body defines (phis included) into <paramref name="definedInLoop"/>
    /// (by register Index), first growing it to <paramref name="registerCount"/>: an earlier loop's
    /// rewriting may have added registers. Invariance is then one array read per operand.
    /// </summary>
    public void MarkDefinitions(ref int[] definedInLoop, int registerCount, int stamp)
    {
        if (definedInLoop.Length < registerCount) Array.Resize(ref definedInLoop, registerCount);
        foreach (var block in Blocks)
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis)) definedInLoop[phi.Destination.Index] = stamp;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) definedInLoop[d.Index] = stamp;
        }
    }

    /// <summary>The header's one predecessor outside the loop (the loop is marked with <paramref name="stamp"/>; LICM made it a preheader).</summary>
    public BasicBlock Preheader(FlowGraph graph, int[] member, int stamp)
    {
        foreach (var predecessor in graph.Predecessors[Header.Index])
            if (member[predecessor.Index] != stamp) return predecessor;
        throw new InvalidOperationException("a natural loop without an entry edge");
    }

    /// <summary>
    /// Every cycle has an edge to a block at or before its source in any order of the blocks: with
    /// none in the list order there is no loop, and no dominator tree to build: the loop passes
    /// ask this first (most functions have no loop). Numbers the blocks by their place in the list.
    /// </summary>
    public static bool MayExist(IrFunction function)
    {
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++) blocks[i].Index = i;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var edges = FlowGraph.EdgesOf(block);
            for (var s = edges.Count - 1; s >= 0; s--)
                if (edges[s].Index <= block.Index) return true;
        }
        return false;
    }

    /// <summary>
    /// The function's flow graph, with its dominator tree, when it has a cycle; else null, and no
    /// dominator tree is built (the loop passes' first question: most functions have no loop).
    /// The list order answers first when no edge goes back in it; else the reverse postorder does
    /// (blocks that passes appended at the end make edges back in the list, not cycles).
    /// </summary>
    public static FlowGraph? GraphWithLoops(IrFunction function)
    {
        if (!MayExist(function)) return null;
        var graph = FlowGraph.Of(function, withDominators: false);
        return graph.HasCycle() ? graph.WithDominators() : null;
    }

    /// <summary>
    /// Natural loops, one per header (back edges to one header share a loop), smallest first. Found
    /// once per build of the graph (the loop passes each ask; only edges change loops): the list is
    /// the caller's own, the loops and their block lists are shared and must not be changed.
    /// </summary>
    public static List<NaturalLoop> FindAll(FlowGraph graph) => [.. graph.Loops ??= Find(graph)];

    private static List<NaturalLoop> Find(FlowGraph graph)
    {
        var blocks = graph.Function.Blocks;
        var rpoNumber = Scratch<int>.Rent(blocks.Count);
        var order = graph.ReversePostorder;
        for (var i = 0; i < order.Length; i++) rpoNumber[order[i].Index] = i;
        var loops = new List<NaturalLoop>();
        var work = new Stack<BasicBlock>();
        var inBody = Scratch<int>.Rent(blocks.Count);   // stamps: header Index + 1
        foreach (var header in CollectionsMarshal.AsSpan(blocks))
        {
            List<BasicBlock>? body = null;
            var stamp = header.Index + 1;
            foreach (var latch in graph.Predecessors[header.Index])
            {
                if (!graph.Dominates(header, latch)) continue;
                if (body is null)
                {
                    body = [header];
                    inBody[header.Index] = stamp;
                }
                if (inBody[latch.Index] == stamp) continue;
                inBody[latch.Index] = stamp;
                body.Add(latch);
                work.Push(latch);
                while (work.Count > 0)
                    foreach (var predecessor in graph.Predecessors[work.Pop().Index])
                        if (inBody[predecessor.Index] != stamp)
                        {
                            inBody[predecessor.Index] = stamp;
                            body.Add(predecessor);
                            work.Push(predecessor);
                        }
            }
            if (body is null) continue;
            body.Sort((a, b) => rpoNumber[a.Index].CompareTo(rpoNumber[b.Index]));
            loops.Add(new NaturalLoop(header, body));
        }
        Scratch<int>.Return(rpoNumber);
        Scratch<int>.Return(inBody);
        // Stable: equal sizes keep block order (the order found), so the result is deterministic.
        loops.Sort((a, b) => a.Blocks.Count != b.Blocks.Count ? a.Blocks.Count.CompareTo(b.Blocks.Count) : a.Header.Index.CompareTo(b.Header.Index));
        return loops;
    }
}
