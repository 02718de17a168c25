/* bytes: byte-string work over a malloc'd 1 MiB buffer, n/1MiB rounds. Each round fills the
   buffer with the top bytes of a 64-bit LCG, counts byte frequencies into a word table, and
   runs a strlen-style scan over the NUL-terminated strings the buffer holds (summing their
   squared lengths). bench(n) = sum of freq[b] * (b + 1) plus the scan total. */
#include <stdlib.h>

long bench(long n)
{
    long size = 1048576;
    unsigned char *buf = malloc(1048576);
    long *freq = malloc(2048);
    unsigned long x = 12345;
    long scan = 0;
    long result = 0;
    for (long b = 0; b < 256; b++)
        freq[b] = 0;
    for (long r = 0; r < n / size; r++) {
        for (long i = 0; i < size; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            buf[i] = (unsigned char)(x >> 56);
        }
        buf[size - 1] = 0;
        for (long i = 0; i < size; i++) {
            long b = buf[i];
            freq[b] = freq[b] + 1;
        }
        long p = 0;
        while (p < size) {
            long q = p;
            while (buf[q])
                q = q + 1;
            scan = scan + (q - p) * (q - p);
            p = q + 1;
        }
    }
    for (long b = 0; b < 256; b++)
        result = result + freq[b] * (b + 1);
    free(buf);
    free(freq);
    return result + scan;
}
