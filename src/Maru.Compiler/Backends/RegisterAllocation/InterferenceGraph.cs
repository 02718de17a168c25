using System.Numerics;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// An undirected graph over nodes 0..N-1: physical registers first (they are precoloured and keep
/// no adjacency lists), then one node per virtual register. Edge membership is a bit matrix for
/// the usual small function and a hash table of edges beyond that, so huge functions stay linear in memory.
/// <para>
/// A node's neighbours are kept in a slot list with the enumeration order of a
/// <c>HashSet&lt;int&gt;</c> (the allocator's choices depend on it, and a compilation's output must not
/// change with this representation): slots in insertion order, a removed neighbour's slot reused by
/// the next insertion, most recently freed first. All lists share one arena, and every array lives in
/// a per-thread <see cref="Storage"/> reused by the next function, so building a graph allocates
/// nothing once the thread has seen a function of that size.
/// </para>
/// </summary>
internal sealed class InterferenceGraph
{
    private const int MatrixLimit = 4096;
    private const int Free = int.MinValue; // marks a free slot (its successor on the free list is in _freeNext)

    private readonly int _count;
    private readonly ulong[]? _matrix;
    private readonly Storage _storage;
    // Per node: where its slots start in the arena, how many it has room for, how many are in use
    // (live or freed), and the most recently freed one (-1: none).
    private readonly int[] _start, _capacity, _used, _freeHead;
    private int _arenaTop;
    private int[] _arena;
    private int[] _freeNext; // parallel to the arena, for free slots

    // Edge (owner, neighbour) -> arena slot, for removal (and membership without the matrix).
    private long[] _keys;
    private int[] _values;
    private int _tableMask, _tableCount;

