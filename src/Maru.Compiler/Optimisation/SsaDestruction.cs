using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Leaves SSA: each phi becomes copies at the end of its predecessors. A critical edge (from a
/// block with two successors into a block with phis) first gets a block of its own, so a copy
/// never runs on a path that does not reach the phi (the "lost copy" problem). The copies of one
/// edge happen at once (a parallel copy): they are ordered so no value is overwritten before it
/// is read, and a cycle (the "swap" problem) is broken with one temporary.
/// Requires: SSA. Guarantees: Plain form without phis.
/// </summary>
internal static class SsaDestruction
{
    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function, withDominators: false);
        var blocks = function.Blocks;   // not changed until the end: new blocks are placed last
        var pending = new List<(VReg Destination, Operand Source)>();
        var placements = new List<(BasicBlock Anchor, BasicBlock Block)>();
        var position = Scratch<int>.Rent(function.Blocks.Count);   // 1 + the position among the current block's predecessors
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (block.Phis.Count == 0) continue;
            // Each phi's inputs by predecessor position: looking each up by predecessor would cost
            // the number of predecessors per lookup (a join of thousands of edges).
            var predecessors = graph.Predecessors[block.Index];
            for (var p = 0; p < predecessors.Length; p++) position[predecessors[p].Index] = p + 1;
            var values = new Operand[block.Phis.Count][];
            for (var i = 0; i < block.Phis.Count; i++)
            {
                values[i] = new Operand[predecessors.Length];
                foreach (var input in block.Phis[i].Inputs)
                    if (input.Predecessor.Index is var at && at >= 0 && at < blocks.Count && blocks[at] == input.Predecessor && position[at] > 0)
                        values[i][position[at] - 1] = input.Value;
            }
            foreach (var predecessor in predecessors) position[predecessor.Index] = 0;
            for (var p = 0; p < predecessors.Length; p++)
            {
                var predecessor = predecessors[p];
                var from = predecessor;
                if (FlowGraph.SuccessorCount(predecessor) > 1)
                {
                    from = function.NewUnplacedBlock();
                    from.Terminator = new Jump(block);
                    predecessor.Terminator = FlowGraph.Retarget(predecessor.Terminator!, block, from);
                    placements.Add((block, from));
                }
                pending.Clear();
                for (var i = 0; i < block.Phis.Count; i++)
                {
                    var source = values[i][p];
                    var destination = block.Phis[i].Destination;
                    if (source.IsConstant || source.Register != destination) pending.Add((destination, source));
                }
                Sequentialize(function, pending, from.Instructions);
            }
            block.Phis.Clear();
        }
        Scratch<int>.Return(position);
        BlockPlacement.InsertBefore(function, placements);
    }

    /// <summary>Emits a parallel copy as ordinary copies: a copy goes first once no other pending copy still reads its destination.</summary>
    private static void Sequentialize(IrFunction function, List<(VReg Destination, Operand Source)> pending, List<Instruction> output)
    {
        var location = function.Location;
        while (pending.Count > 0)
        {
            var ready = -1;
            for (var i = 0; i < pending.Count && ready < 0; i++)
            {
                var destination = pending[i].Destination;
                var read = false;
                for (var j = 0; j < pending.Count && !read; j++)
                    read = j != i && !pending[j].Source.IsConstant && pending[j].Source.Register == destination;
                if (!read) ready = i;
            }
            if (ready >= 0)
            {
                output.Add(new Instruction(Opcode.Copy, pending[ready].Destination, [pending[ready].Source], null, location));
                pending.RemoveAt(ready);
                continue;
            }
            // Every destination is still read by another copy: a cycle. Save one destination's old
            // value in a temporary and let its readers read that instead.
            var saved = pending[0].Destination;
            var temporary = function.NewRegister();
            output.Add(new Instruction(Opcode.Copy, temporary, [saved], null, location));
            for (var j = 0; j < pending.Count; j++)
                if (!pending[j].Source.IsConstant && pending[j].Source.Register == saved)
                    pending[j] = (pending[j].Destination, temporary);
        }
    }
}
