using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Maru.Compiler.Syntax;

/// <summary>
/// Stores into arrays whose element type is not sealed (<c>Datum[]</c>, <c>Datum[][]</c>) without the
/// array covariance check. A plain <c>array[i] = value</c> into a <c>Datum[]</c> calls the runtime's
/// type check whenever the value's class is not exactly the element type (a PairDatum into a
/// Datum[]: always), which in NativeAOT cost more than the evaluator's own work at its hottest
/// stores. The check is needed only when the array might be of a more derived type (a PairDatum[]
/// seen as a Datum[]); here the array's exact type is tested instead (one comparison, folded to a
/// constant where the call is inlined), so any other array still takes the ordinary checked store.
/// </summary>
internal static class ExactArray
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set<T>(T[] array, int index, T value) where T : class
    {
        if (array.GetType() == typeof(T[]) && (uint)index < (uint)array.Length)
            Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), index) = value;
        else
            array[index] = value;
    }
}

/// <summary>
/// A growable stack of datums for the front end's walks (expansion, relocation, the reader's open
/// lists, lowering's scans): a <see cref="List{T}"/> of <see cref="Datum"/> with stores that skip the
/// covariance check (see <see cref="ExactArray"/>), and removal down to a mark for nested walks
/// that share one instance.
/// </summary>
internal sealed class DatumStack
{
    private Datum[] _items = new Datum[16];
    private int _count;

    public int Count => _count;

    public Datum this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)_count) ThrowIndex();
            return _items[index];
        }
        set
        {
            if ((uint)index >= (uint)_count) ThrowIndex();
            ExactArray.Set(_items, index, value);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(Datum item)
    {
        var items = _items;
        var count = _count;
        if ((uint)count < (uint)items.Length)
        {
            ExactArray.Set(items, count, item);
            _count = count + 1;
        }
        else
        {
            PushWithResize(item);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PushWithResize(Datum item)
    {
        Array.Resize(ref _items, _items.Length * 2);
        ExactArray.Set(_items, _count++, item);
    }

    public Datum Pop()
    {
        if (_count == 0) ThrowIndex();
        var item = _items[--_count];
        _items[_count] = null!;
        return item;
    }

    /// <summary>Puts <paramref name="item"/> at the bottom (index 0), moving the others up.</summary>
    public void InsertAtBottom(Datum item)
    {
        Push(item);
        Array.Copy(_items, 0, _items, 1, _count - 1);
        ExactArray.Set(_items, 0, item);
    }

    /// <summary>Removes every item from index <paramref name="mark"/> up (none if it is the count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void TruncateTo(int mark)
    {
        if ((uint)mark > (uint)_count) ThrowIndex();
        // Usually a few entries: a loop of null stores is cheaper than Array.Clear's call.
        for (var i = mark; i < _count; i++) _items[i] = null!;
        _count = mark;
    }

    public void Clear() => TruncateTo(0);

    private static void ThrowIndex() => throw new ArgumentOutOfRangeException("index");
}
