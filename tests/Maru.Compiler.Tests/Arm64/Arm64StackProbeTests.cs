using System.Text.RegularExpressions;
using System.Text;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using Maru.Differential;

namespace Maru.Compiler.Tests.Arm64;

/// <summary>
/// Stack-clash safety on AArch64 (the x86-64 twin is StackProbeTests): a frame larger than a
/// page is reserved page by page, each page touched (a store at the new sp) as sp reaches it, so
/// no prologue moves sp over a guard page. Checked on llvm-objdump's disassembly of the library
/// and by running the code under qemu.
/// </summary>
[TestClass]
public sealed partial class Arm64StackProbeTests
{
    /// <summary>A function with <paramref name="locals"/> let-bound values: at O0 each has its own stack slot.</summary>
    private static string ManyLocals(string name, int locals)
    {
        var source = new StringBuilder($"(define-function {name} (x) (let (");
        for (var i = 0; i < locals; i++) source.Append($"(v{i} (+ x {i})) ");
        source.Append($") (+ v0 v{locals - 1})))\n");
        return source.ToString();
    }

    /// <summary>llvm-objdump's instructions of each function of the library (whitespace collapsed).</summary>
    private static Dictionary<string, List<string>> Disassemble(string library)
    {
        LlvmMc.Require(LlvmMc.Objdump);
        var dump = ExternalTool.Run(LlvmMc.Objdump, ["-d", "--no-show-raw-insn", library], TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, dump.ExitCode, dump.ToString());
        var functions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var line in dump.StandardOutput.Split('\n'))
        {
            if (FunctionHeader().Match(line) is { Success: true } header) functions[header.Groups[1].Value] = current = [];
            else if (current is not null && InstructionLine().Match(line) is { Success: true } instruction)
                current.Add(Regex.Replace(instruction.Groups[1].Value.Split("//")[0].Trim(), @"\s+", " "));
        }
        return functions;
    }

    [GeneratedRegex(@"^[0-9a-f]+ <([^>]+)>:")]
    private static partial Regex FunctionHeader();

    [GeneratedRegex(@"^\s*[0-9a-f]+:\s+(\S.*)$")]
    private static partial Regex InstructionLine();

    /// <summary>The bytes an instruction moves sp down by (sub sp, sp, #imm{, lsl #12}), or null.</summary>
    private static long? SpDecrement(string instruction)
    {
        var match = Regex.Match(instruction, @"^sub sp, sp, #(\d+)(, lsl #12)?$");
        if (!match.Success) return null;
        var value = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return match.Groups[2].Success ? value << 12 : value;
    }

    [TestMethod]
    public void FramesLargerThanAPageAreProbedPageByPageAndRun()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        // 8,000 slots (a 64 KB frame: a loop), 1,500 (12 KB: unrolled probes), a small frame (no probe).
        var source = ManyLocals("huge", 8000) + ManyLocals("medium", 1500) + "(define-function small (x) (let ((a (+ x 1))) (* a 2)))\n";
        var result = MaruCompiler.Compile([new SourceFile("frames.l", source)], new CompilationOptions
        {
            Target = TargetPlatform.LinuxArm64, LibraryName = "frames", Optimisation = OptimisationLevel.O0,
        });
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var work = Directory.CreateTempSubdirectory("maru-arm64-probe-").FullName;
        try
        {
            var library = Path.Combine(work, "libframes.so");
            File.WriteAllBytes(library, result.Library!);
            var functions = Disassemble(library);
            foreach (var (name, slots) in new[] { ("huge", 8000), ("medium", 1500) })
            {
                var code = functions[name];
                var listing = string.Join("\n", code);
                var decrements = code.Select(SpDecrement).ToList();
                // Never more than a page at once, and every page-sized step touches the new top of the stack.
                Assert.IsTrue(decrements.All(d => d is null or <= 4096), listing);
                for (var i = 0; i < code.Count; i++)
                    if (decrements[i] == 4096)
                        Assert.AreEqual("str xzr, [sp]", i + 1 < code.Count ? code[i + 1] : "", $"{name}: sub sp at {i} is not followed by a probe\n{listing}");
                var loop = code.FindIndex(i => i.StartsWith("subs x16, x16, #1", StringComparison.Ordinal));
                if (name == "huge")
                {
                    Assert.IsGreaterThanOrEqualTo(0, loop, "a frame this large probes in a loop\n" + listing);
                    StringAssert.StartsWith(code[loop + 1], "b.ne", listing);
                    // The loop's count (mov x16, #n) plus the unrolled pages and the rest cover the slots.
                    var count = code.Select(i => Regex.Match(i, @"^mov x16, #(\d+)$")).First(m => m.Success);
                    var pages = long.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    var total = 4096 * (pages + decrements.Count(d => d == 4096) - 1) + decrements.Where(d => d < 4096).Sum(d => d!.Value);
                    Assert.IsGreaterThanOrEqualTo(8L * slots, total, listing);
                }
                else
                {
                    Assert.AreEqual(-1, loop, listing);
                    Assert.IsGreaterThanOrEqualTo(2, decrements.Count(d => d == 4096), listing);
                }
            }
            Assert.IsFalse(functions["small"].Contains("str xzr, [sp]"), string.Join("\n", functions["small"]));

            var calls = new List<QemuCall> { new(library, "huge", [5]), new(library, "medium", [1]), new(library, "small", [5]) };
            var results = QemuArm64.Run(calls);
            long[] expected = [5 + 5 + 7999, 1 + 1 + 1499, 12];
            for (var i = 0; i < calls.Count; i++)
                Assert.AreEqual(expected[i], results[i].Value, $"{calls[i].Function}: {results[i].Error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
