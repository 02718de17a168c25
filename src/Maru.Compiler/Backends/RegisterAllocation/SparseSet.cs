using System.Runtime.CompilerServices;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// A set of small integers (Briggs and Torczon's sparse set): add, remove and membership in
/// constant time, enumeration and clearing in the number of members, whatever the universe size.
/// </summary>
internal sealed class SparseSet(int capacity)
{
    private readonly int[] _dense = new int[capacity];
    private readonly int[] _sparse = new int[capacity];

    public int Count { get; private set; }

    /// <summary>Members are 0..Capacity-1.</summary>
    public int Capacity => _dense.Length;

    /// <summary>The members, in an order that depends only on the operations performed.</summary>
    public ReadOnlySpan<int> Members => _dense.AsSpan(0, Count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int value)
    {
        var at = _sparse[value];
        return at < Count && _dense[at] == value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int value)
    {
        if (Contains(value)) return;
        _sparse[value] = Count;
        _dense[Count++] = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(int value)
    {
        if (!Contains(value)) return;
        var at = _sparse[value];
        var last = _dense[--Count];
        _dense[at] = last;
        _sparse[last] = at;
    }

    public void Clear() => Count = 0;
}
