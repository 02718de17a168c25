namespace Maru.Compiler.Ir;

/// <summary>
/// Reusable work arrays for analyses indexed by register or block number (optimiser passes; the
/// backend may use them too). A warm compilation runs some 25 passes over every function, and each
/// used to allocate its own tables: tens of megabytes per compilation, and the collections that
/// cost were a large part of compile time. Renting from a small per-thread free list instead
/// costs a clear of the part asked for, the same as the zeroing a new array pays.
/// <para>
/// <see cref="Rent"/> returns an array of AT LEAST the length asked for, whose first
/// <c>length</c> elements are default: callers keep their own length and never use the
/// array's (what lies beyond may be left over from an earlier renter). An array must not be used
/// after <see cref="Return"/>; one never returned is simply collected. Per thread, so concurrent
/// compilations never share one; arrays above <see cref="MaxRetainedBytes"/> are not kept, so a
/// huge function leaves no huge tables behind.
/// </para>
/// </summary>
internal static class Scratch<T>
{
    private const int MaxFree = 24;
    private const int MaxRetainedBytes = 1 << 18;

    [ThreadStatic] private static T[]?[]? _free;

    public static T[] Rent(int length)
    {
        var free = _free ??= new T[MaxFree][];
        // The smallest free array that is big enough.
        var best = -1;
        for (var i = 0; i < free.Length; i++)
            if (free[i] is { } candidate && candidate.Length >= length && (best < 0 || candidate.Length < free[best]!.Length)) best = i;
        if (best < 0)
        {
            // Rounded up so a slightly bigger function next time still fits; a table too big to keep is exact.
            var rounded = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(length, 16));
            return rounded * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > MaxRetainedBytes ? new T[length] : new T[rounded];
        }
        var array = free[best]!;
        free[best] = null;
        Array.Clear(array, 0, length);
        return array;
    }

    public static void Return(T[] array)
    {
        if ((long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > MaxRetainedBytes) return;
        var free = _free ??= new T[MaxFree][];
        // An empty slot, else the smallest kept array if this one is bigger (big ones are the useful ones).
        var slot = -1;
        for (var i = 0; i < free.Length; i++)
        {
            if (ReferenceEquals(free[i], array)) return;   // returned twice: keep one entry, never hand it out twice
            if (free[i] is null) { if (slot < 0 || free[slot] is not null) slot = i; }
            else if (slot < 0 || (free[slot] is { } kept && free[i]!.Length < kept.Length)) slot = i;
        }
        if (free[slot] is { } smallest && smallest.Length >= array.Length) return;
        free[slot] = array;
    }
}
