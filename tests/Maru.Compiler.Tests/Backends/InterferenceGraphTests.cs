using Maru.Compiler.Backends.RegisterAllocation;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// The interference graph against its specification, a <c>HashSet&lt;int&gt;</c> of neighbours per
/// virtual node (the allocator's choices follow the order of its neighbours): random edges, one at
/// a time or a node's to many (with repeats, self edges and edges between physical registers),
/// neighbours read part way through,
/// then coalescing merges, in both representations (the bit matrix of a usual function and the
/// sets of a huge one). Degrees, neighbour order and every pair's interference must agree.
/// </summary>
[TestClass]
public sealed class InterferenceGraphTests
{
    private const int Physical = 16;

    [TestMethod]
    public void MatrixGraphsAgreeWithHashSetsEdgeForEdge()
    {
        for (var seed = 0; seed < 40; seed++) Check(seed, virtualCount: 10 + seed * 3, huge: false);
    }

    [TestMethod]
    public void HugeGraphsAgreeWithHashSetsEdgeForEdge()
    {
        for (var seed = 0; seed < 4; seed++) Check(seed, virtualCount: 60, huge: true);
    }

    private static void Check(int seed, int virtualCount, bool huge)
    {
        var random = new Random(seed);
        // A huge graph: past the matrix limit, with only the first nodes used.
        var nodes = huge ? 5000 : Physical + virtualCount;
        var used = Physical + virtualCount;
        var graph = new InterferenceGraph(Physical, nodes);
        var model = new HashSet<int>[nodes];
        var alias = Enumerable.Range(0, nodes).ToArray();   // a merged node is gone (the allocator asks only about representatives)
        for (var n = Physical; n < nodes; n++) model[n] = new HashSet<int>();
        var edges = random.Next(virtualCount, virtualCount * virtualCount / 2 + 2);
        for (var e = 0; e < edges; e++)
        {
            var a = random.Next(used);
            var b = random.Next(4) == 0 ? a : random.Next(used);
            switch (random.Next(3))
            {
                case 0:
                    graph.AddEdge(a, b);
                    AddEdge(model, a, b);
                    break;
                case 1:
                    // A definition and the values live after it (as virtual-register numbers, one excepted).
                    var members = Enumerable.Range(0, random.Next(8)).Select(_ => random.Next(virtualCount)).Distinct().ToArray();
                    var except = random.Next(2) == 0 && members.Length > 0 ? members[0] : -1;
                    graph.AddEdges(a, members, Physical, except);
                    foreach (var v in members)
                        if (v != except) AddEdge(model, a, Physical + v);
                    break;
                default:
                    // Registers a value may not share (a call's clobbers).
                    var mask = (ulong)random.NextInt64() & ((1UL << Physical) - 1) & (ulong)random.NextInt64();
                    graph.AddEdges(mask, b);
                    for (var r = 0; r < Physical; r++)
                        if ((mask & (1UL << r)) != 0) AddEdge(model, r, b);
                    break;
            }
            if (random.Next(edges) == 0) Compare(graph, model, used, alias, $"seed {seed}, after edge {e}");   // a read seals the lists early
        }
        Compare(graph, model, used, alias, $"seed {seed}, built");
        for (var m = 0; m < virtualCount; m++)
        {
            var a = Physical + random.Next(virtualCount);
            var c = Physical + random.Next(virtualCount);
            if (a == c || alias[a] != a || alias[c] != c || graph.Interferes(a, c)) continue;
            var (into, from) = a < c ? (a, c) : (c, a);
            graph.Merge(into, from);
            Merge(model, into, from);
            alias[from] = into;
            Compare(graph, model, used, alias, $"seed {seed}, merge {m}");
        }
    }

    private static bool IsPhysical(int node) => node < Physical;

    private static void AddEdge(HashSet<int>[] model, int a, int b)
    {
        if (a == b || IsPhysical(a) && IsPhysical(b) || Interferes(model, a, b)) return;
        if (!IsPhysical(a)) model[a].Add(b);
        if (!IsPhysical(b)) model[b].Add(a);
    }

    private static bool Interferes(HashSet<int>[] model, int a, int b) =>
        IsPhysical(a) ? !IsPhysical(b) && model[b].Contains(a) : model[a].Contains(b);

    private static void Merge(HashSet<int>[] model, int into, int from)
    {
        foreach (var t in model[from])
        {
            if (!IsPhysical(t)) model[t].Remove(from);
            if (Interferes(model, into, t)) continue;
            model[into].Add(t);
            if (!IsPhysical(t)) model[t].Add(into);
        }
        model[from].Clear();
    }

    private static void Compare(InterferenceGraph graph, HashSet<int>[] model, int used, int[] alias, string what)
    {
        for (var n = Physical; n < used; n++)
        {
            if (alias[n] != n) continue;
            var neighbours = new List<int>();
            foreach (var t in graph.Adjacent(n)) neighbours.Add(t);
            CollectionAssert.AreEqual(model[n].ToList(), neighbours, $"{what}: neighbours of {n}");
            Assert.AreEqual(model[n].Count, graph.Degree[n], $"{what}: degree of {n}");
            for (var t = 0; t < used; t++)
                if (alias[t] == t) Assert.AreEqual(t != n && Interferes(model, n, t), graph.Interferes(n, t), $"{what}: {n} and {t}");
        }
    }
}
