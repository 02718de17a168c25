/* matmul: the product of two 120 x 120 row-major matrices of words, a triple loop whose
   indexes i*n + k and k*n + j multiply a loop counter by a run-time size.
   bench(n) = a mix of one element of each of n products. */
#include <stdlib.h>

static void matmul(long *a, long *b, long *c, long n)
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

long bench(long reps)
{
    long n = 120, total = 0;
    long *a = malloc(8 * 14400), *b = malloc(8 * 14400), *c = malloc(8 * 14400);
    for (long i = 0; i < n * n; i++)
    {
        a[i] = (i * 7) % 13;
        b[i] = (i * 5) % 11;
    }
    for (long r = 0; r < reps; r++)
    {
        matmul(a, b, c, n);
        total += c[(r * 97) % 14400];
    }
    free(a);
    free(b);
    free(c);
    return total;
}
