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

        // 2. Where each variable is assigned and read before any assignment in the same block.
        FindDefinitionsAndUses(blocks, variableOf, variables.Count, out var definingBlocks, out var exposedUses);

        // 3. Phis at the iterated dominance frontiers where the variable is live. Liveness is
        // computed per variable by walking back from its exposed uses, so the work is the size of
        // its live range, never blocks x variables.
        var frontiers = graph.DominanceFrontiers();
        var phiVariable = new List<int>[blocks.Count];
        for (var i = 0; i < blocks.Count; i++) phiVariable[i] = new List<int>();
        var hasPhi = new int[blocks.Count];      // stamps: variable + 1
        var queued = new int[blocks.Count];
        var defines = new int[blocks.Count];
        var liveIn = new int[blocks.Count];
        var work = new Stack<BasicBlock>();
        for (var v = 0; v < variables.Count; v++)
        {
            var stamp = v + 1;
            foreach (var block in definingBlocks[v]) defines[block.Index] = stamp;
            if (variables[v].Index < function.ParameterCount) defines[0] = stamp;
            MarkLiveIn(graph, exposedUses[v], stamp, defines, liveIn, work);

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
                    if (hasPhi[frontier.Index] == stamp || liveIn[frontier.Index] != stamp) continue;
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
        graph.WalkDominatorTree(
            block =>
            {
                var mark = saved.Count;
                Rename(block, function, variableOf, phiVariable, current, saved);
                return mark;
            },
            (_, mark) =>
            {
                while (saved.Count > mark)
                {
                    var (variable, value) = saved.Pop();
                    current[variable] = value;
                }
            });
    }

    private static void Rename(BasicBlock block, IrFunction function, int[] variableOf, List<int>[] phiVariable,
        Operand?[] current, Stack<(int, Operand?)> saved)
    {
        for (var i = 0; i < block.Phis.Count; i++)
            Define(phiVariable[block.Index][i], block.Phis[i].Destination, current, saved);
        Rewrite.Uses(block, operand => Use(operand, variableOf, current), destination =>
        {
            if (variableOf[destination.Index] < 0) return destination;
            var renamed = function.NewRegister();
            Define(variableOf[destination.Index], renamed, current, saved);
            return renamed;
        });
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

    /// <summary>Per variable: the blocks assigning it, and the blocks reading it before assigning it (each once).</summary>
    private static void FindDefinitionsAndUses(List<BasicBlock> blocks, int[] variableOf, int count,
        out List<BasicBlock>[] definingBlocks, out List<BasicBlock>[] exposedUses)
    {
        definingBlocks = new List<BasicBlock>[count];
        exposedUses = new List<BasicBlock>[count];
        for (var v = 0; v < count; v++)
        {
            definingBlocks[v] = new List<BasicBlock>(2);
            exposedUses[v] = new List<BasicBlock>(2);
        }
        var defined = new int[count];   // stamps: block index + 1
        var used = new int[count];
        var uses = exposedUses;
        foreach (var block in blocks)
        {
            var stamp = block.Index + 1;
            void Read(Operand operand)
            {
                if (operand.IsConstant) return;
                var v = variableOf[operand.Register.Index];
                if (v < 0 || defined[v] == stamp || used[v] == stamp) return;
                used[v] = stamp;
                uses[v].Add(block);
            }
            foreach (var instruction in block.Instructions)
            {
                foreach (var argument in instruction.Arguments) Read(argument);
                if (instruction.Destination is not { } d || variableOf[d.Index] is var v && v < 0) continue;
                if (defined[v] != stamp) definingBlocks[v].Add(block);
                defined[v] = stamp;
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } operand) Read(operand);
        }
    }

    /// <summary>
    /// Marks (with <paramref name="stamp"/>) the blocks where the variable is live on entry: the
    /// blocks reading it first, and every block reaching one of those without assigning it.
    /// </summary>
    private static void MarkLiveIn(FlowGraph graph, List<BasicBlock> exposedUses, int stamp, int[] defines, int[] liveIn, Stack<BasicBlock> work)
    {
        foreach (var block in exposedUses)
            if (liveIn[block.Index] != stamp)
            {
                liveIn[block.Index] = stamp;
                work.Push(block);
            }
        while (work.Count > 0)
            foreach (var predecessor in graph.Predecessors[work.Pop().Index])
                if (liveIn[predecessor.Index] != stamp && defines[predecessor.Index] != stamp)
                {
                    liveIn[predecessor.Index] = stamp;
                    work.Push(predecessor);
                }
    }
}
