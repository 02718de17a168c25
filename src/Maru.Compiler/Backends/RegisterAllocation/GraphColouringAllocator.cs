using System.Numerics;
using System.Runtime.InteropServices;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>The allocator's answer: a location per virtual register, and what the frame must provide.</summary>
public sealed class Allocation
{
    private readonly BitSet? _deadDefinitions;
    private readonly int[]? _blockStarts;

    /// <param name="deadDefinitions">Bit <c>blockStarts[b] + i</c>: instruction i of block b defines a value never read (null: none is dead).</param>
    internal Allocation(Location[] locations, int slotCount, ulong usedRegisters, BitSet? deadDefinitions, int[]? blockStarts)
    {
        Locations = locations;
        SlotCount = slotCount;
        UsedRegisters = usedRegisters;
        _deadDefinitions = deadDefinitions;
        _blockStarts = blockStarts;
    }

    /// <summary>Indexed by virtual register number.</summary>
    public Location[] Locations { get; }

    /// <summary>Spill slots (one machine word each) the frame must hold.</summary>
    public int SlotCount { get; }

    /// <summary>Every register some value lives in (callee-saved ones among them must be saved).</summary>
    public ulong UsedRegisters { get; }

    /// <summary>Instruction <paramref name="instruction"/> of the block at <paramref name="block"/> defines a value that is not read afterwards.</summary>
    public bool IsDeadDefinition(int block, int instruction) => _deadDefinitions is { } dead && dead[_blockStarts![block] + instruction];

    public Location this[VReg register] => Locations[register.Index];
}

/// <summary>
/// Chaitin–Briggs graph colouring for the non-SSA IR. Requires: terminated blocks, liveness of
/// the same function. Steps:
/// <list type="number">
/// <item>Build: walk each block backwards from its live-out set; a definition interferes with
/// everything live after it (a copy not with its source); a clobbering instruction (a call, a
/// division) makes its clobbered registers interfere with every value live across it; the
/// parameters interfere with everything live at entry. Copies and the target's fixed-register
/// wishes, and the two-address operands the destination would like to share a register with,
/// become weighted move hints (weight 10^natural-loop depth). Each value's spill cost is the
/// weighted count of its reads and writes.</item>
/// <item>Coalesce, heaviest first: copies between non-interfering virtual registers always (the
/// pieces of one variable become one node, and the copies inside it leave its cost); other
/// moves with Briggs' or George's conservative test.</item>
/// <item>Simplify (degree &lt; K) with optimistic spilling (cheapest cost/degree first; a short
/// range, <see cref="ShortSpan"/>, only when nothing else is left).</item>
/// <item>Select: the colour of a hinted partner if free, else caller-saved before callee-saved,
/// callee-saved registers already in use first. A node with no free colour gets a spill slot.</item>
/// </list>
/// Spilling never rewrites the IR: the emitter reaches spilled values through the target's
/// reserved scratch registers, so one round always finishes.
/// </summary>
public static class GraphColouringAllocator
{
    private readonly record struct Move(int A, int B, long Weight, bool Copy = false);

