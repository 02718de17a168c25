/* hash: an open-addressing hash table (linear probing, 65536 slots in two malloc'd word
   arrays) counting n keys drawn from an LCG (16384 distinct values), each hashed with FNV-1a
   over its 8 bytes. bench(n) = the sum over the table of count * (key + slot). */
#include <stdlib.h>

static unsigned long fnv1a(long key)
{
    unsigned long h = 14695981039346656037UL;
    long i = 0;
    while (i < 8) {
        h = (h ^ (unsigned long)((key >> (i * 8)) & 255)) * 1099511628211UL;
        i = i + 1;
    }
    return h;
}

long bench(long n)
{
    long size = 65536;
    long mask = 65535;
    long *keys = malloc(8 * 65536);
    long *counts = malloc(8 * 65536);
    unsigned long x = 99;
    long result = 0;
    for (long s = 0; s < size; s++) {
        keys[s] = 0;
        counts[s] = 0;
    }
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        long key = (long)((x >> 20) & 16383) + 1;
        long slot = (long)(fnv1a(key) & (unsigned long)mask);
        while (keys[slot] && keys[slot] != key)
            slot = (slot + 1) & mask;
        keys[slot] = key;
        counts[slot] = counts[slot] + 1;
    }
    for (long s = 0; s < size; s++)
        result = result + counts[s] * (keys[s] + s);
    free(keys);
    free(counts);
    return result;
}
