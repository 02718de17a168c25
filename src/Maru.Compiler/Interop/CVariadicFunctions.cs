namespace Maru.Compiler.Interop;

/// <summary>
/// The standard C library's variadic functions, by name, with the number of fixed parameters
/// before the "...". ABIs pass variadic arguments differently from fixed ones (Apple arm64 puts
/// every variadic argument on the stack; SysV x86-64 wants al set), so a call through an extern
/// carries this count to the backend. Functions not listed are declared with
/// <c>(extern 'name N)</c> (docs/language.md).
/// </summary>
public static class CVariadicFunctions
{
    private static readonly Dictionary<string, int> Fixed = new(StringComparer.Ordinal)
    {
        // stdio
        ["printf"] = 1, ["fprintf"] = 2, ["dprintf"] = 2, ["sprintf"] = 2, ["snprintf"] = 3, ["asprintf"] = 2,
        ["scanf"] = 1, ["fscanf"] = 2, ["sscanf"] = 2,
        // wide characters
        ["wprintf"] = 1, ["fwprintf"] = 2, ["swprintf"] = 3, ["wscanf"] = 1, ["fwscanf"] = 2, ["swscanf"] = 2,
        // POSIX files and processes
        ["open"] = 2, ["openat"] = 3, ["fcntl"] = 2, ["ioctl"] = 2,
        ["execl"] = 2, ["execlp"] = 2, ["execle"] = 2,
        ["mq_open"] = 2, ["sem_open"] = 2, ["semctl"] = 3, ["prctl"] = 1, ["ptrace"] = 1, ["syscall"] = 1, ["ulimit"] = 1,
        // logging and errors
        ["syslog"] = 2, ["err"] = 2, ["errx"] = 2, ["warn"] = 1, ["warnx"] = 1, ["error"] = 3,
    };

    /// <summary>The number of fixed parameters of a known variadic C function, or null for one not known to be variadic.</summary>
    public static int? FixedParameters(string name) => Fixed.TryGetValue(name, out var count) ? count : null;

    /// <summary>Every known variadic function, for the documentation and tests.</summary>
    public static IReadOnlyDictionary<string, int> Known => Fixed;
}
