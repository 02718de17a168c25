using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Common-subexpression elimination over the dominator tree (scoped value numbering): walking the
/// tree in preorder with a table scoped to the current path, a pure computation (arithmetic,
/// comparisons, address constants) whose operation and operands were already computed in a
/// dominating position becomes a copy of that earlier value. Commutative operands are ordered and
/// a mirrored comparison reads as its mirror, so (* a b) meets (* b a) and (&gt; a b) meets (&lt; b a).
/// Loads take part only where memory cannot have changed in between: each load is numbered with a
/// memory epoch that every store and call ends, and a block starts a new epoch unless its only
/// predecessor is its dominator parent (then it continues the parent's last one). A store makes
/// the stored value known to an identical load in the same epoch (StoreWord, StoreGlobal). A word
/// store at a constant index leaves known what the block read or stored at other constant indexes
/// of the same base register (a record's other fields: disjoint words), up to 16 of them.
/// Requires: SSA. Guarantees: same values; the copies it leaves are for copy propagation.
/// </summary>
internal static class GlobalValueNumbering
{
    /// <summary>A value's key; D is a load's constant byte displacement (a body inlined after AddressFolding carries them).</summary>
    private readonly record struct Key(Opcode Op, Operand A, Operand B, string? Symbol, int Epoch, long D = 0)
    {
        // Written out: the generated members go through EqualityComparer<T>.Default field by field,
        // and the table's inserts, lookups and removals were most of the pass.
        public bool Equals(Key other) =>
            Op == other.Op && Epoch == other.Epoch && D == other.D && A.Equals(other.A) && B.Equals(other.B) && string.Equals(Symbol, other.Symbol);

        public override int GetHashCode()
        {
            var hash = (int)Op * 0x2d2d + Epoch * 0x3f1 + Of(A) * 0x1f + Of(B) + (int)D * 0x65;
            return Symbol is null ? hash : hash ^ Symbol.GetHashCode();
        }

        private static int Of(Operand operand) =>
            operand.IsConstant ? (int)operand.Constant ^ (int)(operand.Constant >> 32) : operand.Register.Index ^ 0x5bd1e995;
    }

    /// <summary>A load's or store's constant byte displacement (its last operand past the address pair), or 0.</summary>
    private static long DisplacementOf(Operand[] arguments, int addressOperands) =>
        arguments.Length > addressOperands ? arguments[addressOperands].Constant : 0;

    // Kept per thread between functions: the walk removes every entry it adds, so it is empty after a run.
    [ThreadStatic] private static ScopedTable? _table;
    [ThreadStatic] private static List<(Key, Operand)>? _fields;

    /// <summary>
    /// The value table: a hash table whose entries leave in the reverse order they came (the walk's
    /// scopes), chained through a stack of entries, so leaving a scope pops entries, each then the
    /// head of its chain (no search, no hashing). A dictionary plus a log of its keys cost more than
    /// the rest of the pass.
    /// </summary>
    private sealed class ScopedTable
    {
        private struct Entry
        {
            public Key Key;
            public Operand Value;
            public int Hash;
            public int Next;   // the entry below in the same chain, + 1 (0 ends the chain)
        }

        private int[] _heads = new int[64];   // by hash bits: the chain's newest entry + 1
        private Entry[] _entries = new Entry[64];
        private int _shift = 32 - 6;
        private int _highWater;

        /// <summary>Entries in the table: a mark to pop back to.</summary>
        public int Count { get; private set; }

        public bool IsLarge => _entries.Length > 1 << 13;

        private int Bucket(int hash) => (int)((uint)hash * 0x9E3779B1u >> _shift);

        public bool TryGetValue(in Key key, out Operand value)
        {
            var hash = key.GetHashCode();
            for (var e = _heads[Bucket(hash)]; e != 0; e = _entries[e - 1].Next)
            {
                ref var entry = ref _entries[e - 1];
                if (entry.Hash == hash && entry.Key.Equals(key))
                {
                    value = entry.Value;
                    return true;
                }
            }
            value = default;
            return false;
        }

