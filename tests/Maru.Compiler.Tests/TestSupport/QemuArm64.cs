using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>One command of a <see cref="QemuArm64"/> batch.</summary>
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
/// <see cref="Kind"/> is "ok"; "error" with <see cref="Message"/> (dlopen/dlsym failed);
/// "signal" when the call crashed (<see cref="Value"/> is the signal number; the loader goes on).
/// <see cref="Output"/> is what the call wrote to stdout.
/// </summary>
public sealed record LoaderResult(string Kind, long Value, string Message, string Output)
{
    public bool IsOk => Kind == "ok";
}

/// <summary>
/// Runs arm64 libraries on this x64 machine: a small C loader (TestSupport/Arm64Loader/maru-loader.c),
/// built with aarch64-linux-gnu-gcc once (cached by the hash of its source), runs under
/// <c>qemu-aarch64 -L /usr/aarch64-linux-gnu</c> and executes a whole batch of commands (many
/// libraries, many calls) per process start, so qemu's start-up does not dominate.
/// </summary>
public static class QemuArm64
{
    public const string Qemu = "qemu-aarch64";
    public const string Compiler = "aarch64-linux-gnu-gcc";
    public const string Sysroot = "/usr/aarch64-linux-gnu";

    private static readonly Lazy<string> LoaderPath = new(BuildLoader, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Fails the test clearly when a tool is missing (CI installs them: .ci/run).</summary>
    public static void RequireTools()
    {
        foreach (var (tool, package) in new[] { (Qemu, "qemu-user"), (Compiler, "gcc-aarch64-linux-gnu") })
            if (!ExternalTool.Exists(tool))
                Assert.Fail($"{tool} is not installed: apt-get install {package} libc6-dev-arm64-cross (.ci/run installs it)");
        if (!Directory.Exists(Path.Combine(Sysroot, "lib")))
            Assert.Fail($"{Sysroot} is missing: apt-get install libc6-dev-arm64-cross");
    }

    /// <summary>Runs the commands in one loader process; one result per command, in order.</summary>
    public static IReadOnlyList<LoaderResult> Run(IReadOnlyList<LoaderCommand> commands, TimeSpan? timeout = null)
    {
        RequireTools();
        var input = string.Concat(commands.Select(c => c.ToLine() + "\n"));
        var run = ExternalTool.Run(Qemu, ["-L", Sysroot, LoaderPath.Value], timeout ?? TimeSpan.FromMinutes(5), standardInput: input);
        var results = Parse(run.StandardOutput);
        if (results.Count != commands.Count)
            Assert.Fail($"the loader answered {results.Count} of {commands.Count} commands\n{run}");
        return results;
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
        var source = Path.Combine(AppContext.BaseDirectory, "TestSupport", "Arm64Loader", "maru-loader.c");
        var hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source)))[..16].ToLowerInvariant();
        var directory = Path.Combine(Path.GetTempPath(), $"maru-arm64-loader-{hash}");
        var loader = Path.Combine(directory, "maru-loader");
        if (File.Exists(loader)) return loader;
        Directory.CreateDirectory(directory);
        var temporary = loader + "." + Guid.NewGuid().ToString("N");
        var build = ExternalTool.Run(Compiler, ["-O2", "-Wall", "-o", temporary, source, "-ldl", "-lpthread"], TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        File.Move(temporary, loader, overwrite: true); // atomic: concurrent runs see a whole file
        return loader;
    }
}