    /// <param name="unallocated">Virtual registers that need no location (a comparison fused into its branch).</param>
    /// <param name="file">The registers this function may use, when not the target's usual file (x86-64 frees rbp where no frame pointer is needed).</param>
    public static Allocation Allocate(IrFunction function, Liveness liveness, IRegisterConstraints target, BitSet? unallocated = null, RegisterFile? file = null)
    {
        var registers = file ?? target.Registers;
        var physical = registers.Count;
        var nodeCount = physical + function.RegisterCount;
        var scratch = Scratch.ForThread(nodeCount, function.RegisterCount);
        var graph = new InterferenceGraph(physical, nodeCount);
        var cost = scratch.Cost;
        var present = scratch.Present;
        var moves = scratch.Moves;
        var allocatable = registers.AllocatableMask;
        var blocks = function.Blocks;
        var blockStarts = new int[blocks.Count + 1];
        for (var b = 0; b < blocks.Count; b++) blockStarts[b + 1] = blockStarts[b] + blocks[b].Instructions.Count;
        var dead = new BitSet(blockStarts[blocks.Count]);
        var live = scratch.Live;
        bool Skip(int v) => unallocated is not null && unallocated[v];
        // Short ranges (see ShortSpan): per value, the death count and position just after its last
        // use in the block being walked (-1: live out of it), and whether every definition so far was short.
        var deathsAtUse = scratch.DeathsAtUse;
        var lastUse = scratch.LastUse;
        var definitions = scratch.Definitions;
        var isShort = scratch.Short;
        var deaths = 0;

        // ---- build ----------------------------------------------------------------------------
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            var weight = Weight(liveness.LoopDepth[b]);
            live.Clear();
            foreach (var v in liveness.LiveOut(b))
            {
                live.Add(v);
                deathsAtUse[v] = -1;
            }
            if (Liveness.TerminatorOperand(block.Terminator!) is { IsConstant: false } value && !Skip(value.Register.Index))
            {
                var v = value.Register.Index;
                if (!live.Contains(v)) LastUse(v, ++deaths, blockStarts[b + 1]);
                live.Add(v);
                Use(v, weight);
                if (block.Terminator is Return) moves.Add(new Move(physical + v, registers.Return, weight));
            }
            var firstOfPair = false;   // the next instruction (walking back) is a division pair's first: the second took its clobbers
            for (var i = block.Instructions.Count - 1; i >= 0; i--)
            {
                var instruction = block.Instructions[i];
                // A division pair the emitter computes at its first (both results used): its fixed
                // registers are clobbered once, for the values live across the whole pair, so the
                // first's result may sit in one of them (the remainder in rdx) while the second runs.
                var skipClobbers = firstOfPair;
                var firstResult = -1;
                firstOfPair = false;
                if (!skipClobbers && DivisionPair.At(block.Instructions, i - 1)
                    && live.Contains(instruction.Destination!.Value.Index) && live.Contains(block.Instructions[i - 1].Destination!.Value.Index))
                {
                    firstResult = block.Instructions[i - 1].Destination!.Value.Index;
                    firstOfPair = true;
                }
                if (instruction.Destination is { } destination && !Skip(destination.Index))
                {
                    var d = destination.Index;
                    var copySource = instruction.Op == Opcode.Copy && !instruction.Arguments[0].IsConstant ? instruction.Arguments[0].Register.Index : -1;
                    var position = blockStarts[b] + i;
                    // Short: dead, or read a few instructions on in this block with no other value dying
                    // in between (so that spilling it frees no register where the pressure is).
                    var shortDefinition = !live.Contains(d)
                        || (deathsAtUse[d] == deaths && lastUse[d] - position <= ShortSpan);
                    isShort[physical + d] = shortDefinition && (definitions[d] == 0 || isShort[physical + d]);
                    definitions[d]++;
                    if (!live.Contains(d)) dead.Add(position);
                    live.Remove(d);
                    graph.AddEdges(physical + d, live.Members, physical, except: copySource);
                    graph.AddEdges(target.DestinationExcludes(instruction) & allocatable, physical + d);
                    Use(d, weight);
                    if (copySource >= 0) moves.Add(new Move(physical + d, physical + copySource, weight, Copy: true));
                    if (target.DestinationHint(instruction) is var hint and >= 0) moves.Add(new Move(physical + d, hint, weight));
                }
                var clobbers = skipClobbers ? 0 : target.Clobbers(instruction) & allocatable;
                if (clobbers != 0)
                    foreach (var v in live.Members)
                        if (v != firstResult) graph.AddEdges(clobbers, physical + v);
                var arguments = instruction.Arguments;
                var deathsBefore = deaths;
                for (var a = 0; a < arguments.Length; a++)
                {
                    if (arguments[a].IsConstant) continue;
                    var v = arguments[a].Register.Index;
                    // A comparison fused into its reader (a select's flags) has no location: as a
                    // live value it would interfere with everything back to its block's start.
                    if (Skip(v)) continue;
                    if (!live.Contains(v))
                    {
                        deaths++;
                        LastUse(v, -2, blockStarts[b] + i);   // the count is known once every operand is seen
                    }
                    live.Add(v);
                    Use(v, weight);
                    if (target.OperandHint(instruction, a) is var hint and >= 0) moves.Add(new Move(physical + v, hint, weight));
                    if (instruction.Destination is { } tied && !Skip(tied.Index) && target.IsTied(instruction, a))
                        moves.Add(new Move(physical + tied.Index, physical + v, weight));
                }
                if (deaths != deathsBefore)
                    foreach (var argument in arguments)
                        if (!argument.IsConstant && deathsAtUse[argument.Register.Index] == -2) deathsAtUse[argument.Register.Index] = deaths;
            }
        }
        // Parameters (and anything read before it is written) are all defined on entry, together.
        var members = liveness.LiveAtEntry;
        foreach (var p in members)
        {
            present[physical + p] = true;
            isShort[physical + p] = false;
            if (p < function.ParameterCount && p < registers.Arguments.Length)
                moves.Add(new Move(physical + p, registers.Arguments[p], 1));
            graph.AddEdges(physical + p, members, physical, except: -1);
        }

