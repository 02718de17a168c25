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
}
