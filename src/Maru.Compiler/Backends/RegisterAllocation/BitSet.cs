using System.Runtime.CompilerServices;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>A fixed-size set of small integers (virtual register numbers) as 64-bit words.</summary>
public sealed class BitSet
{
    private readonly ulong[] _words;

    public BitSet(int capacity) => _words = new ulong[(capacity + 63) >> 6];

    public bool this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_words[index >> 6] & (1UL << index)) != 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int index) => _words[index >> 6] |= 1UL << index;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(int index) => _words[index >> 6] &= ~(1UL << index);
}
