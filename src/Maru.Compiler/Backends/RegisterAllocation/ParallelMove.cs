namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// Sequences a parallel register-to-register copy (every source read before any destination is
/// written) into single moves: a move is safe once no pending move still reads its destination;
/// what remains are cycles, each broken by parking one value in a scratch register.
/// </summary>
public static class ParallelMove
{
    /// <param name="destinations">Distinct destination registers.</param>
    /// <param name="sources">The register each destination receives (same length).</param>
    /// <param name="scratch">A register no move reads or writes.</param>
    /// <param name="move">Emits <c>destination = source</c>.</param>
    public static void Sequence(Span<int> destinations, Span<int> sources, int scratch, Action<int, int> move)
    {
        var count = destinations.Length;
        Span<bool> done = count <= 32 ? stackalloc bool[count] : new bool[count];
        var pending = 0;
        for (var i = 0; i < count; i++)
        {
            done[i] = destinations[i] == sources[i];
            if (!done[i]) pending++;
        }
        while (pending > 0)
        {
            var progressed = false;
            for (var i = 0; i < count; i++)
            {
                if (done[i] || IsRead(destinations[i], destinations, sources, done)) continue;
                move(destinations[i], sources[i]);
                done[i] = true;
                pending--;
                progressed = true;
            }
            if (progressed) continue;
            // Only cycles are left: save one destination's current value and let the readers take it from the scratch.
            for (var i = 0; i < count; i++)
            {
                if (done[i]) continue;
                var blocked = destinations[i];
                move(scratch, blocked);
                for (var j = 0; j < count; j++)
                    if (!done[j] && sources[j] == blocked) sources[j] = scratch;
                break;
            }
        }
    }

    private static bool IsRead(int register, Span<int> destinations, Span<int> sources, Span<bool> done)
    {
        for (var j = 0; j < destinations.Length; j++)
            if (!done[j] && sources[j] == register) return true;
        return false;
    }
}
