using System.Buffers.Binary;
using System.Text;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// The System V symbol hash table (.hash, DT_HASH) the dynamic loader uses to find a symbol by
/// name; without it (or DT_GNU_HASH) dlsym finds nothing. Layout: nbucket, nchain, bucket[nbucket],
/// chain[nchain], all 32-bit words; nchain equals the number of .dynsym entries.
/// </summary>
internal static class ElfSysVHash
{
    // Primes, roughly doubling. A bucket count that is prime spreads the hash values evenly.
    private static readonly uint[] s_bucketCounts =
        [1, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];

    /// <summary>The gABI hash of a symbol name (over its UTF-8 bytes).</summary>
    public static uint Hash(string name)
    {
        // The UTF-8 bytes of the name, without a copy on the heap for the usual short one.
        var length = Encoding.UTF8.GetByteCount(name);
        Span<byte> bytes = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(name, bytes);
        uint h = 0;
        foreach (var c in bytes)
        {
            h = (h << 4) + c;
            var g = h & 0xf0000000;
            if (g != 0)
                h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    public static uint BucketCount(int symbolCount)
    {
        var chosen = s_bucketCounts[0];
        foreach (var candidate in s_bucketCounts)
        {
            if (candidate > (uint)Math.Max(symbolCount, 1))
                break;
            chosen = candidate;
        }
        return chosen;
    }

    /// <summary>Size in bytes of the table for <paramref name="dynamicSymbolCount"/> entries (null entry included).</summary>
    public static int Size(int dynamicSymbolCount) =>
        ElfConstants.HashWordSize * (2 + (int)BucketCount(dynamicSymbolCount - 1) + dynamicSymbolCount);

    /// <summary>
    /// Builds the table. <paramref name="dynamicSymbolNames"/> is .dynsym in order, entry 0 being
    /// the null symbol (never hashed). Each later symbol is pushed onto the front of its bucket's
    /// chain, in index order, so the result depends only on the names and their order.
    /// </summary>
    public static byte[] Build(IReadOnlyList<string> dynamicSymbolNames)
    {
        var count = dynamicSymbolNames.Count;
        var bucketCount = BucketCount(count - 1);
        var buckets = new uint[bucketCount];
        var chains = new uint[count];
        for (var index = 1; index < count; index++)
        {
            var bucket = Hash(dynamicSymbolNames[index]) % bucketCount;
            chains[index] = buckets[bucket];
            buckets[bucket] = (uint)index;
        }

        var bytes = new byte[Size(count)];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, bucketCount);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)count);
        var position = 8;
        foreach (var word in buckets)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[position..], word);
            position += ElfConstants.HashWordSize;
        }
        foreach (var word in chains)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[position..], word);
            position += ElfConstants.HashWordSize;
        }
        return bytes;
    }
}
