// bytes: byte-string work over a native 1 MiB buffer, n/1MiB rounds. Each round fills the
// buffer with the top bytes of a 64-bit LCG, counts byte frequencies into a word table, and
// runs a strlen-style scan over the NUL-terminated strings the buffer holds (summing their
// squared lengths). Bench(n) = sum of freq[b] * (b + 1) plus the scan total.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Bytes
{
    public static long Bench(long n)
    {
        long size = 1048576;
        var buf = (byte*)NativeMemory.Alloc(1048576);
        var freq = (long*)NativeMemory.Alloc(2048);
        long x = 12345;
        long scan = 0;
        long result = 0;
        for (long b = 0; b < 256; b++)
            freq[b] = 0;
        for (long r = 0; r < n / size; r++)
        {
            for (long i = 0; i < size; i++)
            {
                x = x * 6364136223846793005 + 1442695040888963407;
                buf[i] = (byte)(x >> 56);
            }
            buf[size - 1] = 0;
            for (long i = 0; i < size; i++)
            {
                long b = buf[i];
                freq[b] = freq[b] + 1;
            }
            long p = 0;
            while (p < size)
            {
                long q = p;
                while (buf[q] != 0)
                    q = q + 1;
                scan = scan + (q - p) * (q - p);
                p = q + 1;
            }
        }
        for (long b = 0; b < 256; b++)
            result = result + freq[b] * (b + 1);
        NativeMemory.Free(buf);
        NativeMemory.Free(freq);
        return result + scan;
    }
}
