using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Chains of leading tests that each return a constant or a parameter (EarlyExit): O1 runs them on
/// the argument registers before the prologue. Memoised recursions whose base cases are an or of
/// zero tests (branches on the parameters themselves) and three comparisons with different
/// values; results compared with C# models at O0 and O1 on x86-64 and under qemu on AArch64, and
/// the x86-64 code checked to test both parameters before it saves a register.
/// </summary>
[TestClass]
public sealed class EarlyExitChainTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function paths (memo r c w)
          (cond ((or (= r 0) (= c 0)) 1)
                ((oop-at memo (+ (* r w) c)) (oop-at memo (+ (* r w) c)))
                (else (let ((v (+ (paths memo (- r 1) c w) (paths memo r (- c 1) w)))) (set-oop-at memo (+ (* r w) c) v) v))))
        (define-function grid (memo r c w)
          (cond ((< r 1) 1) ((= c 0) w) ((> c r) r)
                ((oop-at memo (+ (* r w) c)) (oop-at memo (+ (* r w) c)))
                (else (let ((v (+ (grid memo (- r 1) c w) (* 3 (grid memo r (- c 1) w))))) (set-oop-at memo (+ (* r w) c) v) v))))
        (define-function run (which r c)
          (let ((m (malloc (* 8 (* (+ r 1) (+ c 1))))) (v 0))
            (for (i 0 (* (+ r 1) (+ c 1))) (set-oop-at m i 0))
            (set v (if (= which 0) (paths m r c (+ c 1)) (grid m r c (+ c 1))))
            (free m)
            v))
        """;

    private static long Paths(long r, long c, Dictionary<(long, long), long> memo)
    {
        if (r == 0 || c == 0) return 1;
        if (memo.TryGetValue((r, c), out var known) && known != 0) return known;
        var v = unchecked(Paths(r - 1, c, memo) + Paths(r, c - 1, memo));
        memo[(r, c)] = v;
        return v;
    }

    private static long Grid(long r, long c, long w, Dictionary<(long, long), long> memo)
    {
        if (r < 1) return 1;
        if (c == 0) return w;
        if (c > r) return r;
        if (memo.TryGetValue((r, c), out var known) && known != 0) return known;
        var v = unchecked(Grid(r - 1, c, w, memo) + 3 * Grid(r, c - 1, w, memo));
        memo[(r, c)] = v;
        return v;
    }

    private static readonly (long Which, long R, long C)[] Arguments =
        [.. new long[] { 0, 1 }.SelectMany(which => new (long, long)[] { (0, 0), (0, 5), (5, 0), (1, 1), (3, 4), (9, 9), (30, 12) }.Select(rc => (which, rc.Item1, rc.Item2)))];

    private static long Expected((long Which, long R, long C) a) =>
        a.Which == 0 ? Paths(a.R, a.C, new()) : Grid(a.R, a.C, a.C + 1, new());

    [TestMethod]
    public void SameResultsAtO0AndO1OnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Arguments.Select(a => ("run", new[] { a.Which, a.R, a.C }, Expected(a))));

    [TestMethod]
    public void BothBaseCasesAreTestedBeforeAnyRegisterIsSaved()
    {
        foreach (var function in new[] { "paths", "grid" })
        {
            var result = MaruCompiler.Compile([new SourceFile("chains.l", Source)], new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "test" });
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            var code = X64Disassembly.Decode(result, function);
            var firstPush = code.FindIndex(i => i.Mnemonic == Iced.Intel.Mnemonic.Push);
            var returns = code.Take(firstPush < 0 ? code.Count : firstPush).Count(i => i.Mnemonic == Iced.Intel.Mnemonic.Ret);
            Assert.IsGreaterThanOrEqualTo(2, returns, $"{function}: its base cases return before the prologue\n{string.Join("\n", code)}");
        }
    }

    [TestMethod]
    public void SameResultsOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(Source, Arguments.Select(a => new Arm64Case("run", [a.Which, a.R, a.C], Expected(a))).ToList());
}
