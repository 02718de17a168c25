using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Places new blocks in a function's block list in one pass: inserting each at the position of
/// its anchor (List.IndexOf + Insert) would cost the whole list per block.
/// </summary>
internal static class BlockPlacement
{
    /// <summary>Puts each new block right before its anchor; new blocks sharing an anchor keep their order.</summary>
    public static void InsertBefore(IrFunction function, List<(BasicBlock Anchor, BasicBlock Block)> placements)
    {
        if (placements.Count == 0) return;
        var before = new Dictionary<BasicBlock, List<BasicBlock>>();
        foreach (var (anchor, block) in placements)
        {
            if (!before.TryGetValue(anchor, out var list)) before.Add(anchor, list = new List<BasicBlock>(1));
            list.Add(block);
        }
        var blocks = function.Blocks;
        var placed = new List<BasicBlock>(blocks.Count + placements.Count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (before.TryGetValue(block, out var list)) placed.AddRange(list);
            placed.Add(block);
        }
        blocks.Clear();
        blocks.AddRange(placed);
    }
}
