using System.Numerics;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>A fixed-size set of small integers (virtual register numbers) as 64-bit words.</summary>
public sealed class BitSet
{
    private readonly ulong[] _words;

    public BitSet(int capacity) => _words = new ulong[(capacity + 63) >> 6];

    private BitSet(ulong[] words) => _words = words;

    public bool this[int index] => (_words[index >> 6] & (1UL << index)) != 0;

    public void Add(int index) => _words[index >> 6] |= 1UL << index;

    public void Remove(int index) => _words[index >> 6] &= ~(1UL << index);

    public BitSet Clone() => new((ulong[])_words.Clone());

    public void CopyFrom(BitSet other) => Array.Copy(other._words, _words, _words.Length);

    /// <summary>this |= other; true when this changed.</summary>
    public bool UnionWith(BitSet other)
    {
        var changed = false;
        for (var i = 0; i < _words.Length; i++)
        {
            var merged = _words[i] | other._words[i];
            if (merged != _words[i])
            {
                _words[i] = merged;
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>this = (other minus <paramref name="minus"/>) | <paramref name="plus"/> (the transfer function of liveness); true when this changed.</summary>
    public bool SetToDifferenceUnion(BitSet other, BitSet minus, BitSet plus)
    {
        var changed = false;
        for (var i = 0; i < _words.Length; i++)
        {
            var value = (other._words[i] & ~minus._words[i]) | plus._words[i];
            if (value != _words[i])
            {
                _words[i] = value;
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>The members in increasing order, written into <paramref name="buffer"/>; returns how many.</summary>
    public int CopyMembers(List<int> buffer)
    {
        buffer.Clear();
        for (var i = 0; i < _words.Length; i++)
        {
            var word = _words[i];
            while (word != 0)
            {
                buffer.Add((i << 6) + BitOperations.TrailingZeroCount(word));
                word &= word - 1;
            }
        }
        return buffer.Count;
    }
}
