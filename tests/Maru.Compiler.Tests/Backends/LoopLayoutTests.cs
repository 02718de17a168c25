using Iced.Intel;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.X64Disassembly;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Block layout keeps a loop's staying successor as the fall-through (the exit is the jump), and
/// loop headers are aligned with nops: loops with exits in the middle of their body, nested loops
/// whose inner exit continues the outer loop, and searches with two exits per iteration give the
/// same results at O0 and O1, natively and (one qemu batch) on AArch64; and the sieve's scan of
/// its flags runs at most one taken branch per number, as gcc's does (two before: the loop test
/// jumped forward to the flag test, which jumped back).
/// </summary>
[TestClass]
public sealed class LoopLayoutTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))

        ;; the sieve, inlined into a loop: the flag test sits between the loop test and the body
        (define-function count-primes (limit)
          (let ((flags (malloc (* 8 limit))) (count 0) (i 2))
            (for (j 0 limit) (set-oop-at flags j 1))
            (while (< i limit)
              (when (oop-at flags i)
                (set count (+ count 1))
                (let ((k (* i i)))
                  (while (< k limit) (set-oop-at flags k 0) (set k (+ k i)))))
              (set i (+ i 1)))
            (free flags)
            count))
        (define-function sieve (n) (let ((total 0)) (for (r 0 4) (set total (+ total (count-primes (- n r))))) total))

        ;; a search: two exits per iteration
        (define-function find (n key)
          (let ((a (malloc (* 8 (+ n 1)))) (i 0))
            (for (j 0 n) (set-oop-at a j (% (* j 7) 31)))
            (while (and (< i n) (!= (oop-at a i) key)) (set i (+ i 1)))
            (free a)
            i))

        ;; the longest run of equal values: the inner loop's exit continues the outer loop
        (define-function runs (n)
          (let ((i 0) (longest 0))
            (while (< i n)
              (let ((j i))
                (while (and (< j n) (= (/ j 5) (/ i 5))) (set j (+ j 1)))
                (when (> (- j i) longest) (set longest (- j i)))
                (set i (+ j (& i 1)))
                (when (= i j) (set i (+ i 1)))))
            longest))

        ;; exits from three depths, counted
        (define-function nest (n)
          (let ((c 0) (i 0))
            (while (and (< i n) (< c 100000))
              (let ((j 0))
                (while (< j i)
                  (let ((k j))
                    (while (and (< k i) (!= (% (+ k j) 7) 3)) (set c (+ c 1)) (set k (+ k 1))))
                  (set j (+ j 2))))
              (set i (+ i 1)))
            (+ (* c 1000) i)))
        """;

    private static readonly (string Function, long[] Arguments)[] Calls =
    [
        .. new long[] { 0, 3, 4, 5, 100, 1000 }.Select(n => ("sieve", new[] { n })),
        .. new (long, long)[] { (0, 3), (1, 0), (10, 9), (100, 30), (100, 31), (500, 17) }.Select(c => ("find", new[] { c.Item1, c.Item2 })),
        .. new long[] { 0, 1, 7, 26, 300 }.SelectMany(n => new[] { ("runs", new[] { n }), ("nest", new[] { n }) }),
    ];

    [TestMethod]
    public void SameResultsAtO0AndO1()
    {
        CompiledLibrary.AssertO1AgreesWithO0(Source, Calls, [
            ("sieve", [100], 25 + 25 + 25 + 24),   // 97 is prime: below 98, 99 and 100, not below 97
            ("find", [100, 31], 100),
        ]);
    }

    [TestMethod]
    public void SameResultsAtO0AndO1OnArm64UnderQemu() => Arm64Batch.AssertSameAsX64(Source, Calls);

    [TestMethod]
    public void TheSievesScanTakesOneBranchPerNumber()
    {
        var result = CompiledLibrary.CompileOnly(Source, unroll: false);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        foreach (var function in new[] { "count-primes", "sieve" })
            ScanTakesOneBranchPerNumber(Decode(result, function));
    }

    private static void ScanTakesOneBranchPerNumber(List<MachineInstruction> code)
    {
        var flagTests = Enumerable.Range(0, code.Count).Where(i => IsFlagTest(code[i])).ToList();
        Assert.IsNotEmpty(flagTests, string.Join("\n", code));
        foreach (var test in flagTests)
        {
            var taken = FewestTakenBranchesToTheNextFlagTest(code, test);
            Assert.IsLessThanOrEqualTo(1, taken, $"from the flag test at {code[test].IP:x} (zero flag, the number not prime) to the next\n{string.Join("\n", code.Select(i => $"{i.IP:x} {i}"))}");
        }
    }

    [TestMethod]
    public void FunctionsAndLoopHeadersAreAligned()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var headers = 0;
        foreach (var function in new[] { "count-primes", "sieve", "find", "runs", "nest" })
        {
            var code = Decode(result, function);
            Assert.AreEqual(0UL, code[0].IP % 16, $"{function} (it has a loop) starts at {code[0].IP:x}");
            // An inner loop: a branch back over straight code (no jump, call or return in between),
            // to its first instruction. gcc -O2's rule: a multiple of 16 when at most 10 bytes of
            // nops reach it, else of 8.
            foreach (var branch in code.Where(i => i.FlowControl == FlowControl.ConditionalBranch && i.NearBranchTarget <= i.IP))
            {
                var target = branch.NearBranchTarget;
                if (code.Any(i => i.IP >= target && i.IP < branch.IP && i.FlowControl is FlowControl.UnconditionalBranch or FlowControl.Call or FlowControl.IndirectCall or FlowControl.Return))
                    continue;
                headers++;
                Assert.AreEqual(0UL, target % 8, $"{function}: the loop at {target:x}\n{string.Join("\n", code.Select(i => $"{i.IP:x} {i}"))}");
            }
        }
        Assert.IsGreaterThan(5, headers);
    }

    // Loops entered in their middle (a while whose test is an and of several exits): the block
    // layout puts the loop's body before the test the entry jumps to.
    private const string Scans = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function text (n)
          (let ((b (malloc (+ n 1))))
            (for (k 0 n) (set-string-at b k (+ 46 (& (* k (+ k 3)) 15))))
            b))
        ;; numbers of at most cap digits, summed
        (define-function numbers (n cap)
          (let ((b (text n)) (i 0) (total 0))
            (while (< i n)
              (let ((v 0) (j i))
                (while (and (< j n) (>= (string-at b j) 48) (<= (string-at b j) 57) (< (- j i) cap))
                  (set v (+ (* v 10) (- (string-at b j) 48)))
                  (set j (+ j 1)))
                (set total (+ total v))
                (set i (+ j 1))))
            (free b)
            total))
        ;; runs of bytes below a bound, their lengths weighted
        (define-function runs-below (n bound)
          (let ((b (text n)) (i 0) (total 0))
            (while (< i n)
              (let ((j i))
                (while (and (< j n) (< (string-at b j) bound) (!= (string-at b j) 50)) (set j (+ j 1)))
                (set total (+ (* total 3) (- j i)))
                (set i (+ j 1))))
            (free b)
            total))
        ;; runs of equal bytes of at most 9, one count byte each; inlined into a loop of rounds that change a byte
        (define-function pairs (src n dst)
          (let ((i 0) (o 0))
            (while (< i n)
              (let ((c (string-at src i)) (j (+ i 1)))
                (while (and (< j n) (= (string-at src j) c) (< (- j i) 9)) (set j (+ j 1)))
                (set-string-at dst o (- j i))
                (set o (+ o 1))
                (set i j)))
            o))
        (define-function repeat-pairs (rounds)
          (let ((b (text 256)) (d (malloc 256)) (total 0))
            (for (r 0 rounds)
              (set-string-at b (& (* r 29) 255) (& r 3))
              (set total (+ total (pairs b 256 d))))
            (free b) (free d)
            total))
        """;

    private static long Text(long k) => 46 + ((k * (k + 3)) & 15);

    private static long Numbers(long n, long cap)
    {
        long i = 0, total = 0;
        while (i < n)
        {
            long v = 0, j = i;
            while (j < n && Text(j) >= 48 && Text(j) <= 57 && j - i < cap) { v = v * 10 + Text(j) - 48; j++; }
            total += v;
            i = j + 1;
        }
        return total;
    }

    private static long RunsBelow(long n, long bound)
    {
        long i = 0, total = 0;
        while (i < n)
        {
            var j = i;
            while (j < n && Text(j) < bound && Text(j) != 50) j++;
            total = unchecked(total * 3 + (j - i));
            i = j + 1;
        }
        return total;
    }

    private static long RepeatPairs(long rounds)
    {
        var b = new long[256];
        for (var k = 0; k < 256; k++) b[k] = Text(k);
        long total = 0;
        for (long r = 0; r < rounds; r++)
        {
            b[(r * 29) & 255] = r & 3;
            long i = 0, o = 0;
            while (i < 256)
            {
                long c = b[i], j = i + 1;
                while (j < 256 && b[j] == c && j - i < 9) j++;
                o++;
                i = j;
            }
            total += o;
        }
        return total;
    }

    private static IEnumerable<Arm64Case> ScanCases() =>
        (from n in new long[] { 0, 1, 2, 17, 300 }
        from limit in new long[] { 0, 1, 3, 55, 100 }
        from c in new[] { new Arm64Case("numbers", [n, limit], Numbers(n, limit)), new Arm64Case("runs-below", [n, limit], RunsBelow(n, limit)) }
        select c).Concat(new long[] { 0, 1, 2, 40 }.Select(r => new Arm64Case("repeat-pairs", [r], RepeatPairs(r))));

    [TestMethod]
    public void ScansGiveTheModelsResults()
    {
        using var o0 = CompiledLibrary.Compile(Scans, Maru.Compiler.OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(Scans, Maru.Compiler.OptimisationLevel.O1);
        foreach (var c in ScanCases())
        {
            Assert.AreEqual(c.Expected, o0.Call(c.Function, c.Arguments), $"O0 {c.Function} {string.Join(" ", c.Arguments)}");
            Assert.AreEqual(c.Expected, o1.Call(c.Function, c.Arguments), $"O1 {c.Function} {string.Join(" ", c.Arguments)}");
        }
        Arm64Batch.AssertCalls(Scans, [.. ScanCases()]);
    }

    [TestMethod]
    public void NoPaddingRunsOnEveryTripOfALoop()
    {
        // An innermost loop is the code from a backward branch's target to the branch (no other
        // backward branch's target inside: an inner loop's padding runs once per entry, as gcc's). A nop there that the instruction before it can fall into runs on
        // every trip; the padding belongs before the loop's first instruction in the code instead.
        foreach (var (source, functions) in new[] { (Scans, new[] { "numbers", "runs-below", "text", "repeat-pairs" }), (Source, new[] { "count-primes", "find", "runs", "nest" }) })
        {
            var result = CompiledLibrary.CompileOnly(source);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            foreach (var function in functions)
            {
                var code = Decode(result, function);
                var backward = code.Where(i => i.FlowControl is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch && i.NearBranchTarget <= i.IP).ToList();
                foreach (var branch in backward)
                {
                    var (from, to) = (branch.NearBranchTarget, branch.IP);
                    if (backward.Any(other => other.NearBranchTarget > from && other.NearBranchTarget <= to)) continue;   // a loop starts inside: not innermost
                    for (var k = 1; k < code.Count; k++)
                        if (code[k].IP > from && code[k].IP <= to && code[k].Mnemonic == Mnemonic.Nop
                            && code[k - 1].FlowControl is not (FlowControl.UnconditionalBranch or FlowControl.Return) && code[k - 1].Mnemonic != Mnemonic.Nop)
                            Assert.Fail($"{function}: the nop at {code[k].IP:x} runs on every trip of the loop {from:x}..{to:x}\n{string.Join("\n", code.Select(i => $"{i.IP:x} {i}"))}");
                }
            }
        }
    }

    [TestMethod]
    public void FunctionsWithoutLoopsStayPacked()
    {
        var result = CompiledLibrary.CompileOnly("(define-function inc (x) (+ x 1))\n(define-function triple (x) (* x 3))\n(define-function last (x) (- x 5))");
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var image = new ElfImage(result.Library!);
        var inc = image.Symbol(SymbolNames.ToSymbolName("inc"));
        var triple = image.Symbol(SymbolNames.ToSymbolName("triple"));
        var last = image.Symbol(SymbolNames.ToSymbolName("last"));
        Assert.AreEqual(inc.Address + (ulong)inc.Size, triple.Address);
        Assert.AreEqual(triple.Address + (ulong)triple.Size, last.Address);
        using var library = CompiledLibrary.Load(result);
        Assert.AreEqual(8, library.Call("inc", 7));
        Assert.AreEqual(21, library.Call("triple", 7));
        Assert.AreEqual(-5, library.Call("last", 0));
    }

    private static bool IsFlagTest(MachineInstruction instruction) =>
        instruction.Mnemonic == Mnemonic.Cmp && instruction.Op0Kind == OpKind.Memory && instruction.MemoryIndexScale == 8 && instruction.Immediate64 == 0;

    /// <summary>
    /// Walks every path from a flag test whose flag is zero (a composite number) through the loop
    /// test (either way) to the next flag test, never through a call, a multiplication (the prime's
    /// inner loop starts with i*i) or a return, and counts the branches each takes; the fewest.
    /// </summary>
    private static int FewestTakenBranchesToTheNextFlagTest(List<MachineInstruction> code, int flagTest)
    {
        var best = int.MaxValue;
        var index = code.Select((instruction, i) => (instruction.IP, i)).ToDictionary(p => p.IP, p => p.i);
        void Walk(int at, int taken, int steps, bool flagKnownZero)
        {
            if (steps > 16 || taken >= best || at >= code.Count) return;
            var instruction = code[at];
            if (!flagKnownZero && IsFlagTest(instruction))
            {
                best = taken;
                return;
            }
            if (instruction.FlowControl is FlowControl.Call or FlowControl.Return || instruction.Mnemonic == Mnemonic.Imul) return;
            switch (instruction.FlowControl)
            {
                case FlowControl.UnconditionalBranch:
                    Walk(index[instruction.NearBranchTarget], taken + 1, steps + 1, false);
                    return;
                case FlowControl.ConditionalBranch when flagKnownZero:
                    // The flag test's own branch: zero means "equal".
                    if (instruction.ConditionCode == ConditionCode.e) Walk(index[instruction.NearBranchTarget], taken + 1, steps + 1, false);
                    else Walk(at + 1, taken, steps + 1, false);
                    return;
                case FlowControl.ConditionalBranch:
                    Walk(index[instruction.NearBranchTarget], taken + 1, steps + 1, false);
                    Walk(at + 1, taken, steps + 1, false);
                    return;
                default:
                    Walk(at + 1, taken, steps + 1, false);
                    return;
            }
        }
        Walk(flagTest + 1, 0, 0, true);
        return best;
    }
}
