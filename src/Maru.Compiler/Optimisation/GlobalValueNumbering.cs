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
    private readonly record struct Key(Opcode Op, Operand A, Operand B, string? Symbol, int Epoch, long D = 0);

    /// <summary>A load's or store's constant byte displacement (its last operand past the address pair), or 0.</summary>
    private static long DisplacementOf(Operand[] arguments, int addressOperands) =>
        arguments.Length > addressOperands ? arguments[addressOperands].Constant : 0;

    // Kept per thread between functions: the walk removes every entry it adds, so both are empty after a run.
    [ThreadStatic] private static Dictionary<Key, Operand>? _table;
    [ThreadStatic] private static KeyLog? _log;
    [ThreadStatic] private static List<(Key, Operand)>? _fields;

    /// <summary>The keys added, in order (a stack the walk pops back to a mark): cut without clearing, cleared once per run.</summary>
    private sealed class KeyLog
    {
        public Key[] Items = new Key[64];
        public int Count, HighWater;

        public void Add(Key key)
        {
            if (Count == Items.Length) Array.Resize(ref Items, 2 * Count);
            Items[Count++] = key;
            if (Count > HighWater) HighWater = Count;
        }
    }

    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function);
        var replacement = Scratch<Operand?>.Rent(function.RegisterCount);
        var table = _table ??= new Dictionary<Key, Operand>();
        var log = _log ??= new KeyLog();
        if (table.Count != 0) table.Clear();   // only after a run that threw
        log.Count = 0;
        var endEpoch = Scratch<int>.Rent(function.Blocks.Count);
        var epochs = 0;

        graph.WalkDominatorTree(
            block =>
            {
                var mark = log.Count;
                var predecessors = graph.Predecessors[block.Index];
                var epoch = block.Index != 0 && predecessors.Length == 1 && predecessors[0] == graph.ImmediateDominator[block.Index]
                    ? endEpoch[predecessors[0].Index]
                    : ++epochs;
                endEpoch[block.Index] = Number(block, replacement, table, log, epoch, ref epochs);
                return mark;
            },
            (_, mark) =>
            {
                for (var i = log.Count - 1; i >= mark; i--) table.Remove(log.Items[i]);
                log.Count = mark;
            });
        Scratch<Operand?>.Return(replacement);
        Scratch<int>.Return(endEpoch);
        // A huge function's tables are not kept (they hold no entries, only capacity).
        Array.Clear(log.Items, 0, log.HighWater);   // the keys' symbols and operands are not kept alive
        log.HighWater = 0;
        if (log.Items.Length > 1 << 13)
        {
            _table = null;
            _log = null;
        }
    }

    /// <summary>Numbers one block's instructions; returns the memory epoch at its end.</summary>
    private static int Number(BasicBlock block, Operand?[] replacement, Dictionary<Key, Operand> table, KeyLog log, int epoch, ref int epochs)
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
                            Remember(table, log, carried, known);
                            fields[kept++] = (carried, known);
                        }
                    fields.RemoveRange(kept, fields.Count - kept);
                    // What was just stored is what an identical load reads until memory changes again.
                    var stored = new Key(Opcode.LoadWord, arguments[0], arguments[1], null, epoch, displacement);
                    Remember(table, log, stored, arguments[2]);
                    NoteField(fields, stored, arguments[2]);
                }
                else
                {
                    fields.Clear();
                    if (op == Opcode.StoreGlobal) Remember(table, log, new Key(Opcode.LoadGlobal, default, default, instruction.Symbol, epoch), arguments[0]);
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
                Remember(table, log, key, destination);
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

    private static void Remember(Dictionary<Key, Operand> table, KeyLog log, Key key, Operand value)
    {
        if (table.TryAdd(key, value)) log.Add(key);
        else table[key] = value;   // a store in a later epoch never meets an older key; an equal key only refreshes
    }

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
