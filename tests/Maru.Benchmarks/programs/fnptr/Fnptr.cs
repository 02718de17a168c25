// fnptr: calls through function pointers. Four small operations are stored in a native table
// of words; step i calls entry (i ^ (i >> 2)) & 3 of the table on the accumulator.
// Bench(n) = the accumulator after n steps (masked to 62 bits).
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Fnptr
{
    public static long Bench(long n)
    {
        var table = (nint*)NativeMemory.Alloc(4 * (nuint)sizeof(nint));
        long acc = 1;
        long i = 0;
        table[0] = (nint)(delegate*<long, long, long>)&OpAdd;
        table[1] = (nint)(delegate*<long, long, long>)&OpXor;
        table[2] = (nint)(delegate*<long, long, long>)&OpMul;
        table[3] = (nint)(delegate*<long, long, long>)&OpRot;
        while (i < n)
        {
            acc = ((delegate*<long, long, long>)table[(i ^ (i >> 2)) & 3])(acc, i);
            i = i + 1;
        }
        NativeMemory.Free(table);
        return acc & 4611686018427387903;
    }

    private static long OpAdd(long a, long i) => a + i;
    private static long OpXor(long a, long i) => a ^ (i * 2654435761);
    private static long OpMul(long a, long i) => a * 31 + i;
    private static long OpRot(long a, long i) => (a << 7) | ((a >> 57) & 127);
}
