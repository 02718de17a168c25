using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;
using QemuArm64 = Maru.Differential.QemuArm64;
using QemuCall = Maru.Differential.QemuCall;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Many-way conds on one value (dense, sparse, negative, duplicated constants, shadowed cases,
/// ranges mixed with equalities, 64-bit edge constants, nested ifs going on along either edge,
/// classes of one target that become bit tests, at 0, 63 and the 64-bit ends, a scanning loop) run at O0 and O1, natively and on AArch64 under qemu (one batch), and every result
/// equals the C# reference written beside each function; at O1 a dense cond tests far fewer than
/// its cases on any path.
/// </summary>
[TestClass]
public sealed class SwitchLoweringTests
{
    private const string Program = """
        (define-function dense (c)
          (cond ((= c 0) (+ c 100)) ((= c 1) 7) ((= c 2) (* c 5)) ((= c 3) 31) ((= c 4) -4) ((= c 5) 55)
                ((= c 6) 600) ((= c 7) 77) ((= c 8) 8) ((= c 9) 99) ((= c 10) 1010) (else (- 0 c))))
        (define-function backwards (c)
          (cond ((= c 10) 1) ((= c 8) 2) ((= c 6) 3) ((= c 4) 4) ((= c 2) 5) ((= c 0) 6) ((= c 9) 7) ((= c 7) 8) (else 9)))
        (define-function sparse (c)
          (cond ((= c 1000) 1) ((= c 3) 2) ((= c -7) 3) ((= c 65536) 4) ((= c 100) 5) ((= c 42) 6) ((= c 999999) 7) (else 0)))
        (define-function negative (c)
          (cond ((= c -1) 1) ((= c -2) 2) ((= c -3) 3) ((= c -4) 4) ((= c -5) 5) ((= c -6) 6) (else 0)))
        (define-function duplicates (c)
          (cond ((= c 5) 1) ((= c 7) 2) ((= c 5) 3) ((= c 9) 4) ((= c 7) 5) ((= c 11) 6) (else 7)))
        (define-function mixed (c)
          (cond ((and (>= c 10) (<= c 20)) 1) ((= c 15) 2) ((< c 0) 3) ((= c 25) 4) ((> c 100) 5) ((= c 21) 6) ((= c 5) 7)
                ((and (>= c 50) (<= c 60)) 8) ((= c -5) 9) (else 10)))
        (define-function huge (c)
          (cond ((= c 9223372036854775807) 1) ((= c -9223372036854775808) 2) ((= c 1099511627776) 3) ((= c -1125899906842624) 4)
                ((= c 4294967296) 5) ((= c 2147483648) 6) ((= c 0) 7) (else 8)))
        (define-function nested (c)
          (if (= c 3) 30
            (if (!= c 4)
                (if (= c 8) 80 (if (< c -100) -1 (if (= c 6) 60 (if (= c 2) 20 (if (>= c 1000) 1000 0)))))
              40)))
        (define-function odd-small (c) (if (or (= c 1) (= c 3) (= c 5) (= c 7) (= c 9) (= c 1001)) 1 0))
        (define-function blank (c) (if (or (= c 32) (= c 9) (= c 10) (= c 13) (= c 12) (= c 0)) 1 0))
        (define-function classes (c)
          (cond ((= c 32) 1) ((= c 9) 1) ((= c 10) 1) ((= c 13) 1) ((= c 40) 2) ((= c 41) 2) ((= c 44) 2) ((= c 59) 2) ((= c 34) 3) (else 4)))
        (define-function wide (c) (if (or (= c 0) (= c 63) (= c 20) (= c 47) (= c 33)) 5 (if (= c 64) 6 8)))
        (define-function low (c)
          (if (or (= c -70) (= c -7) (= c -40) (= c -9223372036854775808) (= c -9223372036854775801) (= c -9223372036854775745) (= c 1)) 1 0))
        (define-function high (c) (if (or (= c 9223372036854775807) (= c 9223372036854775744) (= c 9223372036854775797) (= c 9223372036854775800) (= c 5)) 1 0))
        (define-function holes (c)
          (cond ((= c 100) 1) ((= c 101) 2) ((= c 103) 3) ((= c 104) 4) ((= c 106) 5) ((= c 107) 6) ((= c 109) 7) ((= c 111) 8) (else 0)))
        (define-function below-zero (c)
          (cond ((= c -8) 1) ((= c -7) 2) ((and (>= c -6) (<= c -4)) 3) ((= c -3) 4) ((= c -1) 5) (else 6)))
        (define-function top (c)
          (cond ((= c 9223372036854775807) 1) ((= c 9223372036854775806) 2) ((= c 9223372036854775805) 3) ((= c 9223372036854775803) 4)
                ((= c 9223372036854775802) 5) (else 6)))
        (define-function bottom (c)
          (cond ((= c -9223372036854775808) 1) ((= c -9223372036854775807) 2) ((= c -9223372036854775806) 3) ((= c -9223372036854775804) 4)
                ((= c -9223372036854775803) 5) (else 6)))
        (define-function two-tables (c)
          (cond ((= c 0) 1) ((= c 1) 2) ((= c 2) 3) ((= c 3) 4) ((= c 4) 5) ((= c 1000) 6) ((= c 1001) 7) ((= c 1002) 8) ((= c 1003) 9)
                ((= c 1005) 10) ((= c 500000) 11) ((< c -50) 12) (else 0)))
        (define-function classify (c) (cond ((= c 0) 3) ((= c 1) 5) ((= c 2) 7) ((= c 3) 11) ((= c 4) 13) ((= c 5) 17) (else 1)))
        (define-function sum-classes (n) (let ((s 0)) (for (i 0 n) (set s (+ s (classify (& i 7))))) s))
        (define-function known-classes (c) (+ c (+ (classify 3) (classify 9))))
        (define-function machine (n)
          (let ((state 0) (acc 0))
            (for (i 0 n)
              (cond ((= state 0) (set acc (+ acc 1)) (set state 3))
                    ((= state 1) (set acc (* acc 3)) (set state 4))
                    ((= state 2) (set acc (- acc 7)) (set state 0))
                    ((= state 3) (set acc (^ acc i)) (set state (& acc 7)))
                    ((= state 4) (set acc (+ acc i)) (set state 2))
                    ((= state 5) (set acc (>> acc 1)) (set state 1))
                    (else (set state (- state 6)))))
            acc))
        (define-function scan (n)
          (let ((sum 0) (x 1))
            (for (i 0 n)
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (let ((c (& (>> x 16) 127)))
                (cond ((= c 32) (set sum (+ sum 1)))
                      ((= c 10) (set sum (+ sum 100)))
                      ((and (>= c 48) (<= c 57)) (set sum (+ sum c)))
                      ((= c 40) (set sum (* sum 3)))
                      ((= c 41) (set sum (- sum 7)))
                      ((and (>= c 97) (<= c 122)) (set sum (^ sum c)))
                      (else (set sum (+ sum 2))))))
            sum))
        """;

    /// <summary>What each function computes, written independently in C#.</summary>
    private static readonly Dictionary<string, Func<long, long>> Reference = new()
    {
        ["dense"] = c => c switch { 0 => c + 100, 1 => 7, 2 => c * 5, 3 => 31, 4 => -4, 5 => 55, 6 => 600, 7 => 77, 8 => 8, 9 => 99, 10 => 1010, _ => unchecked(0 - c) },
        ["backwards"] = c => c switch { 10 => 1, 8 => 2, 6 => 3, 4 => 4, 2 => 5, 0 => 6, 9 => 7, 7 => 8, _ => 9 },
        ["sparse"] = c => c switch { 1000 => 1, 3 => 2, -7 => 3, 65536 => 4, 100 => 5, 42 => 6, 999999 => 7, _ => 0 },
        ["negative"] = c => c is >= -6 and <= -1 ? -c : 0,
        ["duplicates"] = c => c switch { 5 => 1, 7 => 2, 9 => 4, 11 => 6, _ => 7 },
        ["mixed"] = c => c is >= 10 and <= 20 ? 1 : c < 0 ? 3 : c == 25 ? 4 : c > 100 ? 5 : c == 21 ? 6 : c == 5 ? 7 : c is >= 50 and <= 60 ? 8 : 10,
        ["huge"] = c => c switch
        {
            long.MaxValue => 1, long.MinValue => 2, 1099511627776 => 3, -1125899906842624 => 4, 4294967296 => 5, 2147483648 => 6, 0 => 7, _ => 8,
        },
        ["nested"] = c => c == 3 ? 30 : c == 4 ? 40 : c == 8 ? 80 : c < -100 ? -1 : c == 6 ? 60 : c == 2 ? 20 : c >= 1000 ? 1000 : 0,
        ["odd-small"] = c => c is 1 or 3 or 5 or 7 or 9 or 1001 ? 1 : 0,
        ["blank"] = c => c is 32 or 9 or 10 or 13 or 12 or 0 ? 1 : 0,
        ["classes"] = c => c switch { 32 or 9 or 10 or 13 => 1, 40 or 41 or 44 or 59 => 2, 34 => 3, _ => 4 },
        ["wide"] = c => c switch { 0 or 63 or 20 or 47 or 33 => 5, 64 => 6, _ => 8 },
        ["low"] = c => c is -70 or -7 or -40 or long.MinValue or long.MinValue + 7 or long.MinValue + 63 or 1 ? 1 : 0,
        ["high"] = c => c is long.MaxValue or long.MaxValue - 63 or long.MaxValue - 10 or long.MaxValue - 7 or 5 ? 1 : 0,
        ["holes"] = c => c switch { 100 => 1, 101 => 2, 103 => 3, 104 => 4, 106 => 5, 107 => 6, 109 => 7, 111 => 8, _ => 0 },
        ["below-zero"] = c => c switch { -8 => 1, -7 => 2, >= -6 and <= -4 => 3, -3 => 4, -1 => 5, _ => 6 },
        ["top"] = c => c switch { long.MaxValue => 1, long.MaxValue - 1 => 2, long.MaxValue - 2 => 3, long.MaxValue - 4 => 4, long.MaxValue - 5 => 5, _ => 6 },
        ["bottom"] = c => c switch { long.MinValue => 1, long.MinValue + 1 => 2, long.MinValue + 2 => 3, long.MinValue + 4 => 4, long.MinValue + 5 => 5, _ => 6 },
        ["two-tables"] = c => c switch
        {
            0 => 1, 1 => 2, 2 => 3, 3 => 4, 4 => 5, 1000 => 6, 1001 => 7, 1002 => 8, 1003 => 9, 1005 => 10, 500000 => 11, < -50 => 12, _ => 0,
        },
        ["classify"] = Classify,
        ["known-classes"] = c => unchecked(c + 12),
    };

    /// <summary>Loops, called with <see cref="ScanLengths"/>: a scanner, a callee's table inlined into a loop, a state machine.</summary>
    private static readonly Dictionary<string, Func<long, long>> Loops = new()
    {
        ["scan"] = Scan,
        ["sum-classes"] = n => Enumerable.Range(0, (int)n).Sum(i => Classify(i & 7)),
        ["machine"] = Machine,
    };

    private static long Classify(long c) => c switch { 0 => 3, 1 => 5, 2 => 7, 3 => 11, 4 => 13, 5 => 17, _ => 1 };

    private static long Machine(long n)
    {
        long state = 0, acc = 0;
        for (long i = 0; i < n; i++)
        {
            switch (state)
            {
                case 0: acc += 1; state = 3; break;
                case 1: acc = unchecked(acc * 3); state = 4; break;
                case 2: acc = unchecked(acc - 7); state = 0; break;
                case 3: acc ^= i; state = acc & 7; break;
                case 4: acc = unchecked(acc + i); state = 2; break;
                case 5: acc >>= 1; state = 1; break;
                default: state -= 6; break;
            }
        }
        return acc;
    }

    private static long Scan(long n)
    {
        long sum = 0, x = 1;
        for (long i = 0; i < n; i++)
        {
            x = unchecked(x * 1103515245 + 12345) & 2147483647;
            var c = (x >> 16) & 127;
            sum = unchecked(c switch
            {
                32 => sum + 1,
                10 => sum + 100,
                >= 48 and <= 57 => sum + c,
                40 => sum * 3,
                41 => sum - 7,
                >= 97 and <= 122 => sum ^ c,
                _ => sum + 2,
            });
        }
        return sum;
    }

    /// <summary>Every case, one either side of each constant and bound, the 64-bit edges.</summary>
    private static readonly long[] Inputs =
    [
        .. Enumerable.Range(-12, 36).Select(i => (long)i), .. Samples, -101, -100, -99, 24, 25, 26, 41, 42, 43, 49, 50, 51, 59, 60, 61, 99, 100, 101, 102,
        999, 1000, 1001, 65535, 65536, 65537, 999998, 999999, 1000000, 1099511627775, 1099511627776, 1099511627777, -1125899906842624,
        -1125899906842625, -1125899906842623, 4294967295, 4294967296, 4294967297, 2147483647, 2147483648, 2147483649,
        -71, -70, -69, -41, -40, -39, long.MinValue + 6, long.MinValue + 7, long.MinValue + 8, long.MinValue + 62, long.MinValue + 63, long.MinValue + 64,
        long.MaxValue - 64, long.MaxValue - 63, long.MaxValue - 62, long.MaxValue - 11, long.MaxValue - 10, long.MaxValue - 9, long.MaxValue - 7, 46, 47, 48, 62, 63, 64, 127, 128,
        .. Enumerable.Range(98, 16).Select(i => (long)i), .. Enumerable.Range(0, 8).Select(i => long.MaxValue - i), .. Enumerable.Range(0, 8).Select(i => long.MinValue + i),
        998, 1002, 1003, 1004, 1005, 1006, 499999, 500000, 500001, -51, -50, -49, 1L << 32, (1L << 32) + 1, -(1L << 32), 5000,
    ];

    private static readonly long[] ScanLengths = [0, 1, 7, 100, 5000];

    [TestMethod]
    public void EveryConditionalAgreesWithItsReferenceAtBothLevels()
    {
        foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
        {
            using var library = CompiledLibrary.Compile(Program, level);
            foreach (var (name, reference) in Reference)
                foreach (var c in Inputs)
                    Assert.AreEqual(reference(c), library.Call(name, c), $"{level} ({name} {c})");
            foreach (var (name, reference) in Loops)
                foreach (var n in ScanLengths)
                    Assert.AreEqual(reference(n), library.Call(name, n), $"{level} ({name} {n})");
        }
    }

    [TestMethod]
    public void ADenseCondTestsFewerThanHalfItsCasesOnAnyPath()
    {
        var module = Optimise(Program);
        foreach (var (name, cases) in new[] { ("dense", 11), ("sparse", 7), ("huge", 7), ("classes", 9), ("low", 6) })
        {
            var function = Function(module, name);
            var deepest = MostBranchesOnAPath(function);
            Assert.IsLessThanOrEqualTo(cases / 2 + 2, deepest, IrPrinter.Print(function));
        }
    }

    /// <summary>
    /// Dense runs (with holes, negative, at either 64-bit end, a state machine's dispatch, a callee's
    /// table inlined into a loop) become jump tables, two dense runs far apart two tables; sparse
    /// cases and classes of few targets do not; a table inlined with a constant argument folds away.
    /// </summary>
    [TestMethod]
    public void DenseRunsBecomeJumpTablesAndSparseOnesDoNot()
    {
        var module = Optimise(Program);
        int Tables(string name) => Function(module, name).Blocks.Count(b => b.Terminator is Switch);
        foreach (var name in new[] { "dense", "backwards", "holes", "below-zero", "top", "bottom", "classify", "sum-classes", "machine" })
            Assert.AreEqual(1, Tables(name), IrPrinter.Print(Function(module, name)));
        Assert.AreEqual(2, Tables("two-tables"), IrPrinter.Print(Function(module, "two-tables")));
        foreach (var name in new[] { "sparse", "huge", "blank", "odd-small", "wide", "low", "known-classes" })
            Assert.AreEqual(0, Tables(name), IrPrinter.Print(Function(module, name)));
        Assert.AreEqual(0, MostBranchesOnAPath(Function(module, "known-classes")), IrPrinter.Print(Function(module, "known-classes")));
    }

    /// <summary>The libraries holding jump tables (data in the code, no relocation) are valid ELF files: eu-elflint, and llvm-objdump reads them.</summary>
    [TestMethod]
    public void LibrariesWithTablesAreValidElfFiles()
    {
        if (!ExternalTool.Exists("llvm-objdump-15")) ExternalTool.MissingTool("llvm-objdump-15 not installed (llvm-15)");
        foreach (var target in new[] { TargetPlatform.LinuxX64, TargetPlatform.LinuxArm64 })
        {
            var result = MaruCompiler.Compile([new SourceFile("switch.l", Program)],
                new CompilationOptions { Target = target, LibraryName = "switch", Optimisation = OptimisationLevel.O1, VerifyIr = true });
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            using var file = new TemporaryFile("libswitch.so", result.Library!);
            ElfLint.AssertStrictlyValid(file.Path);
            var objdump = ExternalTool.Run("llvm-objdump-15", "-d", "-r", "-T", file.Path);
            Assert.AreEqual(0, objdump.ExitCode, objdump.ToString());
            Assert.AreEqual("", objdump.StandardError.Trim(), objdump.ToString());
        }
    }

    [TestMethod]
    public void EveryConditionalAgreesOnArm64UnderQemu()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var work = Directory.CreateTempSubdirectory("maru-arm64-switch-").FullName;
        try
        {
            var calls = new List<QemuCall>();
            var expected = new List<long>();
            foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
            {
                var result = MaruCompiler.Compile([new SourceFile("switch.l", Program)],
                    new CompilationOptions { Target = TargetPlatform.LinuxArm64, LibraryName = "switch", Optimisation = level, VerifyIr = true });
                Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                var library = Path.Combine(work, $"libswitch-{level}.so");
                File.WriteAllBytes(library, result.Library!);
                foreach (var (name, reference) in Reference)
                    foreach (var c in Inputs)
                    {
                        calls.Add(new QemuCall(library, name, [c]));
                        expected.Add(reference(c));
                    }
                foreach (var (name, reference) in Loops)
                    foreach (var n in ScanLengths)
                    {
                        calls.Add(new QemuCall(library, name, [n]));
                        expected.Add(reference(n));
                    }
            }
            var results = QemuArm64.Run(calls);
            for (var i = 0; i < calls.Count; i++)
                Assert.AreEqual(expected[i], results[i].Value, $"{calls[i].Library} ({calls[i].Function} {calls[i].Arguments[0]}): {results[i].Error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The most conditional branches on one path from the entry of a loop-free function.</summary>
    private static int MostBranchesOnAPath(IrFunction function)
    {
        var depth = new Dictionary<BasicBlock, int>();
        int Deepest(BasicBlock block)
        {
            if (depth.TryGetValue(block, out var known)) return known;
            var below = block.Successors.Select(Deepest).DefaultIfEmpty(0).Max();
            return depth[block] = below + (block.Terminator is Branch or Switch ? 1 : 0);   // a table: its one range check
        }
        return Deepest(function.Blocks[0]);
    }
}
