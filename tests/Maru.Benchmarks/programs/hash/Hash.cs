// hash: an open-addressing hash table (linear probing, 65536 slots in two native word arrays)
// counting n keys drawn from an LCG (16384 distinct values), each hashed with FNV-1a over its
// 8 bytes. Bench(n) = the sum over the table of count * (key + slot).
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Hash
{
    public static long Bench(long n)
    {
        long size = 65536;
        long mask = 65535;
        var keys = (long*)NativeMemory.Alloc(8 * 65536);
        var counts = (long*)NativeMemory.Alloc(8 * 65536);
        long x = 99;
        long result = 0;
        for (long s = 0; s < size; s++)
        {
            keys[s] = 0;
            counts[s] = 0;
        }
        for (long i = 0; i < n; i++)
        {
            x = x * 6364136223846793005 + 1442695040888963407;
            long key = ((x >> 20) & 16383) + 1;
            long slot = Fnv1a(key) & mask;
            while (keys[slot] != 0 && keys[slot] != key)
                slot = (slot + 1) & mask;
            keys[slot] = key;
            counts[slot] = counts[slot] + 1;
        }
        for (long s = 0; s < size; s++)
            result = result + counts[s] * (keys[s] + s);
        NativeMemory.Free(keys);
        NativeMemory.Free(counts);
        return result;
    }

    private static long Fnv1a(long key)
    {
        ulong h = 14695981039346656037;
        long i = 0;
        while (i < 8)
        {
            h = (h ^ (ulong)((key >> (int)(i * 8)) & 255)) * 1099511628211;
            i = i + 1;
        }
        return (long)h;
    }
}
