namespace Maru.Compiler.Lowering;

/// <summary>
/// The C library functions whose result is narrower than a word. Compiled Maru works on 64-bit
/// words, but on every 64-bit ABI (System V x86-64, AAPCS64) a function returning a C <c>int</c>
/// leaves the upper half of the result register undefined, so <c>(&lt; (strcmp a b) 0)</c> or
/// <c>(= (getc f) -1)</c> would test garbage: x86-64's glibc returns -1 as 0x00000000ffffffff.
/// A call of an <c>(extern 'name)</c> naming one of these functions widens the result the way C
/// converts it to <c>long</c>: sign-extended for <c>int</c>, zero-extended for <c>unsigned int</c>.
/// Every other extern's result is taken as a full word (pointers, <c>size_t</c>, <c>long</c>).
/// The lists are the ISO C and POSIX functions with such results, not the ones a sample uses.
/// </summary>
internal static class CResultWidths
{
    public enum Width { Word, Int, UnsignedInt }

    private static readonly HashSet<string> IntResults = new(StringComparer.Ordinal)
    {
        // stdio.h
        "printf", "fprintf", "sprintf", "snprintf", "dprintf", "vprintf", "vfprintf", "vsprintf", "vsnprintf",
        "vdprintf", "scanf", "fscanf", "sscanf", "vscanf", "vfscanf", "vsscanf", "fputc", "putc", "putchar",
        "fgetc", "getc", "getchar", "ungetc", "fputs", "puts", "fclose", "fflush", "feof", "ferror", "fseek",
        "fseeko", "fgetpos", "fsetpos", "remove", "rename", "fileno", "setvbuf", "pclose", "putc_unlocked",
        "getc_unlocked", "putchar_unlocked", "getchar_unlocked",
        // string.h, strings.h
        "strcmp", "strncmp", "memcmp", "strcoll", "strcasecmp", "strncasecmp", "ffs",
        // stdlib.h
        "abs", "atoi", "rand", "rand_r", "system", "atexit", "mblen", "mbtowc", "wctomb", "setenv",
        "unsetenv", "putenv", "mkstemp", "posix_memalign",
        // ctype.h
        "isalnum", "isalpha", "isblank", "iscntrl", "isdigit", "isgraph", "islower", "isprint", "ispunct",
        "isspace", "isupper", "isxdigit", "isascii", "tolower", "toupper",
        // unistd.h, fcntl.h, sys/stat.h, signal.h, time.h, sys/time.h
        "isatty", "close", "dup", "dup2", "pipe", "unlink", "rmdir", "chdir", "access", "usleep", "fsync",
        "execv", "execvp", "execve", "gethostname", "getpid", "getppid", "open", "creat", "fcntl", "ioctl",
        "mkdir", "chmod", "stat", "fstat", "lstat", "raise", "kill", "nanosleep", "clock_gettime",
        "gettimeofday",
        // pthread.h
        "pthread_create", "pthread_join", "pthread_detach", "pthread_mutex_init", "pthread_mutex_destroy",
        "pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_unlock", "pthread_cond_init",
        "pthread_cond_destroy", "pthread_cond_wait", "pthread_cond_signal", "pthread_cond_broadcast",
    };

    private static readonly HashSet<string> UnsignedIntResults = new(StringComparer.Ordinal)
    {
        "sleep", "alarm", "getuid", "geteuid", "getgid", "getegid", "umask",
    };

    /// <summary>How the result of the C function <paramref name="symbol"/> becomes a word.</summary>
    public static Width Of(string symbol) =>
        IntResults.Contains(symbol) ? Width.Int : UnsignedIntResults.Contains(symbol) ? Width.UnsignedInt : Width.Word;
}