        // ---- coalesce -------------------------------------------------------------------------
        var alias = scratch.Alias;
        for (var i = 0; i < nodeCount; i++) alias[i] = i;
        int Find(int n)
        {
            while (alias[n] != n) n = alias[n] = alias[alias[n]];
            return n;
        }
        var k = registers.Allocatable.Length;
        var order = scratch.Order(moves.Count);
        HeaviestFirst(CollectionsMarshal.AsSpan(moves), order);
        var mark = scratch.Mark;
        var stamp = 0;
        foreach (var m in order)
        {
            var a = Find(moves[m].A);
            var c = Find(moves[m].B);
            if (a == c || graph.IsPhysical(a) || graph.IsPhysical(c) || graph.Interferes(a, c)) continue;
            // A copy joins the pieces of one variable (SSA destruction's phi copies): merged
            // whatever the degree, so a spill takes a whole variable, never one piece of a hot one
            // with a load and a store on every path through its copies. Spilling rewrites nothing
            // (the emitter reaches slots through its scratch registers), so merging never makes
            // colouring fail. Other moves (two-address and fixed-register wishes) stay conservative.
            if (!moves[m].Copy)
            {
                // Briggs: the merged node has fewer than K neighbours of significant degree.
                stamp++;
                var significant = 0;
                foreach (var side in (ReadOnlySpan<int>)[a, c])
                    foreach (var t in graph.Adjacent(side))
                    {
                        if (mark[t] == stamp) continue;
                        mark[t] = stamp;
                        if (graph.IsPhysical(t) || graph.Degree[t] >= k) significant++;
                    }
                // George: every neighbour of one side already interferes with the other or is of low degree.
                if (significant >= k && !George(graph, a, c, k) && !George(graph, c, a, k)) continue;
            }
            var (into, from) = a < c ? (a, c) : (c, a);
            graph.Merge(into, from);
            alias[from] = into;
            cost[into] += cost[from];
            present[into] |= present[from];
            isShort[into] &= isShort[from];
        }
        // A copy inside one node costs nothing whatever the node's fate (source and destination
        // share the register or the slot): it leaves the spill cost.
        foreach (var move in moves)
            if (move.Copy && Find(move.A) == Find(move.B)) cost[Find(move.A)] -= 2 * move.Weight;

        // ---- simplify -------------------------------------------------------------------------
        var degree = scratch.Degree;
        Array.Copy(graph.Degree, degree, nodeCount);
        var removed = scratch.Removed;
        var stack = scratch.Stack;
        var low = scratch.Low;
        var remaining = 0;
        PriorityQueue<int, (double, int)>? spillQueue = null;
        double SpillMetric(int n) => isShort[n] ? double.PositiveInfinity : (double)cost[n] / Math.Max(1, degree[n]);
        for (var n = nodeCount - 1; n >= physical; n--)
        {
            if (!present[n] || Find(n) != n) continue;
            remaining++;
            if (degree[n] < k) low.Push(n);
        }
        while (remaining > 0)
        {
            int node;
            if (low.Count > 0)
            {
                node = low.Pop();
                if (removed[node]) continue;
            }
            else
            {
                // Optimistic spill: the cheapest cost/degree, the lowest node on a tie. A min-queue
                // made at the first spill (scanning every node per spill was quadratic when many
                // spill); degrees only fall, so a metric only rises: an entry older than its
                // node's metric is pushed again with the new one, and the first current entry
                // popped is the node the scan would have chosen.
                if (spillQueue is null)
                {
                    spillQueue = new PriorityQueue<int, (double, int)>();
                    for (var n = physical; n < nodeCount; n++)
                        if (present[n] && !removed[n] && Find(n) == n) spillQueue.Enqueue(n, (SpillMetric(n), n));
                }
                while (true)
                {
                    spillQueue.TryDequeue(out node, out var entry);
                    if (removed[node]) continue;
                    var metric = SpillMetric(node);
                    if (metric == entry.Item1) break;
                    spillQueue.Enqueue(node, (metric, node));
                }
            }
            removed[node] = true;
            remaining--;
            stack.Add(node);
            foreach (var t in graph.Adjacent(node))
                if (!graph.IsPhysical(t) && !removed[t] && --degree[t] == k - 1) low.Push(t);
        }

