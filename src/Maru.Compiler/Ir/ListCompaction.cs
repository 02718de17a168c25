using System.Runtime.InteropServices;

namespace Maru.Compiler.Ir;

/// <summary>Which elements a <see cref="ListCompaction.RemoveWhere"/> drops: a struct, so the loop calls it directly (no delegate or closure per call).</summary>
internal interface IDropTest<T>
{
    bool Drop(T item);
}

/// <summary>In-place removal from the IR's lists (phis, phi inputs, instructions, blocks).</summary>
internal static class ListCompaction
{
    /// <summary>
    /// Removes the elements <paramref name="test"/> drops, keeping the others in their order, in place
    /// (nothing allocated; a list that loses nothing is only read). Returns how many were removed.
    /// </summary>
    public static int RemoveWhere<T, TTest>(List<T> list, TTest test) where TTest : struct, IDropTest<T>
    {
        var span = CollectionsMarshal.AsSpan(list);
        var kept = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (test.Drop(span[i])) continue;
            if (kept != i) span[kept] = span[i];
            kept++;
        }
        if (kept != span.Length) list.RemoveRange(kept, span.Length - kept);
        return span.Length - kept;
    }
}
