using System.Globalization;
using System.Text.RegularExpressions;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// The independent AArch64 assembler tests compare our encodings with: many instructions in one
/// <c>llvm-mc-15 -triple=aarch64 -show-encoding</c> run. Each line gives one instruction; the
/// result for line i is its 32-bit word, or null when llvm-mc rejected it (its error text in
/// <see cref="Errors"/>).
/// </summary>
internal static partial class LlvmMc
{
    public const string Tool = "llvm-mc-15";

    /// <summary>Fails the test clearly (CI installs llvm-15) when a tool is missing.</summary>
    public static void Require(string tool)
    {
        if (!ExternalTool.Exists(tool))
            Assert.Fail($"{tool} is not installed: apt-get install llvm-15 (.ci/run installs it)");
    }

    public sealed record Batch(IReadOnlyList<uint?> Words, IReadOnlyDictionary<int, string> Errors);

    public static Batch AssembleArm64(IReadOnlyList<string> lines)
    {
        Require(Tool);
        if (lines.Any(l => l.Contains('\n') || string.IsNullOrWhiteSpace(l)))
            throw new ArgumentException("one instruction per line", nameof(lines));
        using var source = new TemporaryFile("batch.s", System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
        var result = ExternalTool.Run(Tool, ["-triple=aarch64", "-show-encoding", source.Path], TimeSpan.FromMinutes(5));

        // Errors name their line: "batch.s:12:5: error: ...". Every other line yields one encoding, in order.
        var errors = new Dictionary<int, string>();
        foreach (Match match in ErrorLine().Matches(result.StandardError))
            errors.TryAdd(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) - 1, match.Groups[2].Value);
        var encodings = EncodingComment().Matches(result.StandardOutput)
            .Select(m => m.Groups[1].Value.Split(',').Select(b => Convert.ToByte(b.Trim(), 16)).ToArray())
            .ToList();
        var words = new uint?[lines.Count];
        var next = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (errors.ContainsKey(i)) continue;
            if (next >= encodings.Count)
                Assert.Fail($"llvm-mc gave fewer encodings than lines\n{result}");
            var bytes = encodings[next++];
            Assert.AreEqual(4, bytes.Length, $"line {i + 1}: {lines[i]}");
            words[i] = BitConverter.ToUInt32(bytes);
        }
        Assert.AreEqual(encodings.Count, next, "llvm-mc gave more encodings than lines");
        return new Batch(words, errors);
    }

    [GeneratedRegex(@"^[^\n]*?batch\.s:(\d+):\d+: error: ([^\n]*)", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    [GeneratedRegex(@"encoding: \[([^\]]*)\]")]
    private static partial Regex EncodingComment();

    public const string Objdump = "llvm-objdump-15";

    /// <summary>
    /// llvm-objdump's text for each word, as if the words were code at address 0: the words go
    /// through llvm-mc (<c>.inst</c>) into an object file, which llvm-objdump disassembles.
    /// Whitespace is collapsed and the symbolic comments (<c>&lt;sym+0x10&gt;</c>, <c>// =4096</c>) dropped.
    /// </summary>
    public static IReadOnlyList<string> DisassembleArm64(IReadOnlyList<uint> words)
    {
        Require(Tool);
        Require(Objdump);
        var text = string.Join('\n', words.Select(w => $".inst 0x{w:x8}")) + "\n";
        using var source = new TemporaryFile("words.s", System.Text.Encoding.UTF8.GetBytes(text));
        var objectFile = Path.Combine(source.Directory, "words.o");
        var assembled = ExternalTool.Run(Tool, ["-triple=aarch64", "-filetype=obj", source.Path, "-o", objectFile], TimeSpan.FromMinutes(5));
        Assert.AreEqual(0, assembled.ExitCode, assembled.ToString());
        var dump = ExternalTool.Run(Objdump, ["-d", "--no-show-raw-insn", objectFile], TimeSpan.FromMinutes(5));
        Assert.AreEqual(0, dump.ExitCode, dump.ToString());
        var lines = new List<string>();
        foreach (var line in dump.StandardOutput.Split('\n'))
        {
            var match = DisassemblyLine().Match(line);
            if (!match.Success) continue;
            var instruction = match.Groups[1].Value;
            instruction = SymbolComment().Replace(instruction, "");
            var comment = instruction.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0) instruction = instruction[..comment];
            lines.Add(Whitespace().Replace(instruction.Trim(), " "));
        }
        Assert.HasCount(words.Count, lines, "one disassembled line per word");
        return lines;
    }

    [GeneratedRegex(@"^\s*[0-9a-f]+:\s+(\S.*)$")]
    private static partial Regex DisassemblyLine();

    [GeneratedRegex(@"\s*<[^>]*>")]
    private static partial Regex SymbolComment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