        // ---- select ---------------------------------------------------------------------------
        var colour = scratch.Colour;
        for (var i = 0; i < nodeCount; i++) colour[i] = i < physical ? i : -1;
        // Each node's move partners, heaviest first (compressed rows: partners of n are partner[start[n]..start[n+1]]).
        var start = scratch.PartnerStart;
        foreach (var m in order)
        {
            var a = Find(moves[m].A);
            var c = Find(moves[m].B);
            if (a == c) continue;
            start[a + 1]++;
            start[c + 1]++;
        }
        for (var n = 0; n < nodeCount; n++) start[n + 1] += start[n];
        var partner = scratch.Partners(start[nodeCount]);
        var fill = scratch.PartnerFill;
        foreach (var m in order)
        {
            var a = Find(moves[m].A);
            var c = Find(moves[m].B);
            if (a == c) continue;
            partner[start[a] + fill[a]++] = c;
            partner[start[c] + fill[c]++] = a;
        }
        var slotOf = scratch.SlotOf;
        var slots = 0;
        ulong used = 0;
        for (var s = stack.Count - 1; s >= 0; s--)
        {
            var node = stack[s];
            ulong forbidden = 0;
            foreach (var t in graph.Adjacent(node))
                if (colour[t] >= 0) forbidden |= 1UL << colour[t];
            var free = allocatable & ~forbidden;
            if (free == 0)
            {
                slotOf[node] = slots++;
                continue;
            }
            var chosen = -1;
            for (var w = start[node]; w < start[node + 1]; w++) // heaviest first: moves were visited in weight order
                if (colour[partner[w]] >= 0 && (free & (1UL << colour[partner[w]])) != 0)
                {
                    chosen = colour[partner[w]];
                    break;
                }
            // Looking one step further: an uncoloured partner's own colours or fixed registers.
            if (chosen < 0)
                for (var w = start[node]; w < start[node + 1] && chosen < 0; w++)
                {
                    var further = partner[w];
                    if (colour[further] >= 0) continue;
                    for (var x = start[further]; x < start[further + 1]; x++)
                        if (colour[partner[x]] >= 0 && (free & (1UL << colour[partner[x]])) != 0)
                        {
                            chosen = colour[partner[x]];
                            break;
                        }
                }
            if (chosen < 0) chosen = Preferred(registers, free, used);
            colour[node] = chosen;
            used |= 1UL << chosen;
        }

        var locations = new Location[function.RegisterCount];
        for (var v = 0; v < function.RegisterCount; v++)
        {
            var n = physical + v;
            if (!present[n]) continue;
            var root = Find(n);
            locations[v] = colour[root] >= 0 ? Location.InRegister(colour[root]) : Location.InSlot(slotOf[root]);
        }
        return new Allocation(locations, slots, used, dead, blockStarts);

        void LastUse(int v, int deathCount, int position)
        {
            deathsAtUse[v] = deathCount;
            lastUse[v] = position;
        }

