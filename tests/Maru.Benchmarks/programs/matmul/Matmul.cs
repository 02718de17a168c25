// matmul: the product of two 120 x 120 row-major matrices of words, a triple loop whose
// indexes i*n + k and k*n + j multiply a loop counter by a run-time size.
// Bench(n) = a mix of one element of each of n products.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Matmul
{
    public static long Bench(long reps)
    {
        const long n = 120;
        long* a = (long*)NativeMemory.Alloc(8 * 14400), b = (long*)NativeMemory.Alloc(8 * 14400), c = (long*)NativeMemory.Alloc(8 * 14400);
        for (long i = 0; i < n * n; i++)
        {
            a[i] = i * 7 % 13;
            b[i] = i * 5 % 11;
        }
        long total = 0;
        for (long r = 0; r < reps; r++)
        {
            Multiply(a, b, c, n);
            total += c[r * 97 % 14400];
        }
        NativeMemory.Free(a);
        NativeMemory.Free(b);
        NativeMemory.Free(c);
        return total;
    }

    private static void Multiply(long* a, long* b, long* c, long n)
    {
        for (long i = 0; i < n; i++)
            for (long j = 0; j < n; j++)
            {
                long s = 0;
                for (long k = 0; k < n; k++)
                    s += a[i * n + k] * b[k * n + j];
                c[i * n + j] = s;
            }
    }
}
