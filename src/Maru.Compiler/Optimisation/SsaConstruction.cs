using System.Runtime.InteropServices;
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
        var graph = FlowGraph.Of(function, withDominators: false);   // drops unreachable blocks, even when nothing is renamed
        var blocks = function.Blocks;

        // 1. Which registers are variables (assigned more than once)?
        var registerCount = function.RegisterCount;
        var definitions = Scratch<int>.Rent(registerCount);
        for (var p = 0; p < function.ParameterCount; p++) definitions[p] = 1;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) definitions[d.Index]++;
        var variableOf = Scratch<int>.Rent(registerCount);
        var variableCount = 0;
        for (var r = 0; r < registerCount; r++)
            variableOf[r] = definitions[r] > 1 ? variableCount++ : -1;
        if (variableCount == 0)
        {
            Scratch<int>.Return(definitions);
            Scratch<int>.Return(variableOf);
            return;
        }
        var registerOf = definitions;   // reused: the register of each variable
        for (var r = 0; r < registerCount; r++)
            if (variableOf[r] >= 0) registerOf[variableOf[r]] = r;
        graph = graph.WithDominators();   // no edge changed since

        // 2. Where each variable is assigned and read before any assignment in the same block.
        var definingBlocks = new BlockLists(variableCount);
        var exposedUses = new BlockLists(variableCount);
        FindDefinitionsAndUses(blocks, variableOf, variableCount, ref definingBlocks, ref exposedUses);

        // 3. Phis at the iterated dominance frontiers where the variable is live. Liveness is
        // computed per variable by walking back from its exposed uses, so the work is the size of
        // its live range, never blocks x variables. Phi destinations are numbered from
        // registerCount on, so the variable of a phi is phiVariable[destination - registerCount].
        var phiVariable = new Growable(16);
        var hasPhi = Scratch<int>.Rent(blocks.Count);      // stamps: variable + 1
        var queued = Scratch<int>.Rent(blocks.Count);
        var defines = Scratch<int>.Rent(blocks.Count);
        var liveIn = Scratch<int>.Rent(blocks.Count);
        var work = Scratch<int>.Rent(blocks.Count);
        for (var v = 0; v < variableCount; v++)
        {
            var stamp = v + 1;
            for (var at = definingBlocks.First(v); at >= 0; at = definingBlocks.Next(at)) defines[definingBlocks.Item(at)] = stamp;
            var isParameter = registerOf[v] < function.ParameterCount;
            if (isParameter) defines[0] = stamp;
            MarkLiveIn(graph, ref exposedUses, v, stamp, defines, liveIn, work);

            var top = 0;
            if (isParameter)
            {
                queued[0] = stamp;
                work[top++] = 0;
            }
            for (var at = definingBlocks.First(v); at >= 0; at = definingBlocks.Next(at))
            {
                var b = definingBlocks.Item(at);
                if (queued[b] == stamp) continue;
                queued[b] = stamp;
                work[top++] = b;
            }
            while (top > 0)
            {
                foreach (var frontier in graph.DominanceFrontier(blocks[work[--top]]))
                {
                    if (hasPhi[frontier.Index] == stamp || liveIn[frontier.Index] != stamp) continue;
                    hasPhi[frontier.Index] = stamp;
                    var phi = new Phi(function.NewRegister());
                    phiVariable.Set(phi.Destination.Index - registerCount, v);
                    frontier.Phis.Add(phi);
                    if (queued[frontier.Index] != stamp)
                    {
                        queued[frontier.Index] = stamp;
                        work[top++] = frontier.Index;
                    }
                }
            }
        }
        Scratch<int>.Return(hasPhi);
        Scratch<int>.Return(queued);
        Scratch<int>.Return(defines);
        Scratch<int>.Return(liveIn);
        Scratch<int>.Return(work);
        definingBlocks.Return();
        exposedUses.Return();

        // 4. Renaming along the dominator tree.
        var current = Scratch<Operand?>.Rent(variableCount);
        for (var v = 0; v < variableCount; v++)
            if (registerOf[v] < function.ParameterCount) current[v] = new VReg(registerOf[v]); // the value on entry
        var renamer = new Renamer(function, variableOf, registerCount, phiVariable, current);
        graph.WalkDominatorTree(
            block =>
            {
                var mark = renamer.Saved.Count;
                Rename(block, ref renamer);
                return mark;
            },
            (_, mark) =>
            {
                while (renamer.Saved.Count > mark)
                {
                    var (variable, value) = renamer.Saved.Pop();
                    renamer.Current[variable] = value;
                }
            });
        Scratch<int>.Return(definitions);
        Scratch<int>.Return(variableOf);
        Scratch<Operand?>.Return(current);
        phiVariable.Return();
    }

    /// <summary>What renaming keeps while it walks: the current value of each variable, and what to restore on leaving a subtree.</summary>
    private struct Renamer(IrFunction function, int[] variableOf, int firstPhi, Growable phiVariable, Operand?[] current) : Rewrite.IOperandRewriter
    {
        public readonly Operand?[] Current = current;
        public readonly Stack<(int Variable, Operand? Value)> Saved = new();
        public readonly int VariableOfPhi(Phi phi) => phiVariable.Get(phi.Destination.Index - firstPhi);

        // A read with no reaching assignment cannot happen in verified input; 0 keeps it total anyway.
        public readonly Operand Use(Operand operand) =>
            operand.IsConstant || operand.Register.Index >= firstPhi || variableOf[operand.Register.Index] < 0
                ? operand
                : Current[variableOf[operand.Register.Index]] ?? Operand.Of(0);

        public readonly VReg Definition(VReg destination)
        {
            if (destination.Index >= firstPhi || variableOf[destination.Index] < 0) return destination;
            var renamed = function.NewRegister();
            Define(variableOf[destination.Index], renamed);
            return renamed;
        }

        public readonly void Define(int variable, VReg register)
        {
            Saved.Push((variable, Current[variable]));
            Current[variable] = register;
        }
    }

    private static void Rename(BasicBlock block, ref Renamer renamer)
    {
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            renamer.Define(renamer.VariableOfPhi(phi), phi.Destination);
        Rewrite.Uses(block, ref renamer, definitions: true);
        for (var s = 0; s < FlowGraph.SuccessorCount(block); s++)
        {
            var successor = FlowGraph.Successor(block, s);
            foreach (var phi in CollectionsMarshal.AsSpan(successor.Phis))
                phi.Inputs.Add(new PhiInput(block, renamer.Current[renamer.VariableOfPhi(phi)] ?? Operand.Of(0)));
        }
    }

    /// <summary>Per variable: the blocks assigning it, and the blocks reading it before assigning it (each once).</summary>
    private static void FindDefinitionsAndUses(List<BasicBlock> blocks, int[] variableOf, int count,
        ref BlockLists definingBlocks, ref BlockLists exposedUses)
    {
        var defined = Scratch<int>.Rent(count);   // stamps: block index + 1
        var used = Scratch<int>.Rent(count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var stamp = block.Index + 1;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                foreach (var argument in instruction.Arguments) Read(argument, block.Index, stamp, variableOf, defined, used, ref exposedUses);
                if (instruction.Destination is not { } d || variableOf[d.Index] is var v && v < 0) continue;
                if (defined[v] != stamp) definingBlocks.Add(v, block.Index);
                defined[v] = stamp;
            }
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { } operand) Read(operand, block.Index, stamp, variableOf, defined, used, ref exposedUses);
        }
        Scratch<int>.Return(defined);
        Scratch<int>.Return(used);
    }

    private static void Read(Operand operand, int block, int stamp, int[] variableOf, int[] defined, int[] used, ref BlockLists uses)
    {
        if (operand.IsConstant) return;
        var v = variableOf[operand.Register.Index];
        if (v < 0 || defined[v] == stamp || used[v] == stamp) return;
        used[v] = stamp;
        uses.Add(v, block);
    }

    /// <summary>
    /// Marks (with <paramref name="stamp"/>) the blocks where the variable is live on entry: the
    /// blocks reading it first, and every block reaching one of those without assigning it.
    /// </summary>
    private static void MarkLiveIn(FlowGraph graph, ref BlockLists exposedUses, int variable, int stamp, int[] defines, int[] liveIn, int[] work)
    {
        var top = 0;
        for (var at = exposedUses.First(variable); at >= 0; at = exposedUses.Next(at))
        {
            var b = exposedUses.Item(at);
            if (liveIn[b] == stamp) continue;
            liveIn[b] = stamp;
            work[top++] = b;
        }
        var predecessors = graph.Predecessors;
        while (top > 0)
            foreach (var predecessor in predecessors[work[--top]])
                if (liveIn[predecessor.Index] != stamp && defines[predecessor.Index] != stamp)
                {
                    liveIn[predecessor.Index] = stamp;
                    work[top++] = predecessor.Index;
                }
    }

    /// <summary>A list of block numbers per variable, in the order added, as linked entries in rented arrays.</summary>
    private struct BlockLists
    {
        private readonly int[] _first, _last;
        private Growable _next, _item;
        private int _used;

        public BlockLists(int lists)
        {
            _first = Scratch<int>.Rent(lists);
            _last = Scratch<int>.Rent(lists);
            Array.Fill(_first, -1, 0, lists);
            _next = new Growable(lists);
            _item = new Growable(lists);
        }

        public readonly int First(int list) => _first[list];
        public readonly int Next(int at) => _next.Get(at);
        public readonly int Item(int at) => _item.Get(at);

        public void Add(int list, int item)
        {
            var at = _used++;
            _item.Set(at, item);
            _next.Set(at, -1);
            if (_first[list] < 0) _first[list] = at;
            else _next.Set(_last[list], at);
            _last[list] = at;
        }

        public readonly void Return()
        {
            Scratch<int>.Return(_first);
            Scratch<int>.Return(_last);
            _next.Return();
            _item.Return();
        }
    }

    /// <summary>A rented int array that grows as it is written.</summary>
    private struct Growable(int capacity)
    {
        private int[] _items = Scratch<int>.Rent(capacity);

        public readonly int Get(int index) => _items[index];

        public void Set(int index, int value)
        {
            if (index >= _items.Length)
            {
                var bigger = Scratch<int>.Rent(Math.Max(index + 1, 2 * _items.Length));
                Array.Copy(_items, bigger, _items.Length);
                Scratch<int>.Return(_items);
                _items = bigger;
            }
            _items[index] = value;
        }

        public readonly void Return() => Scratch<int>.Return(_items);
    }
}
