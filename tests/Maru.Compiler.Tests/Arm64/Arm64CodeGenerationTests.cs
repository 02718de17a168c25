using System.Text;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Differential;
using QemuArm64 = Maru.Differential.QemuArm64;
using QemuCall = Maru.Differential.QemuCall;

namespace Maru.Compiler.Tests.Arm64;

/// <summary>
/// AArch64 code generation beyond what small programs reach, executed under qemu: a loop whose
/// body is more than 1 MiB of code (conditional branches beyond ±1 MiB), an O0 frame far beyond
/// the scaled 12-bit offsets of ldr/str (spill slots addressed through a computed address), wide
/// constants, ten-argument calls, and the listing of an arm64 library.
/// </summary>
[TestClass]
public sealed class Arm64CodeGenerationTests
{
    private static byte[] Compile(string source, OptimisationLevel level, bool listing = false, string? name = null)
    {
        var result = MaruCompiler.Compile([new SourceFile(name ?? "arm64.l", source)], new CompilationOptions
        {
            Target = TargetPlatform.LinuxArm64, LibraryName = "test", Optimisation = level, VerifyIr = true, ProduceListing = listing,
        });
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        return result.Library!;
    }

    [TestMethod]
    public void FarBranchesLargeFramesAndWideConstantsRun()
    {
        if (!QemuArm64.Available) Assert.Inconclusive(QemuArm64.Missing);
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
            """;
        long expectedHuge = 0, expectedBig = 0;
        for (var k = 0; k < 20_000; k++) expectedHuge += (k % 7 + 1) * (0 + 1 + 2);
        for (var i = 0; i < 3000; i++) expectedBig = unchecked(expectedBig + (7 - i % 97) * (100 % (i % 13 + 1)));
        static long Many(params long[] v) => v.Select((x, k) => (k + 1) * x).Sum();
        var expectedMany = Many(11, 2, 3, 4, 5, 6, 7, 8, 9, 10) - Many(1, 11, 3, 4, 5, 6, 7, 8, 9, 11);

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

    [TestMethod]
    public void TheListingShowsTheLibrarysWordsWithTheSource()
    {
        const string Source = "(define twice (lambda (x)\n  (* x 2)))\n";
        var result = MaruCompiler.Compile([new SourceFile("twice.l", Source)], new CompilationOptions
        {
            Target = TargetPlatform.LinuxArm64, LibraryName = "test", ProduceListing = true,
        });
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var listing = result.Listing!;
        StringAssert.Contains(listing, "twice:");
        StringAssert.Contains(listing, "twice.l:2: (* x 2)))");
        // Every listed word is in the library's text (the listing reads the final, patched code).
        var library = result.Library!;
        foreach (var line in listing.Split('\n').Where(l => l.Contains(".inst", StringComparison.Ordinal)))
        {
            var word = Convert.ToUInt32(line[(line.IndexOf("0x", StringComparison.Ordinal) + 2)..].Trim(), 16);
            var bytes = BitConverter.GetBytes(word);
            Assert.IsGreaterThanOrEqualTo(0, library.AsSpan().IndexOf(bytes), line);
        }
    }
}
