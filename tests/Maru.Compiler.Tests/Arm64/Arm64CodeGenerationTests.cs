using System.Text.RegularExpressions;
using System.Text;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using Maru.Differential;

namespace Maru.Compiler.Tests.Arm64;

/// <summary>
/// AArch64 code generation beyond what small programs reach, executed under qemu: a loop whose
/// body is more than 1 MiB of code (conditional branches beyond ±1 MiB), an O0 frame far beyond
/// the scaled 12-bit offsets of ldr/str (spill slots addressed through a computed address), wide
/// constants, ten-argument calls, and the listing of an arm64 library.
/// </summary>
[TestClass]
public sealed partial class Arm64CodeGenerationTests
{
    private static byte[] Compile(string source, OptimisationLevel level, bool listing = false, string? name = null)
    {
        var result = MaruCompiler.Compile([new SourceFile(name ?? "arm64.l", source)], new CompilationOptions
        {
            Target = TargetPlatform.LinuxArm64, LibraryName = "test", Optimisation = level, VerifyIr = true, ProduceListing = listing,
            MaxCompilationTime = CompiledLibrary.TimeLimit,
        });
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        return result.Library!;
    }

    [TestMethod]
    public void FarBranchesLargeFramesAndWideConstantsRun()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        // 20,000 statements in a loop body: well over 1 MiB of O0 code between the loop's test and its end.
        var huge = new StringBuilder("(define huge (lambda (n) (let ((acc 0) (i 0)) (while (< i n)\n");
        for (var k = 0; k < 20_000; k++) huge.Append($"  (set acc (+ acc (* i {k % 7 + 1})))\n");
        huge.Append("  (set i (+ i 1))) acc)))\n");
        // 3,000 statements: about 15,000 values, each in its own O0 slot (a 120 KB frame).
        var big = new StringBuilder("(define big (lambda (a b) (let ((acc 0))\n");
        for (var i = 0; i < 3000; i++) big.Append($"  (set acc (+ acc (* (- a {i % 97}) (% b {i % 13 + 1}))))\n");
        big.Append("  acc)))\n");
        const string Small = """
            (define wide (lambda (x) (if (< x 123456789) (+ x 0x123456789abcdef) (- x -5000000000))))
            (define many (lambda (a b c d e f g h i j) (+ (+ (+ a (* 2 b)) (* 3 c)) (+ (+ (* 4 d) (* 5 e)) (+ (+ (* 6 f) (* 7 g)) (+ (+ (* 8 h) (* 9 i)) (* 10 j)))))))
            (define callmany (lambda (x) (- (many x 2 3 4 5 6 7 8 9 10) (many 1 x 3 4 5 6 7 8 9 x))))
            (define-function exits (a b) (if (< a 1) b (- (exits (- a 1) (+ b 1)) (exits (- a 2) b))))
            (define-function exits0 (a b) (if (< a 2) a (- (exits0 (- a 1) b) (exits0 (- a 2) (+ b 1)))))
            (define-function signs (a) (if (< a 0) (- 0 a) (if (= a 0) 100 (if (>= a 1000) 7 (+ 1 (signs (- a 3)))))))
            """;
        long expectedHuge = 0, expectedBig = 0;
        for (var k = 0; k < 20_000; k++) expectedHuge += (k % 7 + 1) * (0 + 1 + 2);
        for (var i = 0; i < 3000; i++) expectedBig = unchecked(expectedBig + (7 - i % 97) * (100 % (i % 13 + 1)));
        static long Many(params long[] v) => v.Select((x, k) => (k + 1) * x).Sum();
        var expectedMany = Many(11, 2, 3, 4, 5, 6, 7, 8, 9, 10) - Many(1, 11, 3, 4, 5, 6, 7, 8, 9, 11);
        // Early exits tested at the call sites (the exit value in x1, or already in x0), comparisons with zero as cbz/tbnz.
        static long Exits(long a, long b) => a < 1 ? b : Exits(a - 1, b + 1) - Exits(a - 2, b);
        static long Exits0(long a, long b) => a < 2 ? a : Exits0(a - 1, b) - Exits0(a - 2, b + 1);
        static long Signs(long a) => a < 0 ? -a : a == 0 ? 100 : a >= 1000 ? 7 : 1 + Signs(a - 3);

