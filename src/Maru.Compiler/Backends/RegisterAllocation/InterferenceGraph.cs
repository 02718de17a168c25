
namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// An undirected graph over nodes 0..N-1: physical registers first (they are precoloured and keep
/// no adjacency lists), then one node per virtual register.
/// <para>
/// A node's neighbours are enumerated in the order of a <c>HashSet&lt;int&gt;</c> (the allocator's
/// choices depend on it, and a compilation's output must not change with the representation):
/// insertion order, a removed neighbour's place reused by the next insertion, most recently freed
/// first. The usual small function (up to <see cref="MatrixLimit"/> nodes) keeps edge membership in
/// a bit matrix and each node's neighbours in a slot list of one shared arena; an edge between two
/// virtual registers is two slots that know each other (<c>_twin</c>), so coalescing unlinks a node
/// from its neighbour's list without searching it. While the graph is being built only the
/// matrix, the degrees and the list of edges in the order added are kept; the slot lists are made
/// from that list in one pass when the graph is first read (a list per node grown edge by edge
/// cost more than the edges themselves). The arrays live in a per-thread
/// <see cref="Storage"/> reused by the next function, so building such a graph allocates nothing
/// once the thread has seen a function of that size. A huge function (where a matrix would be
/// quadratic) keeps a <c>HashSet&lt;int&gt;</c> per node, so it stays linear in memory.
/// </para>
/// </summary>
internal sealed class InterferenceGraph
{
    private const int MatrixLimit = 4096;

    private readonly int _count;
    private readonly ulong[]? _matrix;
    private readonly HashSet<int>[]? _sets; // the huge-function representation (null with the matrix)
    private readonly Storage _storage;
    // Per node: where its slots start in the arena, how many it has room for, how many are in use
    // (live or freed), and the most recently freed one (-1: none).
    private readonly int[] _start = [], _capacity = [], _used = [], _freeHead = [];
    private int _arenaTop;
    // A live slot holds the neighbour (>= 0); a free one holds -2 - (the next free slot, or -1).
    private int[] _arena = [];
    private int[] _twin = []; // parallel to the arena: the slot of the same edge in the neighbour's list (-1: a physical neighbour)
    // Edges added before the slot lists exist (matrix only): the pairs in the order added, made
    // into the lists all at once by Seal when the graph is first read or merged.
    private int[] _edgeA = [], _edgeB = [];
    private int[] _setBuffer = [];   // a huge graph's neighbours of one node, while they are enumerated
    private int _edgeCount;
    private bool _sealed;

    public InterferenceGraph(int physicalCount, int nodeCount)
    {
        PhysicalCount = physicalCount;
        _count = nodeCount;
        _storage = Storage.ForThread();
        Degree = _storage.Ints(ref _storage.Degree, nodeCount);
        if (nodeCount > MatrixLimit)
        {
            _sets = new HashSet<int>[nodeCount];
            for (var i = physicalCount; i < nodeCount; i++) _sets[i] = new HashSet<int>();
            return;
        }
        _matrix = _storage.Matrix(((long)nodeCount * nodeCount + 63) >> 6);
        _start = _storage.Ints(ref _storage.Start, nodeCount);
        _capacity = _storage.Ints(ref _storage.Capacity, nodeCount);
        _used = _storage.Ints(ref _storage.Used, nodeCount);
        _freeHead = _storage.Ints(ref _storage.FreeHead, nodeCount);
        Array.Fill(_freeHead, -1, 0, nodeCount);
        _arena = _storage.Arena ??= new int[1024];
        _twin = _storage.Twin ??= new int[1024];
        _edgeA = _storage.EdgeA ??= new int[1024];
        _edgeB = _storage.EdgeB ??= new int[1024];
    }

    public int PhysicalCount { get; }

    /// <summary>Number of neighbours, per node (meaningful for virtual-register nodes).</summary>
    public int[] Degree { get; }

    public bool IsPhysical(int node) => node < PhysicalCount;

    /// <summary>The neighbours of a virtual-register node, in the order described above.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public Neighbours Adjacent(int node)
    {
        if (!_sealed) Seal();
        return new(_sets is null ? _arena.AsSpan(_start[node], _used[node]) : SetNeighbours(node));
    }