        void Use(int v, long weight)
        {
            present[physical + v] = true;
            cost[physical + v] += weight;
        }
    }

    /// <summary>
    /// The moves' numbers heaviest first, then in the order found. Weights are few distinct powers
    /// of ten (loop depths), so a stable counting sort by weight does it in two passes; with many
    /// distinct weights, a comparison sort (the same total order).
    /// </summary>
    private static void HeaviestFirst(ReadOnlySpan<Move> moves, Span<int> order)
    {
        const int MaxWeights = 16;
        Span<long> weights = stackalloc long[MaxWeights];
        Span<int> next = stackalloc int[MaxWeights + 1];
        var distinct = 0;
        foreach (var move in moves)
        {
            var seen = false;
            for (var w = 0; w < distinct && !seen; w++) seen = weights[w] == move.Weight;
            if (seen) continue;
            if (distinct == MaxWeights)
            {
                for (var i = 0; i < order.Length; i++) order[i] = i;
                order.Sort(new ByWeight(moves.ToArray()));
                return;
            }
            // Insertion in decreasing order.
            var at = distinct++;
            for (; at > 0 && weights[at - 1] < move.Weight; at--) weights[at] = weights[at - 1];
            weights[at] = move.Weight;
        }
        next.Clear();
        foreach (var move in moves) next[Rank(weights, distinct, move.Weight) + 1]++;
        for (var w = 0; w < distinct; w++) next[w + 1] += next[w];
        for (var m = 0; m < moves.Length; m++) order[next[Rank(weights, distinct, moves[m].Weight)]++] = m;

        static int Rank(Span<long> weights, int distinct, long weight)
        {
            var r = 0;
            while (r < distinct - 1 && weights[r] != weight) r++;
            return r;
        }
    }

    private readonly struct ByWeight(Move[] moves) : IComparer<int>
    {
        public int Compare(int x, int y) => moves[x].Weight != moves[y].Weight ? moves[y].Weight.CompareTo(moves[x].Weight) : x.CompareTo(y);
    }

    /// <summary>
    /// The allocator's working arrays, kept per thread and reused function after function (each
    /// cleared to the size the function needs): a warm compilation allocates them once, not per function.
    /// </summary>
    private sealed class Scratch
    {
        private const int KeepLimit = 1 << 18;

        [ThreadStatic] private static Scratch? t_current;

        public long[] Cost = [];
        public bool[] Present = [], Removed = [], Short = [];
        public int[] Alias = [], Mark = [], Degree = [], Colour = [], SlotOf = [], PartnerStart = [], PartnerFill = [];
        private int[] _order = [], _partners = [];
        public readonly List<Move> Moves = new();
        public readonly List<int> Stack = new();
        public readonly Stack<int> Low = new();
        public SparseSet Live = new(0);
        public int[] DeathsAtUse = [], LastUse = [], Definitions = [];

        public static Scratch ForThread(int nodes, int registers)
        {
            var scratch = t_current ??= new Scratch();
            scratch.Prepare(nodes, registers);
            return scratch;
        }

        private void Prepare(int nodes, int registers)
        {
            if (Cost.Length < nodes + 1 || Cost.Length > Math.Max(KeepLimit, 4 * (nodes + 1)))
            {
                var size = Math.Max(64, nodes + 1);
                Cost = new long[size];
                Present = new bool[size];
                Removed = new bool[size];
                Short = new bool[size];
                Alias = new int[size];
                Mark = new int[size];
                Degree = new int[size];
                Colour = new int[size];
                SlotOf = new int[size];
                PartnerStart = new int[size + 1];
                PartnerFill = new int[size];
            }
            else
            {
                Array.Clear(Cost, 0, nodes);
                Array.Clear(Present, 0, nodes);
                Array.Clear(Removed, 0, nodes);
                Array.Clear(Short, 0, nodes);
                Array.Clear(Mark, 0, nodes);
                Array.Clear(SlotOf, 0, nodes);
                Array.Clear(PartnerStart, 0, nodes + 2);
                Array.Clear(PartnerFill, 0, nodes);
            }
            if (Live.Capacity < registers || Live.Capacity > Math.Max(KeepLimit, 4 * registers))
            {
                Live = new SparseSet(Math.Max(64, registers));
                DeathsAtUse = new int[Live.Capacity];
                LastUse = new int[Live.Capacity];
                Definitions = new int[Live.Capacity];
            }
            else Array.Clear(Definitions, 0, registers);
            Moves.Clear();
            Stack.Clear();
            Low.Clear();
            if (Moves.Capacity > KeepLimit) Moves.Capacity = 0;
            if (Stack.Capacity > KeepLimit) Stack.Capacity = 0;
        }

        public Span<int> Order(int count)
        {
            if (_order.Length < count || _order.Length > Math.Max(KeepLimit, 4 * count)) _order = new int[Math.Max(64, count)];
            return _order.AsSpan(0, count);
        }

        public int[] Partners(int count)
        {
            if (_partners.Length < count || _partners.Length > Math.Max(KeepLimit, 4 * count)) _partners = new int[Math.Max(64, count)];
            return _partners;
        }
    }

    private static bool George(InterferenceGraph graph, int a, int b, int k)
    {
        foreach (var t in graph.Adjacent(a))
            if (!graph.IsPhysical(t) && graph.Degree[t] >= k && !graph.Interferes(t, b)) return false;
            else if (graph.IsPhysical(t) && !graph.Interferes(t, b)) return false;
        return true;
    }

    /// <summary>
    /// A value read at most this many instructions after its definition, in the same block, with no
    /// other value dying in between, is never chosen to spill while another candidate remains:
    /// spilling it frees no register where the pressure is, and costs a store and a reload right
    /// where it is needed (Chaitin's rule; a range-check's <c>c - k</c> before its compare in a loop).
    /// </summary>
    private const int ShortSpan = 4;

    private static long Weight(int loopDepth)
    {
        long weight = 1;
        for (var i = 0; i < Math.Min(loopDepth, 6); i++) weight *= 10;
        return weight;
    }

    /// <summary>Caller-saved registers cost nothing to use; callee-saved ones cost a save and a restore, once.</summary>
    private static int Preferred(RegisterFile registers, ulong free, ulong used)
    {
        foreach (var r in registers.Allocatable)
            if ((free & (1UL << r) & registers.CallerSaved) != 0) return r;
        foreach (var r in registers.Allocatable)
            if ((free & (1UL << r) & used) != 0) return r;
        foreach (var r in registers.Allocatable)
            if ((free & (1UL << r)) != 0) return r;
        throw new InvalidOperationException("no free register although the free set is not empty");
    }
}
