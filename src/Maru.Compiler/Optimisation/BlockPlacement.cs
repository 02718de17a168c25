using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Places new blocks in a function's block list in one pass: inserting each at the position of
/// its anchor (List.IndexOf + Insert) would cost the whole list per block.
/// </summary>
internal static class BlockPlacement
{
    /// <summary>Puts each new block right before its anchor (a block of the function); new blocks sharing an anchor keep their order.</summary>
    public static void InsertBefore(IrFunction function, List<(BasicBlock Anchor, BasicBlock Block)> placements)
    {
        if (placements.Count == 0) return;
        // Grouped by the anchor's position (a counting sort: no dictionary keyed by blocks, whose
        // identity hash costs more than the rest), each group in the order given.
        var blocks = function.Blocks;
        var n = blocks.Count;
        for (var i = 0; i < n; i++) blocks[i].Index = i;
        var start = Scratch<int>.Rent(n + 1);
        foreach (var (anchor, _) in CollectionsMarshal.AsSpan(placements))
        {
            if ((uint)anchor.Index >= (uint)n || blocks[anchor.Index] != anchor)
                throw new InvalidOperationException($"block placement: anchor {anchor.Id} is not a block of {function.Name}");
            start[anchor.Index + 1]++;
        }
        for (var i = 0; i < n; i++) start[i + 1] += start[i];
        var grouped = Scratch<BasicBlock>.Rent(placements.Count);
        foreach (var (anchor, block) in CollectionsMarshal.AsSpan(placements)) grouped[start[anchor.Index]++] = block;
        // start[i] is now where anchor i's group ends (and i + 1's begins).
        var placed = new BasicBlock[n + placements.Count];
        var at = 0;
        var next = 0;
        for (var i = 0; i < n; i++)
        {
            while (next < start[i]) placed[at++] = grouped[next++];
            placed[at++] = blocks[i];
        }
        Array.Clear(grouped, 0, placements.Count);
        Scratch<BasicBlock>.Return(grouped);
        Scratch<int>.Return(start);
        blocks.Clear();
        blocks.AddRange(placed);
    }
}
