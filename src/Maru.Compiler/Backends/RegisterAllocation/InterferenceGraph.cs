namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// An undirected graph over nodes 0..N-1: physical registers first (they are precoloured and keep
/// no adjacency sets), then one node per virtual register. Edge membership is a bit matrix for
/// the usual small function and the adjacency sets beyond that, so huge functions stay linear in memory.
/// </summary>
internal sealed class InterferenceGraph
{
    private const int MatrixLimit = 4096;

    private readonly int _count;
    private readonly ulong[]? _matrix;

    public InterferenceGraph(int physicalCount, int nodeCount)
    {
        PhysicalCount = physicalCount;
        _count = nodeCount;
        if (nodeCount <= MatrixLimit) _matrix = new ulong[((long)nodeCount * nodeCount + 63) >> 6];
        Adjacent = new HashSet<int>[nodeCount];
        Degree = new int[nodeCount];
        for (var i = physicalCount; i < nodeCount; i++) Adjacent[i] = new HashSet<int>();
    }

    public int PhysicalCount { get; }

    /// <summary>
    /// Neighbours of virtual-register nodes (null for physical registers). Sets, so coalescing
    /// can unlink a merged node in constant time; enumeration order is a pure function of the
    /// operations performed, so the allocation stays deterministic.
    /// </summary>
    public HashSet<int>[] Adjacent { get; }

    public int[] Degree { get; }

    public bool IsPhysical(int node) => node < PhysicalCount;

    public bool Interferes(int a, int b)
    {
        if (_matrix is not null)
        {
            var bit = (long)a * _count + b;
            return (_matrix[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
        }
        if (IsPhysical(a)) return !IsPhysical(b) && Adjacent[b].Contains(a);
        return Adjacent[a].Contains(b);
    }

    public void AddEdge(int a, int b)
    {
        if (a == b || (IsPhysical(a) && IsPhysical(b)) || Interferes(a, b)) return;
        Mark(a, b);
        if (!IsPhysical(a))
        {
            Adjacent[a].Add(b);
            Degree[a]++;
        }
        if (!IsPhysical(b))
        {
            Adjacent[b].Add(a);
            Degree[b]++;
        }
    }

    /// <summary>Node <paramref name="from"/> becomes part of <paramref name="into"/>: its edges move over (coalescing).</summary>
    public void Merge(int into, int from)
    {
        foreach (var t in Adjacent[from])
        {
            if (!IsPhysical(t)) Adjacent[t].Remove(from);
            if (Interferes(into, t))
            {
                if (!IsPhysical(t)) Degree[t]--;
                continue;
            }
            Mark(into, t);
            Adjacent[into].Add(t);
            Degree[into]++;
            if (!IsPhysical(t)) Adjacent[t].Add(into);
        }
        Adjacent[from].Clear();
        Degree[from] = 0;
    }

    private void Mark(int a, int b)
    {
        if (_matrix is not null) // (the adjacency sets, updated by the callers, are the edges otherwise)
        {
            var ab = (long)a * _count + b;
            var ba = (long)b * _count + a;
            _matrix[ab >> 6] |= 1UL << (int)(ab & 63);
            _matrix[ba >> 6] |= 1UL << (int)(ba & 63);
        }
    }
}
