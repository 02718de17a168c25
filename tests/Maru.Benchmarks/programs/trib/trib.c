/* trib: triply recursive, the recursive calls sitting in a sum nested differently from fib's
   (a constant and the calls in no particular order or grouping). bench(n) = trib(n). */

static long trib(long n)
{
    if (n < 3)
        return n + 1;
    return (1 + trib(n - 3)) + (trib(n - 1) + trib(n - 2));
}

long bench(long n)
{
    return trib(n);
}
