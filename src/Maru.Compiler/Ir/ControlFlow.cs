namespace Maru.Compiler.Ir;

/// <summary>Control-flow graph utilities shared by passes and backends.</summary>
public static class ControlFlow
{
    /// <summary>Drops blocks no path from the entry reaches (code after a return, for instance).</summary>
    public static void RemoveUnreachableBlocks(IrFunction function)
    {
        // Marks by position (BasicBlock.Index is scratch numbering) in rented arrays: passes call
        // this for every function, and a set plus a stack each time added up.
        var blocks = function.Blocks;
        var count = blocks.Count;
        for (var i = 0; i < count; i++) blocks[i].Index = i;
        var reachable = Scratch<bool>.Rent(count);
        var work = Scratch<BasicBlock>.Rent(count);
        var top = 0;
        var found = 1;
        reachable[0] = true;
        work[top++] = blocks[0];
        while (top > 0)
        {
            var block = work[--top];
            switch (block.Terminator)
            {
                case Jump jump:
                    Reach(jump.Target);
                    break;
                case Branch branch:
                    Reach(branch.IfTrue);
                    Reach(branch.IfFalse);
                    break;
            }
        }
        if (found < count)
        {
            var kept = 0;
            for (var i = 0; i < count; i++)
                if (reachable[i]) blocks[kept++] = blocks[i];
            blocks.RemoveRange(kept, count - kept);
        }
        Array.Clear(work, 0, count);
        Scratch<BasicBlock>.Return(work);
        Scratch<bool>.Return(reachable);

        void Reach(BasicBlock successor)
        {
            // A target outside the function's list (never expected) counts as unreachable, as a set lookup would.
            var at = successor.Index;
            if (at < 0 || at >= count || !ReferenceEquals(blocks[at], successor) || reachable[at]) return;
            reachable[at] = true;
            found++;
            work[top++] = successor;
        }
    }
}
