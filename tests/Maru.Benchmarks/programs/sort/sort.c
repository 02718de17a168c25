/* sort: quicksort (Hoare partition, recursion on the left part, a loop on the right) of n
   malloc'd words filled by a 64-bit LCG. bench(n) = a polynomial hash of the sorted array
   (masked to 62 bits), or -1 if it is not sorted. */
#include <stdlib.h>

static long partition(long *a, long lo, long hi)
{
    long pivot = a[lo + (hi - lo) / 2];
    long i = lo - 1;
    long j = hi + 1;
    for (;;) {
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

static void quicksort(long *a, long lo, long hi)
{
    while (lo < hi) {
        long p = partition(a, lo, hi);
        quicksort(a, lo, p);
        lo = p + 1;
    }
}

long bench(long n)
{
    long *a = malloc(8 * n);
    unsigned long x = 7;
    unsigned long h = 0;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        a[i] = (long)((x >> 16) & 17592186044415UL);
    }
    quicksort(a, 0, n - 1);
    for (long i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) {
            free(a);
            return -1;
        }
        h = h * 31 + (unsigned long)a[i];
    }
    free(a);
    return (long)(h & 4611686018427387903UL);
}
