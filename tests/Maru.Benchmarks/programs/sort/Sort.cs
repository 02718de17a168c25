// sort: quicksort (Hoare partition, recursion on the left part, a loop on the right) of n
// native words filled by a 64-bit LCG. Bench(n) = a polynomial hash of the sorted array
// (masked to 62 bits), or -1 if it is not sorted.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Sort
{
    public static long Bench(long n)
    {
        var a = (long*)NativeMemory.Alloc((nuint)(8 * n));
        long x = 7;
        long h = 0;
        for (long i = 0; i < n; i++)
        {
            x = x * 6364136223846793005 + 1442695040888963407;
            a[i] = (x >> 16) & 17592186044415;
        }
        Quicksort(a, 0, n - 1);
        for (long i = 0; i < n; i++)
        {
            if (i > 0 && a[i - 1] > a[i])
            {
                NativeMemory.Free(a);
                return -1;
            }
            h = h * 31 + a[i];
        }
        NativeMemory.Free(a);
        return h & 4611686018427387903;
    }

    private static long Partition(long* a, long lo, long hi)
    {
        long pivot = a[lo + (hi - lo) / 2];
        long i = lo - 1;
        long j = hi + 1;
        while (true)
        {
            i = i + 1;
            while (a[i] < pivot)
                i = i + 1;
            j = j - 1;
            while (a[j] > pivot)
                j = j - 1;
            if (i >= j)
                return j;
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static void Quicksort(long* a, long lo, long hi)
    {
        while (lo < hi)
        {
            long p = Partition(a, lo, hi);
            Quicksort(a, lo, p);
            lo = p + 1;
        }
    }
}
