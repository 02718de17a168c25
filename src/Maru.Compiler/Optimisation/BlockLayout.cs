using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Orders the blocks for the backend, which emits them in list order and lets a jump to the next
/// block fall through. Greedy chains from the entry: after a block comes its jump target, or the
/// successor of its branch that followed it before (else its false successor), when not yet
/// placed; otherwise the first unplaced block of the previous order starts a new chain. So a
/// rotated loop's body is followed by its bottom test, and each if's arm follows its test.
/// Requires: Plain form. Guarantees: the same blocks, entry first.
/// </summary>
internal static class BlockLayout
{
    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count <= 2) return;
        var original = blocks.ToArray();
        var position = new Dictionary<BasicBlock, int>(original.Length);
        for (var i = 0; i < original.Length; i++) position[original[i]] = i;
        var placed = new bool[original.Length];
        var order = new List<BasicBlock>(original.Length);
        var scan = 0;
        var current = original[0];
        while (true)
        {
            placed[position[current]] = true;
            order.Add(current);
            var next = Preferred(current, position, placed, original);
            if (next is null)
            {
                while (scan < original.Length && placed[scan]) scan++;
                if (scan == original.Length) break;
                next = original[scan];
            }
            current = next;
        }
        blocks.Clear();
        blocks.AddRange(order);
    }

    private static BasicBlock? Preferred(BasicBlock block, Dictionary<BasicBlock, int> position, bool[] placed, BasicBlock[] original)
    {
        bool Free(BasicBlock b) => !placed[position[b]];
        switch (block.Terminator)
        {
            case Jump { Target: var target } when Free(target):
                return target;
            case Branch branch:
            {
                var after = position[block] + 1 < original.Length ? original[position[block] + 1] : null;
                if (after is not null && (after == branch.IfTrue || after == branch.IfFalse) && Free(after)) return after;
                if (Free(branch.IfFalse)) return branch.IfFalse;
                if (Free(branch.IfTrue)) return branch.IfTrue;
                return null;
            }
            default:
                return null;
        }
    }
}
