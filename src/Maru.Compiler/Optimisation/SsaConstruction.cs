using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// SSA construction (Cytron et al., pruned): the registers assigned more than once (lowered
/// variables; a parameter counts as assigned on entry) get phis at the iterated dominance frontier
/// of their assignments, wherever they are live, and are then renamed along the dominator tree so
/// every definition gets a fresh register. Registers assigned once keep their names.
/// Requires: Plain form, entry without predecessors. Guarantees: strict SSA.
/// </summary>
internal static class SsaConstruction
{
    public static void Run(IrFunction function)
    {
        var graph = new FlowGraph(function);
        var blocks = function.Blocks;

        // 1. Which registers are variables (assigned more than once)?
        var registerCount = function.RegisterCount;
        var definitions = new int[registerCount];
        for (var p = 0; p < function.ParameterCount; p++) definitions[p] = 1;
        foreach (var block in blocks)
            foreach (var instruction in block.Instructions)
                if (instruction.Destination is { } d) definitions[d.Index]++;
        var variableOf = new int[registerCount];
        var variables = new List<VReg>();
        for (var r = 0; r < registerCount; r++)
        {
            variableOf[r] = definitions[r] > 1 ? variables.Count : -1;
            if (definitions[r] > 1) variables.Add(new VReg(r));
        }
        if (variables.Count == 0) return;

        // 2. Liveness of the variables only, for pruning; and where each is assigned.
        var words = (variables.Count + 63) >> 6;
        var liveIn = Liveness(graph, variableOf, words, out var definingBlocks, variables.Count);

        // 3. Phis at the iterated dominance frontiers where the variable is live.
        var frontiers = graph.DominanceFrontiers();
        var phiVariable = new List<int>[blocks.Count];
        for (var i = 0; i < blocks.Count; i++) phiVariable[i] = new List<int>();
        var hasPhi = new int[blocks.Count];      // stamp: variable + 1
        var queued = new int[blocks.Count];
        var work = new Stack<BasicBlock>();
        for (var v = 0; v < variables.Count; v++)
        {
            var stamp = v + 1;
            if (variables[v].Index < function.ParameterCount)
            {
                queued[0] = stamp;
                work.Push(blocks[0]);
            }
            foreach (var block in definingBlocks[v])
                if (queued[block.Index] != stamp)
                {
                    queued[block.Index] = stamp;
                    work.Push(block);
                }
            while (work.Count > 0)
            {
                foreach (var frontier in frontiers[work.Pop().Index])
                {
                    if (hasPhi[frontier.Index] == stamp || (liveIn[frontier.Index * words + (v >> 6)] & (1UL << v)) == 0) continue;
                    hasPhi[frontier.Index] = stamp;
                    phiVariable[frontier.Index].Add(v);
                    frontier.Phis.Add(new Phi(function.NewRegister()));
                    if (queued[frontier.Index] != stamp)
                    {
                        queued[frontier.Index] = stamp;
                        work.Push(frontier);
                    }
                }
            }
        }

        // 4. Renaming along the dominator tree.
        var current = new Operand?[variables.Count];
        for (var v = 0; v < variables.Count; v++)
            if (variables[v].Index < function.ParameterCount) current[v] = variables[v]; // the value on entry
        var saved = new Stack<(int Variable, Operand? Value)>();
        var stack = new Stack<(BasicBlock Block, int Child, int SavedMark)>();
        stack.Push((blocks[0], -1, 0));
        while (stack.Count > 0)
        {
            var (block, child, mark) = stack.Pop();
            if (child < 0)
            {
                mark = saved.Count;
                Rename(block, function, variableOf, phiVariable, current, saved);
                child = 0;
            }
            var children = graph.DominatorChildren[block.Index];
            if (child < children.Count)
            {
                stack.Push((block, child + 1, mark));
                stack.Push((children[child], -1, 0));
                continue;
            }
            while (saved.Count > mark)
            {
                var (variable, value) = saved.Pop();
                current[variable] = value;
            }
        }
    }

