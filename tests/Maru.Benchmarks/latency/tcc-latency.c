/* The reference for Maru.Runtime's source-to-first-call latency (docs/performance.md): the same
   two small functions, as C, through libtcc in memory (tcc_compile_string + tcc_relocate, no
   file) and through `tcc -shared` + dlopen. build/bench.sh compiles this with gcc against the
   static libtcc.a and runs it; it prints one line per measurement, "<mode> <function> <us>...".

   usage: tcc-latency memory <iterations>   warm: every iteration's microseconds
          tcc-latency cold                  the first compilation of this process only
          tcc-latency shared <iterations> <folder> <tcc>   tcc -shared process + dlopen + call */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libtcc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static const char *const names[] = { "fib_iter", "fib" };
static const char *const sources[] = {
    "long fib_iter(long n) { long a = 0, b = 1; while (n > 0) { long t = a + b; a = b; b = t; n = n - 1; } return a; }\n",
    "long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n",
};
static const long arguments[] = { 50, 10 };
static const long expected[] = { 12586269025L, 55 };

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void check(long got, int which)
{
    if (got != expected[which]) { fprintf(stderr, "tcc-latency: %s returned %ld, not %ld\n", names[which], got, expected[which]); exit(1); }
}

/* Source text to first call, in memory; the state is deleted after the clock stops. */
static double in_memory(int which)
{
    double start = now_us();
    TCCState *s = tcc_new();
    if (!s) exit(1);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    if (tcc_compile_string(s, sources[which]) < 0 || tcc_relocate(s, TCC_RELOCATE_AUTO) < 0) exit(1);
    long (*f)(long) = (long (*)(long))tcc_get_symbol(s, names[which]);
    long got = f(arguments[which]);
    double elapsed = now_us() - start;
    check(got, which);
    tcc_delete(s);
    return elapsed;
}

/* Source file to first call through a tcc -shared process and dlopen. */
static double shared(int which, const char *folder, const char *tcc, int iteration)
{
    char source[4096], library[4096];
    snprintf(source, sizeof source, "%s/%s.c", folder, names[which]);
    snprintf(library, sizeof library, "%s/lib%s-%d.so", folder, names[which], iteration);
    FILE *file = fopen(source, "w");
    if (!file) exit(1);
    fputs(sources[which], file);
    fclose(file);

    double start = now_us();
    char *argv[] = { (char *)tcc, "-shared", "-o", library, source, NULL };
    pid_t pid;
    int status;
    if (posix_spawn(&pid, tcc, NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) < 0 || status != 0) exit(1);
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) { fprintf(stderr, "%s\n", dlerror()); exit(1); }
    long (*f)(long) = (long (*)(long))dlsym(handle, names[which]);
    long got = f(arguments[which]);
    double elapsed = now_us() - start;
    check(got, which);
    dlclose(handle);
    remove(library);
    return elapsed;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "cold") == 0)
    {
        printf("cold %s %.1f\n", names[0], in_memory(0));
        return 0;
    }
    int iterations = argc >= 3 ? atoi(argv[2]) : 0;
    for (int which = 0; which < 2; which++)
    {
        printf("%s %s", argv[1], names[which]);
        for (int i = 0; i < iterations; i++)
            printf(" %.1f", strcmp(argv[1], "memory") == 0 ? in_memory(which) : shared(which, argv[3], argv[4], i));
        printf("\n");
    }
    return 0;
}