        /// <summary>Adds the key, or gives a key already there the new value (it leaves with the scope that added it).</summary>
        public void Remember(in Key key, Operand value)
        {
            var hash = key.GetHashCode();
            var bucket = Bucket(hash);
            for (var e = _heads[bucket]; e != 0; e = _entries[e - 1].Next)
            {
                ref var entry = ref _entries[e - 1];
                if (entry.Hash == hash && entry.Key.Equals(key))
                {
                    entry.Value = value;
                    return;
                }
            }
            if (Count == _entries.Length)
            {
                Array.Resize(ref _entries, 2 * Count);
                _heads = new int[2 * _heads.Length];
                _shift--;
                for (var i = 0; i < Count; i++)   // oldest first: each chain stays newest first
                {
                    var b = Bucket(_entries[i].Hash);
                    _entries[i].Next = _heads[b];
                    _heads[b] = i + 1;
                }
                bucket = Bucket(hash);
            }
            _entries[Count] = new Entry { Key = key, Value = value, Hash = hash, Next = _heads[bucket] };
            _heads[bucket] = ++Count;
            if (Count > _highWater) _highWater = Count;
        }

        /// <summary>Removes the entries added since <paramref name="mark"/>, newest first.</summary>
        public void PopTo(int mark)
        {
            for (var e = Count - 1; e >= mark; e--) _heads[Bucket(_entries[e].Hash)] = _entries[e].Next;
            Count = mark;
        }