    private static void Rename(BasicBlock block, IrFunction function, int[] variableOf, List<int>[] phiVariable,
        Operand?[] current, Stack<(int, Operand?)> saved)
    {
        for (var i = 0; i < block.Phis.Count; i++)
            Define(phiVariable[block.Index][i], block.Phis[i].Destination, current, saved);
        foreach (var instruction in block.Instructions)
        {
            var arguments = instruction.Arguments;
            for (var a = 0; a < arguments.Length; a++)
                arguments[a] = Use(arguments[a], variableOf, current);
            if (instruction.Destination is { } d && variableOf[d.Index] >= 0)
            {
                var renamed = function.NewRegister();
                instruction.Destination = renamed;
                Define(variableOf[d.Index], renamed, current, saved);
            }
        }
        block.Terminator = block.Terminator switch
        {
            Branch branch => branch with { Condition = Use(branch.Condition, variableOf, current) },
            Return ret => ret with { Value = Use(ret.Value, variableOf, current) },
            var other => other,
        };
        for (var s = 0; s < FlowGraph.SuccessorCount(block); s++)
        {
            var successor = FlowGraph.Successor(block, s);
            var variables = phiVariable[successor.Index];
            for (var i = 0; i < successor.Phis.Count; i++)
                successor.Phis[i].Inputs.Add(new PhiInput(block, current[variables[i]] ?? Operand.Of(0)));
        }
    }

    private static void Define(int variable, VReg register, Operand?[] current, Stack<(int, Operand?)> saved)
    {
        saved.Push((variable, current[variable]));
        current[variable] = register;
    }

    // A read with no reaching assignment cannot happen in verified input; 0 keeps it total anyway.
    private static Operand Use(Operand operand, int[] variableOf, Operand?[] current) =>
        operand.IsConstant || variableOf[operand.Register.Index] < 0
            ? operand
            : current[variableOf[operand.Register.Index]] ?? Operand.Of(0);

    /// <summary>
    /// Live-in sets of the variables (backward dataflow; block i's set is words [i*words, (i+1)*words)),
    /// and the blocks assigning each variable.
    /// </summary>
    private static ulong[] Liveness(FlowGraph graph, int[] variableOf, int words, out List<BasicBlock>[] definingBlocks, int count)
    {
        var blocks = graph.Function.Blocks;
        var upwardUse = new ulong[blocks.Count * words];
        var defined = new ulong[blocks.Count * words];
        definingBlocks = new List<BasicBlock>[count];
        for (var v = 0; v < count; v++) definingBlocks[v] = new List<BasicBlock>(2);
        foreach (var block in blocks)
        {
            var at = block.Index * words;
            void Read(Operand operand)
            {
                if (operand.IsConstant) return;
                var v = variableOf[operand.Register.Index];
                if (v >= 0 && (defined[at + (v >> 6)] & (1UL << v)) == 0) upwardUse[at + (v >> 6)] |= 1UL << v;
            }
            foreach (var instruction in block.Instructions)
            {
                foreach (var argument in instruction.Arguments) Read(argument);
                if (instruction.Destination is not { } d || variableOf[d.Index] is var v && v < 0) continue;
                if ((defined[at + (v >> 6)] & (1UL << v)) == 0) definingBlocks[v].Add(block);
                defined[at + (v >> 6)] |= 1UL << v;
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } used) Read(used);
        }

        // in = use | (out & ~def), out = union of the successors' in; postorder converges fastest.
        var liveIn = (ulong[])upwardUse.Clone();
        var changed = true;
        while (changed)
        {
            changed = false;
            for (var i = graph.ReversePostorder.Length - 1; i >= 0; i--)
            {
                var block = graph.ReversePostorder[i];
                var at = block.Index * words;
                for (var w = 0; w < words; w++)
                {
                    var live = 0UL;
                    for (var s = 0; s < FlowGraph.SuccessorCount(block); s++)
                        live |= liveIn[FlowGraph.Successor(block, s).Index * words + w];
                    var value = upwardUse[at + w] | (live & ~defined[at + w]);
                    if (value != liveIn[at + w])
                    {
                        liveIn[at + w] = value;
                        changed = true;
                    }
                }
            }
        }
        return liveIn;
    }
}
