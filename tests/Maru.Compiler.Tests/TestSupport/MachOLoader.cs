using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>One command for the test-side Mach-O loader (MachOLoader/macho-loader.c) and what came of it.</summary>
internal sealed class MachOLoaderCommand
{
    private MachOLoaderCommand(string line, bool isLoad, bool capturesOutput)
    {
        Line = line;
        IsLoad = isLoad;
        CapturesOutput = capturesOutput;
    }

    public string Line { get; }
    public bool IsLoad { get; }
    public bool CapturesOutput { get; }

    /// <summary>The loader's answer: "loaded", "= 42", "error ...", or "crash N" / "not run" when the process died first.</summary>
    public string? Answer { get; set; }

    /// <summary>What the call printed on standard output (only for <see cref="Output"/> commands).</summary>
    public string? CapturedOutput { get; set; }

    public long? Result => Answer is { } a && a.StartsWith("= ", StringComparison.Ordinal) ? long.Parse(a[2..], CultureInfo.InvariantCulture) : null;

    public static MachOLoaderCommand Load(string path) =>
        path.Contains('\n') ? throw new ArgumentException("path with a newline", nameof(path)) : new($"load {path}", true, false);

    /// <param name="symbol">The Mach-O symbol (leading underscore included).</param>
    public static MachOLoaderCommand Call(string symbol, IEnumerable<long> arguments) =>
        new($"call {symbol}{Arguments(arguments)}", false, false);

    public static MachOLoaderCommand Output(string symbol, IEnumerable<long> arguments) =>
        new($"output ID {symbol}{Arguments(arguments)}", false, true);

    /// <summary>Asks for the protections the kernel gives each segment of the loaded image (after fixups).</summary>
    public static MachOLoaderCommand Protections() => new("protections", false, false);

    /// <summary>For <see cref="Protections"/>: each segment's observed permissions ("r-x", "r--", "rw-"; "mixed" if its pages differ).</summary>
    public Dictionary<string, string> SegmentProtections()
    {
        var words = Answer?.Split(' ') ?? [];
        if (words.Length < 1 || words[0] != "protections" || words.Length % 2 != 1)
            throw new AssertFailedException($"not a protections answer: {this}");
        var result = new Dictionary<string, string>();
        for (var i = 1; i < words.Length; i += 2) result[words[i]] = words[i + 1];
        return result;
    }

    private static string Arguments(IEnumerable<long> arguments) =>
        string.Concat(arguments.Select(a => " " + a.ToString(CultureInfo.InvariantCulture)));

    public override string ToString() => $"{Line} -> {Answer}";
}

/// <summary>
/// Runs Mach-O dylibs on this Linux machine through the test-side loader (MachOLoader/macho-loader.c,
/// built here with gcc for osx-x64 and aarch64-linux-gnu-gcc for osx-arm64, which runs under
/// qemu-aarch64). Commands are batched: one loader process runs a whole list of loads and calls,
/// so process start-ups (qemu's especially) do not dominate. A crash of compiled code ends the
/// process; the batch resumes after the crashed library with a fresh process.
/// </summary>
internal static class MachOLoader
{
    private static readonly Dictionary<TargetArchitecture, string> Built = [];
    private static readonly object BuildLock = new();

    /// <summary>Why dylibs of <paramref name="target"/> cannot be run here, or null when they can.</summary>
    public static string? Unavailable(TargetPlatform target) => target.Architecture switch
    {
        TargetArchitecture.X64 when !(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64)
            => "osx-x64 dylibs run natively only on linux-x64",
        TargetArchitecture.X64 when !ExternalTool.Exists("gcc") => "gcc not installed",
        TargetArchitecture.Arm64 when !ExternalTool.Exists("aarch64-linux-gnu-gcc") => "aarch64-linux-gnu-gcc not installed (gcc-aarch64-linux-gnu)",
        TargetArchitecture.Arm64 when !ExternalTool.Exists("qemu-aarch64") => "qemu-aarch64 not installed (qemu-user)",
        _ => null,
    };

    public static void RequireAvailable(TargetPlatform target)
    {
        if (Unavailable(target) is { } reason)
            ExternalTool.MissingTool(reason);
    }

    /// <summary>Runs every command in order, filling in each one's answer.</summary>
    public static void Run(TargetPlatform target, IReadOnlyList<MachOLoaderCommand> commands)
    {
        var loader = Build(target.Architecture);
        var start = 0;
        while (start < commands.Count)
        {
            var batch = commands.Skip(start).ToList();
            var script = new StringBuilder();
            for (var i = 0; i < batch.Count; i++)
                script.Append(batch[i].Line.Replace("output ID ", $"output {i} ", StringComparison.Ordinal)).Append('\n');
            var result = target.Architecture == TargetArchitecture.Arm64
                ? ExternalTool.Run("qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", loader], TimeSpan.FromMinutes(5), standardInput: script.ToString())
                : ExternalTool.Run(loader, [], TimeSpan.FromMinutes(5), standardInput: script.ToString());
            var answers = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var outputs = Regex.Matches(result.StandardOutput, "\u0002BEGIN (\\d+)\u0002(.*?)\u0002END \\1\u0002", RegexOptions.Singleline)
                .ToDictionary(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => m.Groups[2].Value);
            var answered = 0;
            foreach (var answer in answers)
            {
                if (answered == batch.Count) break;
                batch[answered].Answer = answer;
                if (outputs.TryGetValue(answered, out var output)) batch[answered].CapturedOutput = output;
                answered++;
                if (answer.StartsWith("crash", StringComparison.Ordinal)) break;
            }
            if (answered == batch.Count)
            {
                // A crash of the last command ends the process too; anything else must exit cleanly.
                if (result.ExitCode != 0 && !batch[^1].Answer!.StartsWith("crash", StringComparison.Ordinal))
                    throw new InvalidOperationException($"the Mach-O loader failed after answering everything:\n{result}");
                return;
            }
            // The process died at command `answered`: that command crashed (or never ran); its library's
            // remaining commands are not run, and a fresh process continues with the next library.
            if (batch[answered].Answer is null)
                batch[answered].Answer = answers.Length > answered ? answers[answered] : $"crash (exit code {result.ExitCode}: {result.StandardError.Trim()})";
            var next = answered + 1;
            while (next < batch.Count && !batch[next].IsLoad)
                batch[next++].Answer = "not run: an earlier call crashed";
            start += next;
        }
    }

    /// <summary>The loader for <paramref name="architecture"/>, compiled once per test run.</summary>
    private static string Build(TargetArchitecture architecture)
    {
        lock (BuildLock)
        {
            if (Built.TryGetValue(architecture, out var existing)) return existing;
            var source = Path.Combine(AppContext.BaseDirectory, "TestSupport", "MachOLoader", "macho-loader.c");
            var directory = Directory.CreateTempSubdirectory("maru-macho-loader-").FullName;
            var output = Path.Combine(directory, architecture == TargetArchitecture.Arm64 ? "macho-loader-arm64" : "macho-loader-x64");
            var compiler = architecture == TargetArchitecture.Arm64 ? "aarch64-linux-gnu-gcc" : "gcc";
            var build = ExternalTool.Run(compiler, ["-O1", "-Wall", "-Wextra", "-Werror", "-o", output, source, "-ldl", "-lpthread"]);
            Assert.AreEqual(0, build.ExitCode, build.ToString());
            Built[architecture] = output;
            return output;
        }
    }
}
