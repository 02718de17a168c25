/*
 * The test loader for libraries we cannot load in the test process (another architecture, run
 * under qemu-user). It reads a batch of commands on stdin, one per line, and answers each on
 * stdout, so one process start serves many calls in many libraries:
 *
 *   load <path>             dlopen the library; later calls and peeks use it
 *   call <name> [int64...]  call the function with up to 10 integer arguments
 *   peek <name>             read the 64-bit word at the data symbol
 *
 * Each command answers with one line "@@ <kind> <output-bytes> <value>" followed by exactly
 * <output-bytes> bytes that the call wrote to stdout (captured through a temporary file, so a
 * program's output can never be mistaken for the protocol). <kind> is "ok" (value is the
 * result), "error" (value is a message: dlopen/dlsym failure) or "signal" (value is the signal
 * number: the call crashed; the loader recovers and goes on with the next command).
 * Calls run on a thread with a 1 GiB stack (deep recursion at O0 tests the code, not the loader).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int64_t (*function10)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

static sigjmp_buf recovery;
static volatile sig_atomic_t in_call;

static void on_signal(int number)
{
    if (in_call) siglongjmp(recovery, number);
    _exit(128 + number);
}

static void answer(FILE *captured, const char *kind, const char *value)
{
    char buffer[4096];
    long length = 0;
    if (captured) {
        fflush(stdout);
        length = ftell(captured);
        rewind(captured);
    }
    dprintf(3, "@@ %s %ld %s\n", kind, length, value);
    while (captured && length > 0) {
        size_t n = fread(buffer, 1, length < (long)sizeof buffer ? (size_t)length : sizeof buffer, captured);
        if (n == 0) break;
        if (write(3, buffer, n) < 0) break;
        length -= (long)n;
    }
}

static void *run(void *unused)
{
    (void)unused;
    char line[8192];
    void *library = NULL;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *command = strtok(line, " ");
        if (!command) continue;
        char *name = strtok(NULL, " ");
        if (strcmp(command, "load") == 0) {
            library = name ? dlopen(name, RTLD_NOW | RTLD_LOCAL) : NULL;
            answer(NULL, library ? "ok" : "error", library ? "0" : dlerror());
            continue;
        }
        void *symbol = library && name ? dlsym(library, name) : NULL;
        if (!symbol) {
            answer(NULL, "error", library ? "no such symbol" : "no library loaded");
            continue;
        }
        int64_t args[10] = {0};
        for (int i = 0; i < 10; i++) {
            char *arg = strtok(NULL, " ");
            if (!arg) break;
            args[i] = (int64_t)strtoull(arg, NULL, 0);
        }
        /* The call's stdout goes to a temporary file, read back after the call. */
        fflush(stdout);
        FILE *captured = tmpfile();
        int saved = dup(1);
        dup2(fileno(captured), 1);
        char value[64];
        const char *volatile kind = "ok";
        int number = sigsetjmp(recovery, 1);
        if (number == 0) {
            in_call = 1;
            int64_t result = strcmp(command, "peek") == 0
                ? *(int64_t *)symbol
                : ((function10)symbol)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9]);
            in_call = 0;
            snprintf(value, sizeof value, "%lld", (long long)result);
        } else {
            in_call = 0;
            kind = "signal";
            snprintf(value, sizeof value, "%d", number);
        }
        fflush(stdout);
        dup2(saved, 1);
        close(saved);
        answer(captured, kind, value);
        fclose(captured);
    }
    return NULL;
}

int main(void)
{
    /* Protocol on descriptor 3 (a copy of the original stdout), program output captured. */
    if (dup2(1, 3) < 0) return 2;
    static char alternate[1 << 16];
    stack_t stack = { .ss_sp = alternate, .ss_size = sizeof alternate };
    sigaltstack(&stack, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_ONSTACK | SA_NODEFER;
    int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT };
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &action, NULL);

    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, (size_t)1 << 30);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, run, NULL) != 0) run(NULL);
    else pthread_join(thread, NULL);
    return 0;
}