    /// <summary>A huge graph's neighbours of one node, copied into one buffer (so one enumeration at a time).</summary>
    private ReadOnlySpan<int> SetNeighbours(int node)
    {
        var set = _sets![node];
        if (_setBuffer.Length < set.Count) _setBuffer = new int[Math.Max(set.Count, 2 * _setBuffer.Length)];
        set.CopyTo(_setBuffer);
        return _setBuffer.AsSpan(0, set.Count);
    }

    public bool Interferes(int a, int b)
    {
        if (_matrix is not null)
        {
            var bit = (long)a * _count + b;
            return (_matrix[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
        }
        if (IsPhysical(a)) return !IsPhysical(b) && _sets![b].Contains(a);
        return _sets![a].Contains(b);
    }

    public void AddEdge(int a, int b)
    {
        if (a == b || (IsPhysical(a) && IsPhysical(b))) return;
        if (_matrix is not null && !_sealed)
        {
            Record(a, b);
            return;
        }
        if (Interferes(a, b)) return;
        Mark(a, b);
        int atA = -1, atB = -1;
        if (!IsPhysical(a))
        {
            atA = Insert(a, b);
            Degree[a]++;
        }
        if (!IsPhysical(b))
        {
            atB = Insert(b, a);
            Degree[b]++;
        }
        Link(atA, atB);
    }

    /// <summary>
    /// <see cref="AddEdge"/> of <paramref name="node"/> and <paramref name="offset"/> + each member
    /// but <paramref name="offset"/> + <paramref name="except"/>, in order (a definition and the
    /// values live after it).
    /// </summary>
    public void AddEdges(int node, ReadOnlySpan<int> members, int offset, int except)
    {
        if (_matrix is null || _sealed)
        {
            foreach (var v in members)
                if (v != except) AddEdge(node, offset + v);
            return;
        }
        foreach (var v in members)
            if (v != except && offset + v != node && !(IsPhysical(node) && IsPhysical(offset + v))) Record(node, offset + v);
    }

    /// <summary><see cref="AddEdge"/> of each register of the mask (lowest first) and <paramref name="node"/>.</summary>
    public void AddEdges(ulong registers, int node)
    {
        if (_matrix is not null && !_sealed)
        {
            if (!IsPhysical(node)) RecordPhysical(registers, node);
            return;
        }
        for (; registers != 0; registers &= registers - 1) AddEdge(System.Numerics.BitOperations.TrailingZeroCount(registers), node);
    }

    /// <summary>
    /// While building (matrix): what <see cref="Record"/> of each register of the mask (lowest first)
    /// and the virtual <paramref name="node"/> does. The registers already its neighbours are one
    /// window of its matrix row (the physical registers are nodes 0..PhysicalCount-1), so the new
    /// ones are known at once, and their row bits set at once.
    /// </summary>
    private void RecordPhysical(ulong registers, int node)
    {
        var matrix = _matrix!;
        var row = (long)node * _count;
        var word = (int)(row >> 6);
        var shift = (int)(row & 63);
        var present = matrix[word] >> shift;
        if (shift != 0 && word + 1 < matrix.Length) present |= matrix[word + 1] << (64 - shift);
        registers &= ~present;
        if (registers == 0) return;
        matrix[word] |= registers << shift;
        if (shift != 0 && registers >> (64 - shift) != 0) matrix[word + 1] |= registers >> (64 - shift);
        var added = System.Numerics.BitOperations.PopCount(registers);
        Degree[node] += added;
        if (_edgeCount + added > _edgeA.Length)
        {
            Array.Resize(ref _edgeA, Math.Max(_edgeCount * 2, _edgeCount + added));
            Array.Resize(ref _edgeB, _edgeA.Length);
            _storage.EdgeA = _edgeA;
            _storage.EdgeB = _edgeB;
        }
        for (; registers != 0; registers &= registers - 1)
        {
            var r = System.Numerics.BitOperations.TrailingZeroCount(registers);
            var column = (long)r * _count + node;
            matrix[column >> 6] |= 1UL << (int)(column & 63);
            _edgeA[_edgeCount] = r;
            _edgeB[_edgeCount++] = node;
        }
    }

    /// <summary>While building (matrix): a new edge between a and b (not both physical, not equal) goes into the matrix, the degrees and the edge list.</summary>
    private void Record(int a, int b)
    {
        var matrix = _matrix!;
        var ab = (long)a * _count + b;
        ref var word = ref matrix[ab >> 6];
        var bit = 1UL << (int)(ab & 63);
        if ((word & bit) != 0) return;
        word |= bit;
        var ba = (long)b * _count + a;
        matrix[ba >> 6] |= 1UL << (int)(ba & 63);
        var degree = Degree;
        if (!IsPhysical(a)) degree[a]++;
        if (!IsPhysical(b)) degree[b]++;
        if (_edgeCount == _edgeA.Length)
        {
            Array.Resize(ref _edgeA, _edgeCount * 2);
            Array.Resize(ref _edgeB, _edgeCount * 2);
            _storage.EdgeA = _edgeA;
            _storage.EdgeB = _edgeB;
        }
        _edgeA[_edgeCount] = a;
        _edgeB[_edgeCount++] = b;
    }

    /// <summary>
    /// Makes the slot lists of the edges added so far: each node's neighbours in the order its
    /// edges were added (what inserting them one at a time gave), each list with room for half as
    /// many again (a merge that needs more grows it as before).
    /// </summary>
    private void Seal()
    {
        _sealed = true;
        if (_matrix is null) return;
        var top = 0;
        for (var n = PhysicalCount; n < _count; n++)
        {
            _start[n] = top;
            _capacity[n] = Degree[n] + (Degree[n] >> 1) + 2;   // room for some of what merging brings (growing copies the list)
            top += _capacity[n];
        }
        if (top > _arena.Length)
        {
            _arena = _storage.Arena = new int[Math.Max(top, _arena.Length * 2)];
            _twin = _storage.Twin = new int[_arena.Length];
        }
        _arenaTop = top;
        var used = _used;
        for (var e = 0; e < _edgeCount; e++)
        {
            int a = _edgeA[e], b = _edgeB[e], atA = -1, atB = -1;
            if (!IsPhysical(a))
            {
                atA = _start[a] + used[a]++;
                _arena[atA] = b;
            }
            if (!IsPhysical(b))
            {
                atB = _start[b] + used[b]++;
                _arena[atB] = a;
            }
            Link(atA, atB);
        }
    }

    /// <summary>Node <paramref name="from"/> becomes part of <paramref name="into"/>: its edges move over (coalescing).</summary>
    public void Merge(int into, int from)
    {
        if (!_sealed) Seal();
        if (_sets is not null)
        {
            MergeSets(into, from);
            return;
        }
        for (var i = 0; i < _used[from]; i++)
        {
            var slot = _start[from] + i;
            var t = _arena[slot];
            if (t < 0) continue;
            if (!IsPhysical(t)) Delete(t, _twin[slot]);
            if (Interferes(into, t))
            {
                if (!IsPhysical(t)) Degree[t]--;
                continue;
            }
            Mark(into, t);
            var atInto = Insert(into, t);
            Degree[into]++;
            Link(atInto, IsPhysical(t) ? -1 : Insert(t, into));
        }
        _used[from] = 0;
        _freeHead[from] = -1;
        Degree[from] = 0;
    }

    private void MergeSets(int into, int from)
    {
        var sets = _sets!;
        foreach (var t in sets[from])
        {
            if (!IsPhysical(t)) sets[t].Remove(from);
            if (Interferes(into, t))
            {
                if (!IsPhysical(t)) Degree[t]--;
                continue;
            }
            sets[into].Add(t);
            Degree[into]++;
            if (!IsPhysical(t)) sets[t].Add(into);
        }
        sets[from].Clear();
        Degree[from] = 0;
    }

    private void Mark(int a, int b)
    {
        if (_matrix is not null) // (the sets, updated by the callers, are the edges otherwise)
        {
            var ab = (long)a * _count + b;
            var ba = (long)b * _count + a;
            _matrix[ab >> 6] |= 1UL << (int)(ab & 63);
            _matrix[ba >> 6] |= 1UL << (int)(ba & 63);
        }
    }

    // ---- slot lists ----------------------------------------------------------------------------

    private void Link(int a, int b)
    {
        if (a >= 0) _twin[a] = b;
        if (b >= 0) _twin[b] = a;
    }

    /// <returns>The slot now holding <paramref name="neighbour"/> in <paramref name="owner"/>'s list (-1 with sets).</returns>
    private int Insert(int owner, int neighbour)
    {
        if (_sets is not null)
        {
            _sets[owner].Add(neighbour);
            return -1;
        }
        int slot;
        if (_freeHead[owner] >= 0)
        {
            slot = _freeHead[owner];
            _freeHead[owner] = -2 - _arena[slot];
        }
        else
        {
            if (_used[owner] == _capacity[owner]) Grow(owner);
            slot = _start[owner] + _used[owner]++;
        }
        _arena[slot] = neighbour;
        return slot;
    }

    private void Delete(int owner, int slot)
    {
        _arena[slot] = -2 - _freeHead[owner];
        _freeHead[owner] = slot;
    }

    /// <summary>Moves the owner's slots to the end of the arena with twice the room (slot order kept; free list and twins follow).</summary>
    private void Grow(int owner)
    {
        var old = _start[owner];
        var used = _used[owner];
        var capacity = Math.Max(4, _capacity[owner] * 2);
        if (_arenaTop + capacity > _arena.Length)
        {
            var size = Math.Max(_arena.Length * 2, _arenaTop + capacity);
            Array.Resize(ref _arena, size);
            Array.Resize(ref _twin, size);
            _storage.Arena = _arena;
            _storage.Twin = _twin;
        }
        var start = _arenaTop;
        _arenaTop += capacity;
        Array.Copy(_arena, old, _arena, start, used);
        Array.Copy(_twin, old, _twin, start, used);
        var shift = start - old;
        for (var i = start; i < start + used; i++)
        {
            if (_arena[i] < 0)
            {
                if (_arena[i] <= -2) _arena[i] -= shift; // -2 - next becomes -2 - (next + shift); -1 ends the list
            }
            else if (_twin[i] >= 0)
            {
                _twin[_twin[i]] = i;
            }
        }
        if (_freeHead[owner] >= 0) _freeHead[owner] += shift;
        _start[owner] = start;
        _capacity[owner] = capacity;
    }

    /// <summary>
    /// The live neighbours of one node, in the order described above: a slice of the arena whose
    /// free slots (negative) are skipped. A huge graph's set is first copied into one buffer of
    /// the graph, so only one of its enumerations may be under way at a time (the allocator never
    /// nests them).
    /// </summary>
    public readonly ref struct Neighbours(ReadOnlySpan<int> slots)
    {
        private readonly ReadOnlySpan<int> _slots = slots;

        public Enumerator GetEnumerator() => new(_slots);

        public ref struct Enumerator(ReadOnlySpan<int> slots)
        {
            private readonly ReadOnlySpan<int> _slots = slots;
            private int _i = -1;

            public readonly int Current => _slots[_i];

            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            public bool MoveNext()
            {
                while (++_i < _slots.Length)
                    if (_slots[_i] >= 0) return true;
                return false;
            }
        }
    }

    /// <summary>
    /// The arrays of one thread's graphs, reused function after function (cleared as each graph
    /// needs). A thread that once allocated a huge graph drops it at the next one.
    /// </summary>
    internal sealed class Storage
    {
        private const int KeepLimit = 1 << 18;

        [ThreadStatic] private static Storage? t_current;

        public ulong[]? MatrixWords;
        public int[]? Degree, Start, Capacity, Used, FreeHead, Arena, Twin, EdgeA, EdgeB;

        public static Storage ForThread()
        {
            var storage = t_current ??= new Storage();
            storage.Trim();
            return storage;
        }

        public ulong[] Matrix(long words)
        {
            if (MatrixWords is null || MatrixWords.Length < words) MatrixWords = new ulong[Math.Max(words, 64)];
            else Array.Clear(MatrixWords, 0, (int)words);
            return MatrixWords;
        }

        public int[] Ints(ref int[]? array, int length)
        {
            if (array is null || array.Length < length) array = new int[Math.Max(length, 64)];
            else Array.Clear(array, 0, length);
            return array;
        }

        private void Trim()
        {
            if (Arena is { Length: > KeepLimit }) Arena = Twin = null;
            if (EdgeA is { Length: > KeepLimit }) EdgeA = EdgeB = null;
            if (MatrixWords is { Length: > KeepLimit }) MatrixWords = null;
            if (Degree is { Length: > KeepLimit }) Degree = null;
        }
    }
}
