using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Maru.Compiler.Interop;

namespace Maru.Differential;

/// <summary>One command of a <see cref="QemuArm64"/> batch (symbols by their exported names).</summary>
public abstract record LoaderCommand
{
    /// <summary>dlopen a library; later calls and peeks use it.</summary>
    public sealed record Load(string Path) : LoaderCommand;

    /// <summary>Call an exported function with up to 10 integer arguments.</summary>
    public sealed record Call(string Function, params long[] Arguments) : LoaderCommand;

    /// <summary>Read the 64-bit word at an exported data symbol.</summary>
    public sealed record Peek(string Symbol) : LoaderCommand;

    internal string ToLine() => this switch
    {
        Load l => $"load {l.Path}",
        Call c => string.Join(' ', ["call", c.Function, .. c.Arguments.Select(a => a.ToString(CultureInfo.InvariantCulture))]),
        Peek p => $"peek {p.Symbol}",
        _ => throw new InvalidOperationException(),
    };
}

/// <summary>
/// The answer to one command: <see cref="Value"/> (a call's result, a peeked word) when
/// <see cref="Kind"/> is "ok"; "error" with <see cref="Message"/> (dlopen/dlsym failed, or the
/// batch stopped before the command); "signal" when the call crashed (<see cref="Value"/> is the
/// signal number; the loader goes on). <see cref="Output"/> is what the call wrote to stdout.
/// </summary>
public sealed record LoaderResult(string Kind, long Value, string Message, string Output)
{
    public bool IsOk => Kind == "ok";
}

/// <summary>One call of a compiled function in a batch: the library, the Maru name and the arguments.</summary>
public sealed record QemuCall(string Library, string Function, IReadOnlyList<long> Arguments);

/// <summary>What a call did under qemu: its result and what it printed, or why it did not run.</summary>
public sealed record QemuResult(long? Value, string Output, string? Error);

/// <summary>
/// Runs linux-arm64 libraries on this x86-64 machine, for the tests and the differential console
/// runner alike: a small C loader (Arm64Loader/maru-loader.c, embedded), built with
/// aarch64-linux-gnu-gcc once (cached in the temp folder by the hash of its source), runs under
/// <c>qemu-aarch64 -L /usr/aarch64-linux-gnu</c> and executes a whole batch of commands (many
/// libraries, many calls) per process start, so qemu's start-up does not dominate. Calls run on a
/// 1 GiB stack; a crashing call is reported (its signal) and the batch goes on; each call's
/// output is captured apart from the protocol.
/// </summary>
public static class QemuArm64
{
    public const string Qemu = "qemu-aarch64";
    public const string Compiler = "aarch64-linux-gnu-gcc";
    public const string Sysroot = "/usr/aarch64-linux-gnu";

    public const string Missing = "qemu-aarch64 or aarch64-linux-gnu-gcc missing: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross (.ci/run installs them)";

    private static readonly Lazy<string> s_loader = new(BuildLoader, LazyThreadSafetyMode.ExecutionAndPublication);

    public static bool Available => ExternalTool.Exists(Qemu) && ExternalTool.Exists(Compiler) && Directory.Exists(Path.Combine(Sysroot, "lib"));

    /// <summary>Runs the commands in one loader process; one result per command, in order.</summary>
    public static IReadOnlyList<LoaderResult> Run(IReadOnlyList<LoaderCommand> commands, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var input = string.Concat(commands.Select(c => c.ToLine() + "\n"));
        var run = ExternalTool.Run(Qemu, ["-L", Sysroot, s_loader.Value], timeout ?? TimeSpan.FromMinutes(5), standardInput: input);
        var results = Parse(run.StandardOutput);
        while (results.Count < commands.Count)
            results.Add(new LoaderResult("error", 0, $"not run: the batch stopped (exit code {run.ExitCode}) {run.StandardError.Trim()}", ""));
        return results;
    }

