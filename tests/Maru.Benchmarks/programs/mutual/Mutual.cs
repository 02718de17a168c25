// mutual: mutual recursion whose calls are the functions' results (IsEven / IsOdd, a thousand
// levels deep) and Ackermann's function, whose inner call is not in tail position.
// Bench(n) = the sum over i < n of IsEven(1000 + (i & 7)) + Ack(2, i & 15).
namespace Maru.Benchmarks.Programs;

public static class Mutual
{
    public static long Bench(long n)
    {
        long total = 0;
        for (long i = 0; i < n; i++)
            total += IsEven(1000 + (i & 7)) + Ack(2, i & 15);
        return total;
    }

    private static long IsEven(long n) => n == 0 ? 1 : IsOdd(n - 1);

    private static long IsOdd(long n) => n == 0 ? 0 : IsEven(n - 1);

    private static long Ack(long m, long n)
    {
        if (m == 0) return n + 1;
        if (n == 0) return Ack(m - 1, 1);
        return Ack(m - 1, Ack(m, n - 1));
    }
}
