using System.Numerics;
using System.Runtime.CompilerServices;

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
/// compilations never share one.
/// </para>
/// <para>
/// Arrays above <see cref="MaxRetainedBytes"/> (the tables of a function of tens of thousands of
/// blocks or registers) are kept too, but only until <see cref="ScratchLists.ReleaseLarge"/>: the
/// end of the compilation, or a helper thread leaving its work. Each is on the large-object heap,
/// and allocating one per pass (some 25 passes, several tables each) made the collector run a full
/// collection every few passes, each costing the whole heap: compile time grew with the square of
/// the function's size. They are allocated an eighth longer than asked, so the next pass, whose
/// function has a few more registers, still fits.
/// </para>
/// <para>
/// Free arrays are kept by size class (the power of two at or below their length), a few per
/// class, so renting and returning cost a step or two however many arrays are free: a small
/// compilation rents and returns a few hundred times, and a search of one list of every free
/// array was a tenth of its instructions.
/// </para>
/// </summary>
internal static class Scratch<T>
{
    private const int MaxRetainedBytes = 1 << 18;

    /// <summary>Arrays kept per size class (several tables of one function's size are rented at once).</summary>
    private const int PerClass = 8;

    /// <summary>Large arrays kept per size class: a pass's few tables of the function's size, not every size the function had.</summary>
    private const int LargePerClass = 3;

    /// <summary>Size classes 0..31: class c holds arrays of length 2^c up to (excluding) 2^(c+1).</summary>
    private const int Classes = 32;

    /// <summary>This element type's free lists in <see cref="ScratchLists"/>.</summary>
    private static readonly int s_kind = ScratchLists.NewKind();

    private sealed class FreeLists : ScratchLists.IFreeLists
    {
        // Slots rather than an array of arrays: a store into a T[][] is a covariance-checked helper call.
        public readonly Slot[] Arrays = new Slot[Classes * PerClass];
        public readonly int[] Counts = new int[Classes];

        public void DropLarge()
        {
            for (var c = 0; c < Classes; c++)
            {
                var first = c * PerClass;
                var kept = 0;
                for (var i = 0; i < Counts[c]; i++)
                {
                    var array = Arrays[first + i].Array!;
                    Arrays[first + i].Array = null;
                    if (!IsLarge(array.Length)) Arrays[first + kept++].Array = array;
                }
                Counts[c] = kept;
            }
        }
    }

    private struct Slot
    {
        public T[]? Array;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // (Rent and Return run tens of thousands of times per compilation: calls were a third of their cost)
    private static bool IsLarge(long length) => length * Unsafe.SizeOf<T>() > MaxRetainedBytes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FreeLists Lists() =>
        ScratchLists.Of(s_kind) is { } lists ? Unsafe.As<FreeLists>(lists) : ScratchLists.Add(s_kind, new FreeLists());

    public static T[] Rent(int length)
    {
        var lists = Lists();
        // Every array in the class of the rounded length, or a higher one, is long enough; the lowest non-empty class has the smallest.
        var rounded = BitOperations.RoundUpToPowerOf2((uint)Math.Max(length, 16));
        var lowest = BitOperations.Log2(rounded);
        var large = IsLarge(rounded);
        if (large && rounded != length && lowest > 0)
        {
            // A large array is not a power of two long: one in the class below may be long enough.
            var first = (lowest - 1) * PerClass;
            for (var i = lists.Counts[lowest - 1] - 1; i >= 0; i--)
                if (lists.Arrays[first + i].Array!.Length >= length) return Take(lists, lowest - 1, i, length);
        }
        var counts = lists.Counts;
        for (var c = lowest; c < Classes; c++)
            if (counts[c] > 0) return Take(lists, c, counts[c] - 1, length);
        // Rounded up so a slightly bigger function next time still fits; a large table an eighth longer than asked (see above).
        return large ? new T[length + length / 8] : new T[rounded];
    }

    /// <summary>Takes the <paramref name="i"/>th free array of class <paramref name="c"/> (the class's last takes its place), its first <paramref name="length"/> elements cleared.</summary>
    private static T[] Take(FreeLists lists, int c, int i, int length)
    {
        var first = c * PerClass;
        var last = first + lists.Counts[c] - 1;
        var slots = lists.Arrays;
        var array = slots[first + i].Array!;
        slots[first + i].Array = slots[last].Array;
        slots[last].Array = null;
        lists.Counts[c]--;
        array.AsSpan(0, length).Clear();
        return array;
    }

    public static void Return(T[] array)
    {
        if (array.Length == 0) return;
        var lists = Lists();
        var c = BitOperations.Log2((uint)array.Length);
        var count = lists.Counts[c];
        var first = c * PerClass;
        var slots = lists.Arrays;
        for (var i = first; i < first + count; i++)
            if (ReferenceEquals(slots[i].Array, array)) return;   // returned twice: keep one entry, never hand it out twice
        var large = IsLarge(array.Length);
        if (count >= (large ? LargePerClass : PerClass)) return;   // enough of this size kept already
        slots[first + count].Array = array;
        lists.Counts[c] = count + 1;
        if (large) ScratchLists.HoldsLarge();
    }
}

/// <summary>
/// The per-thread free lists of every <see cref="Scratch{T}"/>, in one thread-static table of a
/// non-generic class: a thread-static field of a generic class is reached through a runtime helper
/// on every access (on the JIT, more than the rest of a rent or a return).
/// </summary>
internal static class ScratchLists
{
    [ThreadStatic] private static object?[]? t_lists;
    [ThreadStatic] private static bool t_holdsLarge;
    private static int s_kinds;

    /// <summary>One element type's free lists, as <see cref="ReleaseLarge"/> sees them.</summary>
    public interface IFreeLists
    {
        void DropLarge();
    }

    /// <summary>A free list of this thread now holds an array above the size kept between compilations.</summary>
    public static void HoldsLarge() => t_holdsLarge = true;

    /// <summary>
    /// Drops this thread's free arrays above the size kept between compilations: called when a
    /// compilation ends and when a helper thread leaves its work, so a huge function's tables do not
    /// outlive its compilation.
    /// </summary>
    public static void ReleaseLarge()
    {
        if (!t_holdsLarge) return;
        t_holdsLarge = false;
        foreach (var lists in t_lists ?? []) (lists as IFreeLists)?.DropLarge();
    }

    /// <summary>A number for one element type's free lists (taken once per type, by its static constructor).</summary>
    public static int NewKind() => Interlocked.Increment(ref s_kinds) - 1;

    /// <summary>This thread's free lists number <paramref name="kind"/>, null before <see cref="Add"/> (not generic: a shared generic method looks its type up on every call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static object? Of(int kind)
    {
        var lists = t_lists;
        return lists is not null && (uint)kind < (uint)lists.Length ? lists[kind] : null;
    }

    public static TLists Add<TLists>(int kind, TLists free) where TLists : class
    {
        var lists = t_lists;
        if (lists is null || kind >= lists.Length)
        {
            Array.Resize(ref lists, Math.Max(kind + 1, Volatile.Read(ref s_kinds)));
            t_lists = lists;
        }
        lists[kind] = free;
        return free;
    }
}
