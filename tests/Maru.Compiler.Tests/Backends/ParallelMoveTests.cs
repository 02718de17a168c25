using Maru.Compiler.Backends.RegisterAllocation;

namespace Maru.Compiler.Tests.Backends;

/// <summary>Sequencing parallel copies: every permutation and fan-out of up to six registers, checked by simulation.</summary>
[TestClass]
public sealed class ParallelMoveTests
{
    private const int Scratch = 15;

    private static void Check(int[] destinations, int[] sources)
    {
        var registers = new int[16];
        for (var r = 0; r < registers.Length; r++) registers[r] = 100 + r;
        var expected = (int[])registers.Clone();
        for (var i = 0; i < destinations.Length; i++) expected[destinations[i]] = registers[sources[i]];
        var moves = 0;
        ParallelMove.Sequence((int[])destinations.Clone(), (int[])sources.Clone(), Scratch, (d, s) =>
        {
            registers[d] = registers[s];
            moves++;
        });
        for (var r = 0; r < Scratch; r++)
            Assert.AreEqual(expected[r], registers[r], $"r{r} after {string.Join(", ", destinations.Select((d, i) => $"r{d}=r{sources[i]}"))}");
        var needed = destinations.Where((d, i) => d != sources[i]).Count();
        Assert.IsLessThanOrEqualTo(needed + destinations.Length / 2, moves, "one extra move per cycle at most");
    }

    [TestMethod]
    public void EveryPermutationOfSixRegisters()
    {
        var registers = new[] { 0, 1, 2, 3, 4, 5 };
        foreach (var permutation in Permutations(registers))
            Check(registers, permutation);
    }

    [TestMethod]
    public void FanOutAndChainsAndSelfMoves()
    {
        Check([1, 2, 3], [0, 0, 0]);
        Check([1, 2, 3], [0, 1, 2]);
        Check([0, 1], [1, 0]);
        Check([0, 1, 2], [0, 2, 1]);
        Check([2, 3, 0, 1], [0, 1, 2, 3]);
        Check([], []);
        var random = new Random(1234);
        for (var round = 0; round < 2000; round++)
        {
            var count = random.Next(1, 8);
            var destinations = Enumerable.Range(0, 10).OrderBy(_ => random.Next()).Take(count).ToArray();
            var sources = destinations.Select(_ => random.Next(0, 10)).ToArray();
            Check(destinations, sources);
        }
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }
        for (var i = 0; i < items.Length; i++)
            foreach (var rest in Permutations([.. items[..i], .. items[(i + 1)..]]))
                yield return [items[i], .. rest];
    }
}
