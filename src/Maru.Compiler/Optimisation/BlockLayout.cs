using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Orders the blocks for the backend, which emits them in list order and lets a jump to the next
/// block fall through. Greedy chains from the entry: after a block comes its jump target; after a
/// branch, the successor that stays in the block's innermost loop when the other leaves it (a
/// loop exit is taken once, staying is taken every iteration: the exit becomes the jump), else
/// the successor that followed it before (else its false successor), when not yet placed;
/// otherwise the first unplaced block of the previous order starts a new chain. So a rotated
/// loop's body is followed by its bottom test, each if's arm follows its test, and a loop whose
/// test sits in the middle runs one taken branch per iteration, not two.
/// Requires: Plain form. Guarantees: the same blocks, entry first.
/// </summary>
internal static class BlockLayout
{
    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count <= 2) return;
        var loops = LoopNest.Of(function);   // numbers blocks by their place in the list, as below
        var count = blocks.Count;
        var original = Scratch<BasicBlock>.Rent(count);
        for (var i = 0; i < count; i++)
        {
            original[i] = blocks[i];
            blocks[i].Index = i;   // the position in the previous order
        }
        var placed = Scratch<bool>.Rent(count);
        var scan = 0;
        var current = original[0];
        blocks.Clear();
        while (true)
        {
            placed[current.Index] = true;
            blocks.Add(current);
            var next = Preferred(current, placed, original, count, loops);
            if (next is null)
            {
                while (scan < count && placed[scan]) scan++;
                if (scan == count) break;
                next = original[scan];
            }
            current = next;
        }
        Array.Clear(original, 0, count);
        Scratch<BasicBlock>.Return(original);
        Scratch<bool>.Return(placed);
        loops.Return();
    }

    private static BasicBlock? Preferred(BasicBlock block, bool[] placed, BasicBlock[] original, int count, LoopNest loops)
    {
        switch (block.Terminator)
        {
            case Jump { Target: var target } when !placed[target.Index]:
                return target;
            case Branch branch:
            {
                if (loops.Staying(block, branch) is { } staying && !placed[staying.Index]) return staying;
                var after = block.Index + 1 < count ? original[block.Index + 1] : null;
                if (after is not null && (after == branch.IfTrue || after == branch.IfFalse) && !placed[after.Index]) return after;
                if (!placed[branch.IfFalse.Index]) return branch.IfFalse;
                if (!placed[branch.IfTrue.Index]) return branch.IfTrue;
                return null;
            }
            default:
                return null;
        }
    }
}
