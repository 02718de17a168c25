/* collatz: a tight loop with a data-dependent branch. bench(n) = total number of Collatz
   steps taken by the starting values 1..n. */

static long collatz_steps(long x)
{
    long steps = 0;
    while (x != 1) {
        if (x % 2 == 0)
            x = x / 2;
        else
            x = 3 * x + 1;
        steps = steps + 1;
    }
    return steps;
}

long bench(long n)
{
    long total = 0;
    long i = 1;
    while (i <= n) {
        total = total + collatz_steps(i);
        i = i + 1;
    }
    return total;
}
