// sieve: the sieve of Eratosthenes over an array of native words (one word per number).
// Bench(n) = the sum, over r = 0..9, of the number of primes below n - r.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Sieve
{
    public static long Bench(long n)
    {
        long total = 0;
        for (long r = 0; r < 10; r++)
            total = total + CountPrimes(n - r);
        return total;
    }

    private static long CountPrimes(long limit)
    {
        var flags = (long*)NativeMemory.Alloc((nuint)(8 * limit));
        long count = 0;
        long i = 2;
        for (long j = 0; j < limit; j++)
            flags[j] = 1;
        while (i < limit)
        {
            if (flags[i] != 0)
            {
                count = count + 1;
                long k = i * i;
                while (k < limit)
                {
                    flags[k] = 0;
                    k = k + i;
                }
            }
            i = i + 1;
        }
        NativeMemory.Free(flags);
        return count;
    }
}
