// trib: triply recursive, the recursive calls sitting in a sum nested differently from fib's
// (a constant and the calls in no particular order or grouping). Bench(n) = trib(n).
namespace Maru.Benchmarks.Programs;

public static class Trib
{
    public static long Bench(long n) => Calc(n);

    private static long Calc(long n)
    {
        if (n < 3)
            return n + 1;
        return (1 + Calc(n - 3)) + (Calc(n - 1) + Calc(n - 2));
    }
}
