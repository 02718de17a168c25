/* sieve: the sieve of Eratosthenes over an array of malloc'd words (one word per number).
   bench(n) = the sum, over r = 0..9, of the number of primes below n - r. */
#include <stdlib.h>

static long count_primes(long limit)
{
    long *flags = malloc(8 * limit);
    long count = 0;
    long i = 2;
    for (long j = 0; j < limit; j++)
        flags[j] = 1;
    while (i < limit) {
        if (flags[i]) {
            count = count + 1;
            long k = i * i;
            while (k < limit) {
                flags[k] = 0;
                k = k + i;
            }
        }
        i = i + 1;
    }
    free(flags);
    return count;
}

long bench(long n)
{
    long total = 0;
    for (long r = 0; r < 10; r++)
        total = total + count_primes(n - r);
    return total;
}
