/* fib: call-heavy recursion. bench(n) = fib(n), computed the naive doubly recursive way. */

static long fib(long n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

long bench(long n)
{
    return fib(n);
}