    public InterferenceGraph(int physicalCount, int nodeCount)
    {
        PhysicalCount = physicalCount;
        _count = nodeCount;
        _storage = Storage.ForThread();
        if (nodeCount <= MatrixLimit) _matrix = _storage.Matrix(((long)nodeCount * nodeCount + 63) >> 6);
        Degree = _storage.Ints(ref _storage.Degree, nodeCount);
        _start = _storage.Ints(ref _storage.Start, nodeCount);
        _capacity = _storage.Ints(ref _storage.Capacity, nodeCount);
        _used = _storage.Ints(ref _storage.Used, nodeCount);
        _freeHead = _storage.Ints(ref _storage.FreeHead, nodeCount);
        Array.Fill(_freeHead, -1, 0, nodeCount);
        _arena = _storage.Arena ??= new int[1024];
        _freeNext = _storage.FreeNext ??= new int[1024];
        var tableSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, nodeCount * 8));
        _keys = _storage.Keys is { } k && k.Length >= tableSize ? k : _storage.Keys = new long[tableSize];
        _values = _storage.Values is { } v && v.Length >= tableSize ? v : _storage.Values = new int[tableSize];
        Array.Fill(_keys, -1L, 0, tableSize);
        _tableMask = tableSize - 1;
    }

    public int PhysicalCount { get; }

    /// <summary>Number of neighbours, per node (meaningful for virtual-register nodes).</summary>
    public int[] Degree { get; }

    public bool IsPhysical(int node) => node < PhysicalCount;

    /// <summary>The neighbours of a virtual-register node, in the order described above.</summary>
    public Neighbours Adjacent(int node) => new(this, node);

    public bool Interferes(int a, int b)
    {
        if (_matrix is not null)
        {
            var bit = (long)a * _count + b;
            return (_matrix[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
        }
        if (IsPhysical(a)) return !IsPhysical(b) && Find(b, a) >= 0;
        return Find(a, b) >= 0;
    }

    public void AddEdge(int a, int b)
    {
        if (a == b || (IsPhysical(a) && IsPhysical(b)) || Interferes(a, b)) return;
        Mark(a, b);
        if (!IsPhysical(a))
        {
            Insert(a, b);
            Degree[a]++;
        }
        if (!IsPhysical(b))
        {
            Insert(b, a);
            Degree[b]++;
        }
    }

    /// <summary>Node <paramref name="from"/> becomes part of <paramref name="into"/>: its edges move over (coalescing).</summary>
    public void Merge(int into, int from)
    {
        foreach (var t in Adjacent(from))
        {
            if (!IsPhysical(t)) Delete(t, from);
            if (Interferes(into, t))
            {
                if (!IsPhysical(t)) Degree[t]--;
                continue;
            }
            Mark(into, t);
            Insert(into, t);
            Degree[into]++;
            if (!IsPhysical(t)) Insert(t, into);
        }
        // from's list is dropped whole (its table entries stay: from is never looked up again)
        _used[from] = 0;
        _freeHead[from] = -1;
        Degree[from] = 0;
    }

    private void Mark(int a, int b)
    {
        if (_matrix is not null) // (the edge table, updated by the callers, holds the edges otherwise)
        {
            var ab = (long)a * _count + b;
            var ba = (long)b * _count + a;
            _matrix[ab >> 6] |= 1UL << (int)(ab & 63);
            _matrix[ba >> 6] |= 1UL << (int)(ba & 63);
        }
    }

    // ---- slot lists ----------------------------------------------------------------------------

    private void Insert(int owner, int neighbour)
    {
        int slot;
        if (_freeHead[owner] >= 0)
        {
            slot = _freeHead[owner];
            _freeHead[owner] = _freeNext[slot];
        }
        else
        {
            if (_used[owner] == _capacity[owner]) Grow(owner);
            slot = _start[owner] + _used[owner]++;
        }
        _arena[slot] = neighbour;
        Put(Key(owner, neighbour), slot);
    }

    private void Delete(int owner, int neighbour)
    {
        var key = Key(owner, neighbour);
        var at = Lookup(key);
        if (at < 0 || _values[at] < 0) return;
        var slot = _values[at];
        _values[at] = -1; // a tombstone: the key stays so probe chains stay intact
        _arena[slot] = Free;
        _freeNext[slot] = _freeHead[owner];
        _freeHead[owner] = slot;
    }

    /// <summary>Moves the owner's slots to the end of the arena with twice the room (slot order kept, so the free list stays valid after rebasing).</summary>
    private void Grow(int owner)
    {
        var old = _start[owner];
        var used = _used[owner];
        var capacity = Math.Max(4, _capacity[owner] * 2);
        if (_arenaTop + capacity > _arena.Length)
        {
            var size = Math.Max(_arena.Length * 2, _arenaTop + capacity);
            Array.Resize(ref _arena, size);
            Array.Resize(ref _freeNext, size);
            _storage.Arena = _arena;
            _storage.FreeNext = _freeNext;
        }
        var start = _arenaTop;
        _arenaTop += capacity;
        Array.Copy(_arena, old, _arena, start, used);
        Array.Copy(_freeNext, old, _freeNext, start, used);
        var shift = start - old;
        for (var i = 0; i < used; i++)
        {
            if (_arena[start + i] == Free)
            {
                if (_freeNext[start + i] >= 0) _freeNext[start + i] += shift;
            }
            else
            {
                _values[Lookup(Key(owner, _arena[start + i]))] = start + i;
            }
        }
        if (_freeHead[owner] >= 0) _freeHead[owner] += shift;
        _start[owner] = start;
        _capacity[owner] = capacity;
    }

    private int Find(int owner, int neighbour)
    {
        var at = Lookup(Key(owner, neighbour));
        return at < 0 ? -1 : _values[at];
    }

    // ---- the edge table (open addressing, linear probing) ----------------------------------------

    private long Key(int owner, int neighbour) => (long)owner * _count + neighbour;

    private static int Hash(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> 32);

    private int Lookup(long key)
    {
        for (var i = Hash(key) & _tableMask; ; i = (i + 1) & _tableMask)
        {
            if (_keys[i] == key) return i;
            if (_keys[i] == -1) return -1;
        }
    }

    private void Put(long key, int slot)
    {
        if ((_tableCount + 1) * 2 > _tableMask + 1) Rehash();
        for (var i = Hash(key) & _tableMask; ; i = (i + 1) & _tableMask)
        {
            if (_keys[i] == key || _keys[i] == -1)
            {
                if (_keys[i] == -1) _tableCount++;
                _keys[i] = key;
                _values[i] = slot;
                return;
            }
        }
    }

    private void Rehash()
    {
        var keys = _keys;
        var values = _values;
        var old = _tableMask + 1; // (the pooled arrays may be longer: what lies beyond is another function's)
        var size = old * 2;
        _keys = new long[size];
        _values = new int[size];
        Array.Fill(_keys, -1L);
        _tableMask = size - 1;
        _tableCount = 0;
        for (var i = 0; i < old; i++)
        {
            if (keys[i] == -1 || values[i] < 0) continue; // tombstones are dropped
            for (var j = Hash(keys[i]) & _tableMask; ; j = (j + 1) & _tableMask)
                if (_keys[j] == -1)
                {
                    _keys[j] = keys[i];
                    _values[j] = values[i];
                    _tableCount++;
                    break;
                }
        }
        _storage.Keys = _keys;
        _storage.Values = _values;
    }

    /// <summary>The live neighbours of one node, in slot order.</summary>
    public readonly ref struct Neighbours(InterferenceGraph graph, int node)
    {
        public Enumerator GetEnumerator() => new(graph, node);

        public ref struct Enumerator(InterferenceGraph graph, int node)
        {
            private int _i = -1;

            public readonly int Current => graph._arena[graph._start[node] + _i];

            public bool MoveNext()
            {
                while (++_i < graph._used[node])
                    if (graph._arena[graph._start[node] + _i] != Free) return true;
                return false;
            }
        }
    }

    /// <summary>
    /// The arrays of one thread's graphs, reused function after function (cleared as each graph
    /// needs). A thread that once allocated a huge function keeps at most <see cref="KeepLimit"/>
    /// elements per array.
    /// </summary>
    internal sealed class Storage
    {
        private const int KeepLimit = 1 << 18;

        [ThreadStatic] private static Storage? t_current;

        public ulong[]? MatrixWords;
        public int[]? Degree, Start, Capacity, Used, FreeHead, Arena, FreeNext, Values;
        public long[]? Keys;

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
            if (Arena is { Length: > KeepLimit }) Arena = FreeNext = null;
            if (Keys is { Length: > KeepLimit }) (Keys, Values) = (null, null);
            if (MatrixWords is { Length: > KeepLimit }) MatrixWords = null;
        }
    }
}
