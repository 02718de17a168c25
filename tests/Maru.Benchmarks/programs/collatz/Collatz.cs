// collatz: a tight loop with a data-dependent branch. Bench(n) = total number of Collatz
// steps taken by the starting values 1..n.
namespace Maru.Benchmarks.Programs;

public static class Collatz
{
    public static long Bench(long n)
    {
        long total = 0;
        long i = 1;
        while (i <= n)
        {
            total = total + Steps(i);
            i = i + 1;
        }
        return total;
    }

    private static long Steps(long x)
    {
        long steps = 0;
        while (x != 1)
        {
            if (x % 2 == 0)
                x = x / 2;
            else
                x = 3 * x + 1;
            steps = steps + 1;
        }
        return steps;
    }
}
