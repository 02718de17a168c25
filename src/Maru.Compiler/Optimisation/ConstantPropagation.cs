using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Conditional constant propagation (Wegman and Zadeck's lattice: unknown, constant, varying) over
/// executable edges: a block is only considered once some edge into it may be taken, and a phi
/// only meets the inputs of edges that may be taken, so constants flow through branches that the
/// constants themselves decide. Folding uses <see cref="OpcodeFacts.Evaluate"/>, the IR's total
/// semantics. Then every register proven constant is replaced by its value, branches on constants
/// become jumps, and blocks never executed disappear.
/// Requires: SSA. Guarantees: no use of a register proven constant; no branch on a constant.
/// </summary>
internal static class ConstantPropagation
{
    private enum State : byte { Unknown, Constant, Varying }

    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function, withDominators: false);
        var blocks = function.Blocks;
        var state = Scratch<State>.Rent(function.RegisterCount);
        var value = Scratch<long>.Rent(function.RegisterCount);
        for (var p = 0; p < function.ParameterCount; p++) state[p] = State.Varying;
        var executable = Scratch<bool>.Rent(blocks.Count);
        executable[0] = true;

        // Rounds over the executable blocks in reverse postorder until nothing changes; the lattice
        // only descends, so this ends. Without a cycle one round is the fixpoint: every predecessor,
        // and every definition a block reads (SSA: it dominates the read), comes before the block in
        // reverse postorder. With cycles a round visits only the blocks something they read has
        // changed for since their last visit (the others would change nothing), in the same order, so
        // the result is the same as visiting all: N loops one after the other, each entered only once
        // the one before is found to exit, take N rounds, and visiting every block in each was
        // quadratic in the function's size.
        var order = graph.ReversePostorder;
        if (!graph.HasCycle())
        {
            var none = default(Dirty);
            foreach (var block in order) Visit(block, state, value, executable, ref none);
        }
        else
        {
            var dirty = Dirty.Start(function, order);
            while (dirty.NextRound())
            {
                for (var at = dirty.Next(-1); at >= 0; at = dirty.Next(at))
                    Visit(order[at], state, value, executable, ref dirty);
            }
            dirty.Return();
        }

        // Rewrite: constants into uses, constant definitions out, decided branches into jumps. When no
        // register was ever found constant, only a branch on a literal constant has anything to change.
        var folded = false;
        var anyConstant = false;
        for (var r = 0; r < function.RegisterCount && !anyConstant; r++) anyConstant = state[r] == State.Constant;
        Operand Replace(Operand operand) =>
            !operand.IsConstant && state[operand.Register.Index] == State.Constant ? Operand.Of(value[operand.Register.Index]) : operand;
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            // Blocks never executed are rewritten too: they go away below unless an edge into them
            // could not be decided, and then they must not read a definition that was just removed.
            if (anyConstant)
            {
                ListCompaction.RemoveWhere(block.Phis, new ConstantPhi(state));
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                {
                    var inputs = CollectionsMarshal.AsSpan(phi.Inputs);
                    for (var i = 0; i < inputs.Length; i++)
                        if (Replace(inputs[i].Value) is var replaced && !replaced.Equals(inputs[i].Value)) inputs[i] = inputs[i] with { Value = replaced };
                }
                ListCompaction.RemoveWhere(block.Instructions, new ConstantDefinition(state));
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    var arguments = instruction.Arguments;
                    for (var a = 0; a < arguments.Length; a++) arguments[a] = Replace(arguments[a]);
                }
            }
            switch (block.Terminator)
            {
                case Return ret when anyConstant:
                    if (Replace(ret.Value) is var returned && !returned.Equals(ret.Value)) block.Terminator = new Return(returned);
                    break;
                case Branch branch:
                    var condition = Replace(branch.Condition);
                    if (condition.IsConstant)
                    {
                        var (taken, dropped) = condition.Constant != 0 ? (branch.IfTrue, branch.IfFalse) : (branch.IfFalse, branch.IfTrue);
                        if (dropped != taken) foreach (var phi in CollectionsMarshal.AsSpan(dropped.Phis)) phi.RemovePredecessor(block);
                        block.Terminator = new Jump(taken);
                        folded = true;
                    }
                    else if (!condition.Equals(branch.Condition))
                    {
                        block.Terminator = branch with { Condition = condition };
                    }
                    break;
            }
        }
        Scratch<State>.Return(state);
        Scratch<long>.Return(value);
        Scratch<bool>.Return(executable);
        if (folded) FlowGraph.RemoveUnreachableBlocks(function);   // else the edges are the graph's, every block reachable
    }

    /// <summary>Evaluates one executable block's phis, instructions and outgoing edges, marking for another visit what read a change.</summary>
    private static void Visit(BasicBlock block, State[] state, long[] value, bool[] executable, ref Dirty dirty)
    {
        if (!executable[block.Index]) return;
        foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
        {
            var (s, v) = (State.Unknown, 0L);
            foreach (var input in phi.Inputs)
                if (executable[input.Predecessor.Index] && MayGo(input.Predecessor, block, state, value))
                    (s, v) = Meet(s, v, input.Value, state, value);
            if (Lower(phi.Destination, s, v, state, value)) dirty.Changed(phi.Destination);
        }
        foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
        {
            if (instruction.Destination is not { } d) continue;
            var (s, v) = Evaluate(instruction, state, value);
            if (Lower(d, s, v, state, value)) dirty.Changed(d);
        }
        var edges = FlowGraph.EdgesOf(block);
        for (var i = 0; i < edges.Count; i++)
        {
            var successor = edges[i];
            if (!executable[successor.Index] && MayGo(block, successor, state, value))
            {
                executable[successor.Index] = true;
                dirty.BecameExecutable(successor);
            }
        }
    }

    /// <summary>
    /// The blocks (by reverse-postorder position) to visit again, and who reads what: a register's
    /// readers are the blocks whose phis, instructions or branch read it, and the successors of a
    /// branch on it (their phis ask whether that edge may be taken). Inactive (default) when the
    /// graph has no cycle and one round is all.
    /// </summary>
    private struct Dirty
    {
        private int[] _position;      // block index -> position in reverse postorder, -1 unreachable
        private int[] _readerStart;   // register -> first of its readers in _readers (CSR)
        private int[] _readers;       // block indices
        private ulong[] _bits;        // positions to visit
        private int _words, _pending;

        public static Dirty Start(IrFunction function, ReadOnlySpan<BasicBlock> order)
        {
            var blocks = function.Blocks.Count;
            var registers = function.RegisterCount;
            var d = new Dirty { _position = Scratch<int>.Rent(blocks) };
            d._position.AsSpan(0, blocks).Fill(-1);
            for (var i = 0; i < order.Length; i++) d._position[order[i].Index] = i;
            d._words = (order.Length + 63) >> 6;
            d._bits = Scratch<ulong>.Rent(d._words);
            d._readerStart = Scratch<int>.Rent(registers + 1);
            var start = d._readerStart;
            foreach (var block in order) ForEachRead(block, start, null);
            var total = 0;
            for (var r = 0; r <= registers; r++) (start[r], total) = (total, total + start[r]);
            d._readers = Scratch<int>.Rent(Math.Max(total, 1));
            foreach (var block in order) ForEachRead(block, start, d._readers);
            // Filling advanced each start to the next register's: shift back.
            for (var r = registers; r > 0; r--) start[r] = start[r - 1];
            start[0] = 0;
            d.Mark(function.Blocks[0]);
            return d;
        }

        /// <summary>Counts (readers null) or fills each register's readers for one block.</summary>
        private static void ForEachRead(BasicBlock block, int[] start, int[]? readers)
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs)
                    if (!input.Value.IsConstant) Add(input.Value.Register.Index, block.Index, start, readers);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) Add(argument.Register.Index, block.Index, start, readers);
            if (block.Terminator is Branch { Condition.IsConstant: false } branch)
            {
                var c = branch.Condition.Register.Index;
                Add(c, block.Index, start, readers);
                Add(c, branch.IfTrue.Index, start, readers);
                Add(c, branch.IfFalse.Index, start, readers);
            }
        }

        private static void Add(int register, int block, int[] start, int[]? readers)
        {
            if (readers is null) start[register]++;
            else readers[start[register]++] = block;
        }

        public void Changed(VReg register)
        {
            if (_bits is null) return;
            for (var i = _readerStart[register.Index]; i < _readerStart[register.Index + 1]; i++) Mark(_readers[i]);
        }

        /// <summary>The block is visited, and its successors' phis now count its edges.</summary>
        public void BecameExecutable(BasicBlock block)
        {
            if (_bits is null) return;
            Mark(block);
            var edges = FlowGraph.EdgesOf(block);
            for (var i = 0; i < edges.Count; i++) Mark(edges[i]);
        }

        private void Mark(BasicBlock block) => Mark(block.Index);

        private void Mark(int blockIndex)
        {
            var at = _position[blockIndex];
            if (at < 0) return;
            ref var word = ref _bits[at >> 6];
            var bit = 1UL << at;
            if ((word & bit) == 0) { word |= bit; _pending++; }
        }

        /// <summary>Whether another round has anything to visit.</summary>
        public readonly bool NextRound() => _pending > 0;

        /// <summary>The next position after <paramref name="after"/> marked in this round, unmarked; -1 at the round's end.</summary>
        public int Next(int after)
        {
            var at = after + 1;
            for (var w = at >> 6; w < _words; w++)
            {
                var bits = _bits[w] & (w == at >> 6 ? ~0UL << (at & 63) : ~0UL);
                if (bits == 0) continue;
                var found = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits);
                _bits[w] &= ~(1UL << found);
                _pending--;
                return found;
            }
            return -1;
        }

        public readonly void Return()
        {
            Scratch<int>.Return(_position);
            Scratch<ulong>.Return(_bits);
            Scratch<int>.Return(_readerStart);
            Scratch<int>.Return(_readers);
        }
    }

    private readonly struct ConstantPhi(State[] state) : IDropTest<Phi>
    {
        public bool Drop(Phi phi) => state[phi.Destination.Index] == State.Constant;
    }

    /// <summary>A definition of a constant that has no other effect (its uses now read the constant).</summary>
    private readonly struct ConstantDefinition(State[] state) : IDropTest<Instruction>
    {
        public bool Drop(Instruction instruction) =>
            instruction.Destination is { } d && state[d.Index] == State.Constant && !instruction.Op.HasSideEffects();
    }

    /// <summary>May control go from <paramref name="from"/> to <paramref name="to"/>, given what is known so far?</summary>
    private static bool MayGo(BasicBlock from, BasicBlock to, State[] state, long[] value)
    {
        switch (from.Terminator)
        {
            case Jump jump:
                return jump.Target == to;
            case Branch branch:
                if (branch.IfTrue == branch.IfFalse) return branch.IfTrue == to;
                var (s, v) = Read(branch.Condition, state, value);
                return s switch
                {
                    State.Unknown => false,
                    State.Constant => (v != 0 ? branch.IfTrue : branch.IfFalse) == to,
                    _ => branch.IfTrue == to || branch.IfFalse == to,
                };
            default:
                return false;
        }
    }

    private static (State, long) Read(Operand operand, State[] state, long[] value) =>
        operand.IsConstant ? (State.Constant, operand.Constant) : (state[operand.Register.Index], value[operand.Register.Index]);

    private static (State, long) Meet(State s, long v, Operand operand, State[] state, long[] value)
    {
        var (t, w) = Read(operand, state, value);
        if (s == State.Unknown) return (t, w);
        if (t == State.Unknown) return (s, v);
        return s == State.Constant && t == State.Constant && v == w ? (s, v) : (State.Varying, 0);
    }

    /// <summary>Moves a register down the lattice; true when that changed anything.</summary>
    private static bool Lower(VReg register, State s, long v, State[] state, long[] value)
    {
        ref var current = ref state[register.Index];
        if (s <= current) return false;      // never climb back up
        current = s;
        value[register.Index] = v;
        return true;
    }

    private static (State, long) Evaluate(Instruction instruction, State[] state, long[] value)
    {
        var op = instruction.Op;
        var arguments = instruction.Arguments;
        if (op == Opcode.Copy) return Read(arguments[0], state, value);
        if (op is Opcode.Negate or Opcode.LogicalNot)
        {
            var (s, v) = Read(arguments[0], state, value);
            return s != State.Constant ? (s, 0) : (s, op == Opcode.Negate ? unchecked(-v) : v == 0 ? 1 : 0);
        }
        if (op == Opcode.Select)
        {
            var (sc, c) = Read(arguments[0], state, value);
            if (sc == State.Constant) return Read(arguments[c != 0 ? 1 : 2], state, value);
            var (st, t) = Read(arguments[1], state, value);
            var (sf, f) = Read(arguments[2], state, value);
            if (st == State.Constant && sf == State.Constant && t == f) return (State.Constant, t);
            if (sc == State.Unknown || st == State.Unknown || sf == State.Unknown) return (State.Unknown, 0);
            return (State.Varying, 0);
        }
        if (!op.IsBinary()) return (State.Varying, 0);
        var (sa, a) = Read(arguments[0], state, value);
        var (sb, b) = Read(arguments[1], state, value);
        if (sa == State.Constant && sb == State.Constant) return (State.Constant, op.Evaluate(a, b));
        // x * 0 and x & 0 are 0 whatever x is.
        if (op is Opcode.Multiply or Opcode.And && ((sa == State.Constant && a == 0) || (sb == State.Constant && b == 0)))
            return (State.Constant, 0);
        if (sa == State.Unknown || sb == State.Unknown) return (State.Unknown, 0);
        return (State.Varying, 0);
    }
}
