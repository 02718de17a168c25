/* mutual: mutual recursion whose calls are the functions' results (is_even / is_odd, a
   thousand levels deep) and Ackermann's function, whose inner call is not in tail position.
   bench(n) = the sum over i < n of is_even(1000 + (i & 7)) + ack(2, i & 15). */

static long is_odd(long n);

static long is_even(long n) { return n == 0 ? 1 : is_odd(n - 1); }

static long is_odd(long n) { return n == 0 ? 0 : is_even(n - 1); }

static long ack(long m, long n)
{
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

long bench(long n)
{
    long total = 0;
    for (long i = 0; i < n; i++)
        total += is_even(1000 + (i & 7)) + ack(2, i & 15);
    return total;
}
