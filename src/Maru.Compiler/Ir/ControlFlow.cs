namespace Maru.Compiler.Ir;

/// <summary>Control-flow graph utilities shared by passes and backends.</summary>
public static class ControlFlow
{
    /// <summary>Drops blocks no path from the entry reaches (code after a return, for instance).</summary>
    public static void RemoveUnreachableBlocks(IrFunction function)
    {
        var reachable = new HashSet<BasicBlock>();
        var work = new Stack<BasicBlock>();
        work.Push(function.Blocks[0]);
        while (work.Count > 0)
        {
            var block = work.Pop();
            if (!reachable.Add(block)) continue;
            foreach (var successor in block.Successors) work.Push(successor);
        }
        function.Blocks.RemoveAll(block => !reachable.Contains(block));
    }
}