    /// <summary>Calls Maru functions (by their Maru names), loading each library when the calls move on to it.</summary>
    public static IReadOnlyList<QemuResult> Run(IReadOnlyList<QemuCall> calls, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var commands = new List<LoaderCommand>();
        var callAt = new List<int>();
        string? current = null;
        foreach (var call in calls)
        {
            if (call.Library != current)
            {
                commands.Add(new LoaderCommand.Load(call.Library));
                current = call.Library;
            }
            callAt.Add(commands.Count);
            commands.Add(new LoaderCommand.Call(SymbolNames.ToSymbolName(call.Function), [.. call.Arguments]));
        }
        var results = Run(commands, timeout);
        var answers = new List<QemuResult>(calls.Count);
        foreach (var at in callAt)
        {
            var result = results[at];
            answers.Add(result.Kind switch
            {
                "ok" => new QemuResult(result.Value, result.Output, null),
                "signal" => new QemuResult(null, result.Output, $"the call crashed with signal {result.Value}"),
                _ => new QemuResult(null, result.Output, result.Message + LoadError(commands, results, at)),
            });
        }
        return answers;
    }

    /// <summary>Why the library of the call at <paramref name="at"/> is missing, when its load failed.</summary>
    private static string LoadError(List<LoaderCommand> commands, IReadOnlyList<LoaderResult> results, int at)
    {
        for (var i = at - 1; i >= 0; i--)
            if (commands[i] is LoaderCommand.Load load)
                return results[i].IsOk ? "" : $" (loading {load.Path}: {results[i].Message})";
        return "";
    }

    /// <summary>The protocol: "@@ kind length value\n" then length bytes of captured output.</summary>
    private static List<LoaderResult> Parse(string output)
    {
        var results = new List<LoaderResult>();
        var bytes = Encoding.UTF8.GetBytes(output);
        var position = 0;
        while (position < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', position);
            if (end < 0) break;
            var header = Encoding.UTF8.GetString(bytes, position, end - position);
            if (!header.StartsWith("@@ ", StringComparison.Ordinal)) throw new FormatException($"unexpected loader output '{header}'");
            var parts = header.Split(' ', 4);
            var length = int.Parse(parts[2], CultureInfo.InvariantCulture);
            var captured = Encoding.UTF8.GetString(bytes, end + 1, length);
            position = end + 1 + length;
            var value = parts[1] == "error" ? 0 : long.Parse(parts[3], CultureInfo.InvariantCulture);
            results.Add(new LoaderResult(parts[1], value, parts[1] == "error" ? parts[3] : "", captured));
        }
        return results;
    }

    private static string BuildLoader()
    {
        using var stream = typeof(QemuArm64).Assembly.GetManifestResourceStream("maru-loader.c")
            ?? throw new InvalidOperationException("the arm64 loader's source is not embedded");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var source = memory.ToArray();
        var hash = Convert.ToHexString(SHA256.HashData(source))[..16].ToLowerInvariant();
        var directory = Path.Combine(Path.GetTempPath(), $"maru-arm64-loader-{hash}");
        var loader = Path.Combine(directory, "maru-loader");
        if (File.Exists(loader)) return loader;
        Directory.CreateDirectory(directory);
        var unique = Guid.NewGuid().ToString("N");
        var sourcePath = Path.Combine(directory, $"maru-loader-{unique}.c");
        File.WriteAllBytes(sourcePath, source);
        var temporary = loader + "." + unique;
        var build = ExternalTool.Run(Compiler, ["-O2", "-Wall", "-o", temporary, sourcePath, "-ldl", "-lpthread"], TimeSpan.FromMinutes(3));
        if (build.ExitCode != 0) throw new InvalidOperationException("building the arm64 loader failed\n" + build.StandardError);
        File.Move(temporary, loader, overwrite: true); // atomic: concurrent runs see a whole file
        File.Delete(sourcePath);
        return loader;
    }
}