        var work = Directory.CreateTempSubdirectory("maru-arm64-codegen-").FullName;
        try
        {
            var calls = new List<QemuCall>();
            var expected = new List<long>();
            foreach (var level in Enum.GetValues<OptimisationLevel>())
            {
                var library = Path.Combine(work, $"libtest-{level}.so");
                File.WriteAllBytes(library, Compile(huge.ToString() + big + Small, level));
                void Call(string function, long result, params long[] arguments)
                {
                    calls.Add(new QemuCall(library, function, arguments));
                    expected.Add(result);
                }
                Call("huge", expectedHuge, 3);
                Call("big", expectedBig, 7, 100);
                Call("wide", 5 + 0x123456789abcdef, 5);
                Call("wide", 999_999_999 + 5_000_000_000, 999_999_999);
                Call("callmany", expectedMany, 11);
                Call("exits", Exits(15, 3), 15, 3);
                Call("exits0", Exits0(16, 5), 16, 5);
                foreach (var a in new long[] { -5, 0, 2, 3, 999, 1000, 2000 }) Call("signs", Signs(a), a);
            }
            var results = QemuArm64.Run(calls);
            for (var i = 0; i < calls.Count; i++)
                Assert.AreEqual(expected[i], results[i].Value, $"{calls[i].Library} {calls[i].Function}: {results[i].Error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The arm64 listing prints real instructions: each line's text equals llvm-objdump's
    /// disassembly of the bytes the same line shows (one batch), and those bytes are the
    /// library's code (an instruction a relocation completes shows its field still zero, so only
    /// those may differ from the library). The program reaches calls, an import, data, a
    /// function pointer, division, loops and byte access.
    /// </summary>
    [TestMethod]
    public void TheListingsTextIsLlvmObjdumpsDisassemblyOfItsBytes()
    {
        const string Source = """
            (define counter 5)
            (define message "hello")
            (define printf (extern 'printf))
            (define twice (lambda (x)
              (* x 2)))
            (define apply (lambda (f x) (f x)))
            (define work (lambda (n)
              (let ((acc 0) (i 0))
                (while (< i n)
                  (set acc (+ acc (% (apply twice i) 7)))
                  (set acc (+ acc (string-at message (& i 3))))
                  (set acc (+ acc (< acc i)))
                  (set i (+ i 1)))
                (set counter (+ counter acc))
                (printf "%d\n" acc)
                (/ acc 3))))
            """;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var level in Enum.GetValues<OptimisationLevel>())
        {
            var result = MaruCompiler.Compile([new SourceFile("listing.l", Source)], new CompilationOptions
            {
                Target = TargetPlatform.LinuxArm64, LibraryName = "test", ProduceListing = true, Optimisation = level,
            });
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            var listing = result.Listing!;
            StringAssert.Contains(listing, "twice:");
            StringAssert.Contains(listing, "listing.l:5: (* x 2)))");

            var lines = listing.Split('\n').Select(l => InstructionLine().Match(l)).Where(m => m.Success).ToList();
            Assert.IsGreaterThan(30, lines.Count, listing);
            var words = new List<uint>();
            var ours = new List<string>();
            for (var i = 0; i < lines.Count; i++)
            {
                Assert.AreEqual(4 * i, Convert.ToInt32(lines[i].Groups[1].Value, 16), "the listing covers the text in order\n" + listing);
                var bytes = Convert.FromHexString(lines[i].Groups[2].Value);
                words.Add(BitConverter.ToUInt32(bytes));
                var text = lines[i].Groups[3].Value;
                var annotation = text.IndexOf("    ;", StringComparison.Ordinal);
                ours.Add(Regex.Replace((annotation >= 0 ? text[..annotation] : text).Trim(), @"\s+", " "));
            }
            var theirs = LlvmMc.DisassembleArm64(words);
            var differences = Enumerable.Range(0, words.Count).Where(i => ours[i] != theirs[i])
                .Select(i => $"0x{4 * i:x}: ours '{ours[i]}', llvm-objdump '{theirs[i]}'").ToList();
            Assert.IsEmpty(differences, $"[{level}]\n" + string.Join("\n", differences.Take(40)));
            seen.UnionWith(ours.Select(t => t.Split(' ')[0]));

            // The same bytes as the library's code, except fields a relocation completes.
            var elf = new ElfImage(result.Library!);
            var (code, _) = elf.FunctionBytes(Maru.Compiler.Interop.SymbolNames.ToSymbolName("twice"));
            var twiceAt = listing.Split('\n').TakeWhile(l => !l.StartsWith("twice:", StringComparison.Ordinal)).Count();
            var first = InstructionLine().Match(listing.Split('\n').Skip(twiceAt).First(l => InstructionLine().IsMatch(l)));
            var offset = Convert.ToInt32(first.Groups[1].Value, 16);
            for (var k = 0; k < code.Length / 4; k++)
                Assert.AreEqual(BitConverter.ToUInt32(code, 4 * k), words[offset / 4 + k], $"[{level}] twice+{4 * k}");
        }
        foreach (var mnemonic in new[] { "bl", "blr", "adrp", "sdiv", "ldrb", "ret", "b.lt", "cset" })
            Assert.Contains(mnemonic, seen);
    }

    [GeneratedRegex(@"^    ([0-9a-f]{6})  ([0-9a-f]{8})\s+(\S.*)$")]
    private static partial Regex InstructionLine();
}
