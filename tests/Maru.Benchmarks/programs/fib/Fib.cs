// fib: call-heavy recursion. Bench(n) = fib(n), computed the naive doubly recursive way.
namespace Maru.Benchmarks.Programs;

public static class Fib
{
    public static long Bench(long n) => FibOf(n);

    private static long FibOf(long n) => n < 2 ? n : FibOf(n - 1) + FibOf(n - 2);
}