        /// <summary>Empties the table (after a run that threw) and drops the keys' symbols: nothing stays alive through it.</summary>
        public void Reset()
        {
            if (Count != 0) Array.Clear(_heads);
            Count = 0;
            Array.Clear(_entries, 0, _highWater);
            _highWater = 0;
        }
    }

    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function);
        var replacement = Scratch<Operand?>.Rent(function.RegisterCount);
        var table = _table ??= new ScopedTable();
        if (table.Count != 0) table.Reset();   // only after a run that threw
        var endEpoch = Scratch<int>.Rent(function.Blocks.Count);
        var epochs = 0;

        graph.WalkDominatorTree(
            block =>
            {
                var mark = table.Count;
                var predecessors = graph.Predecessors[block.Index];
                var epoch = block.Index != 0 && predecessors.Length == 1 && predecessors[0] == graph.ImmediateDominator[block.Index]
                    ? endEpoch[predecessors[0].Index]
                    : ++epochs;
                endEpoch[block.Index] = Number(block, replacement, table, epoch, ref epochs);
                return mark;
            },
            (_, mark) => table.PopTo(mark));
        Scratch<Operand?>.Return(replacement);
        Scratch<int>.Return(endEpoch);
        table.Reset();   // the keys' symbols and operands are not kept alive
        if (table.IsLarge) _table = null;   // a huge function's table is not kept (it holds no entries, only capacity)
    }

    /// <summary>Numbers one block's instructions; returns the memory epoch at its end.</summary>
    private static int Number(BasicBlock block, Operand?[] replacement, ScopedTable table, int epoch, ref int epochs)
    {
        // The words at constant indexes known in the current epoch (loaded or stored), for the next store.
        var fields = _fields ??= new List<(Key, Operand)>();
        fields.Clear();
        var instructions = block.Instructions;
        for (var i = 0; i < instructions.Count; i++)
        {
            var instruction = instructions[i];
            var arguments = instruction.Arguments;
            for (var a = 0; a < arguments.Length; a++)
                if (!arguments[a].IsConstant && replacement[arguments[a].Register.Index] is { } earlier) arguments[a] = earlier;

            var op = instruction.Op;
            if (op is Opcode.StoreWord or Opcode.StoreGlobal || op.IsCall() || op == Opcode.StoreByte)
            {
                epoch = ++epochs;
                if (op == Opcode.StoreWord)
                {
                    // The words this epoch knew at other constant indexes of the same base are
                    // not this store's word: they stay known in the new epoch (a record's fields).
                    var kept = 0;
                    var displacement = DisplacementOf(arguments, 3);
                    if (arguments[1].IsConstant)
                        for (var f = 0; f < fields.Count; f++)
                        {
                            var (field, known) = fields[f];
                            if (!field.A.Equals(arguments[0]) || !Disjoint(field.B.Constant, field.D, arguments[1].Constant, displacement)) continue;
                            var carried = field with { Epoch = epoch };
                            Remember(table, carried, known);
                            fields[kept++] = (carried, known);
                        }
                    fields.RemoveRange(kept, fields.Count - kept);
                    // What was just stored is what an identical load reads until memory changes again.
                    var stored = new Key(Opcode.LoadWord, arguments[0], arguments[1], null, epoch, displacement);
                    Remember(table, stored, arguments[2]);
                    NoteField(fields, stored, arguments[2]);
                }
                else
                {
                    fields.Clear();
                    if (op == Opcode.StoreGlobal) Remember(table, new Key(Opcode.LoadGlobal, default, default, instruction.Symbol, epoch), arguments[0]);
                }
                continue;
            }
            if (instruction.Destination is not { } destination || KeyOf(instruction, epoch) is not { } key) continue;
            if (table.TryGetValue(key, out var value))
            {
                // A new instruction rather than a rewrite: a load of a global carries a symbol a copy must not have.
                instructions[i] = new Instruction(Opcode.Copy, destination, [value], null, instruction.Location);
                replacement[destination.Index] = value;
            }
            else
            {
                Remember(table, key, destination);
                if (op == Opcode.LoadWord) NoteField(fields, key, destination);
            }
        }
        fields.Clear();
        return epoch;
    }

    /// <summary>At most this many known words at constant indexes are carried over a store (linear time).</summary>
    private const int MaxFields = 16;

    private static void NoteField(List<(Key, Operand)> fields, Key key, Operand value)
    {
        if (key.B.IsConstant && fields.Count < MaxFields) fields.Add((key, value));
    }

    /// <summary>
    /// Whether the words at a + 8j + d and a + 8k + e never overlap: their distance 8(j - k) + d - e,
    /// taken modulo 2^64 as addresses wrap, is at least 8 either way.
    /// </summary>
    private static bool Disjoint(long j, long d, long k, long e) => unchecked((ulong)(8 * (j - k) + (d - e) + 7)) > 14;

    // A store in a later epoch never meets an older key; an equal key only refreshes.
    private static void Remember(ScopedTable table, Key key, Operand value) => table.Remember(key, value);

    /// <summary>The value number's key, or null for what is never shared (copies, allocas, calls, stores).</summary>
    private static Key? KeyOf(Instruction instruction, int epoch)
    {
        var op = instruction.Op;
        var args = instruction.Arguments;
        switch (op)
        {
            case Opcode.Negate or Opcode.LogicalNot:
                return new Key(op, args[0], default, null, 0);
            case Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress:
                return new Key(op, default, default, instruction.Symbol, 0);
            case Opcode.LoadWord or Opcode.LoadByte:
                return new Key(op, args[0], args[1], null, epoch, DisplacementOf(args, 2));
            case Opcode.LoadGlobal:
                return new Key(op, default, default, instruction.Symbol, epoch);
            case Opcode.Greater or Opcode.GreaterOrEqual:
                return new Key(op == Opcode.Greater ? Opcode.Less : Opcode.LessOrEqual, args[1], args[0], null, 0);
            case Opcode.Add or Opcode.Multiply or Opcode.MultiplyHigh or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Equal or Opcode.NotEqual:
                return Ordered(args[0], args[1]) ? new Key(op, args[0], args[1], null, 0) : new Key(op, args[1], args[0], null, 0);
            case var _ when op.IsBinary():
                return new Key(op, args[0], args[1], null, 0);
            default:
                return null;
        }
    }

    /// <summary>A fixed order of two operands (constants last, registers by number).</summary>
    private static bool Ordered(Operand a, Operand b) =>
        b.IsConstant ? !a.IsConstant || a.Constant <= b.Constant : !a.IsConstant && a.Register.Index <= b.Register.Index;
}
