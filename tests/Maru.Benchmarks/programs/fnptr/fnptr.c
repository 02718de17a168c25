/* fnptr: calls through function pointers. Four small operations are stored in a malloc'd
   table of words; step i calls entry (i ^ (i >> 2)) & 3 of the table on the accumulator.
   bench(n) = the accumulator after n steps (masked to 62 bits). */
#include <stdlib.h>

typedef unsigned long (*operation)(unsigned long a, unsigned long i);

static unsigned long op_add(unsigned long a, unsigned long i) { return a + i; }
static unsigned long op_xor(unsigned long a, unsigned long i) { return a ^ (i * 2654435761UL); }
static unsigned long op_mul(unsigned long a, unsigned long i) { return a * 31 + i; }
static unsigned long op_rot(unsigned long a, unsigned long i) { (void)i; return (a << 7) | ((a >> 57) & 127); }

long bench(long n)
{
    operation *table = malloc(4 * sizeof(operation));
    unsigned long acc = 1;
    long i = 0;
    table[0] = op_add;
    table[1] = op_xor;
    table[2] = op_mul;
    table[3] = op_rot;
    while (i < n) {
        acc = table[(i ^ (i >> 2)) & 3](acc, (unsigned long)i);
        i = i + 1;
    }
    free(table);
    return (long)(acc & 4611686018427387903UL);
}
