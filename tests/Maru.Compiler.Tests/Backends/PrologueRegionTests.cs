using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Shrink-wrapping beyond parameter tests (FunctionEmitter.PlanRegion): the blocks from the entry that
/// need no frame (loads, stores, arithmetic, loops, returns; no call) run before the prologue on the
/// argument registers. Shapes: a graph marker that returns after a load and a store (its result
/// variable lives in a callee-saved register elsewhere), a list walk with a loop, a division and a variable shift on
/// parameters that live across calls (rdx and rcx are argument registers on x86-64), a parameter
/// beyond the argument registers read on the early path, and a parameter assigned on it. Results
/// compared with C# models at O0 and O1 on x86-64 and under qemu on AArch64; the x86-64 code of the
/// marker checked to return on its three early paths before it saves a register.
/// </summary>
[TestClass]
public sealed class PrologueRegionTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define labs (extern 'labs))
        (define-function helper (x) (+ (* x 3) 1))
        ;; a node: flags (1 marked, 2 leaf), child count, children
        (define-function mark (node)
          (if (= node 0) 0
            (let ((flags (oop-at node 0)))
              (if (& flags 1) 0
                (let ()
                  (set-oop-at node 0 (| flags 1))
                  (if (& flags 2) 1
                    (let ((n (oop-at node 1)) (count 1))
                      (while (> n 0)
                        (set n (- n 1))
                        (set count (+ count (mark (oop-at node (+ 2 n))))))
                      count)))))))
        (define-function make-node (leaf)
          (let ((o (malloc (* 8 5))))
            (set-oop-at o 0 (if leaf 2 0))
            (set-oop-at o 1 3)
            (set-oop-at o 2 0) (set-oop-at o 3 0) (set-oop-at o 4 0)
            o))
        (define-function graph (n)
          (let ((nodes (malloc (* 8 n))) (total 0))
            (for (i 0 n) (set-oop-at nodes i (make-node (= (% i 3) 2))))
            (for (i 0 n)
              (let ((o (oop-at nodes i)))
                (and (< (+ 1 (* 2 i)) n) (set-oop-at o 2 (oop-at nodes (+ 1 (* 2 i)))))
                (and (< (+ 2 (* 2 i)) n) (set-oop-at o 3 (oop-at nodes (+ 2 (* 2 i)))))
                (set-oop-at o 4 (oop-at nodes (/ i 2)))))
            (set total (mark (oop-at nodes 0)))
            (+ (* 1000 total) (mark (oop-at nodes 0)))))
        ;; pairs: value, next
        (define-function walk (list limit k)
          (let ((p list) (i 0))
            (while (and p (< (oop-at p 0) limit))
              (set p (oop-at p 1))
              (set i (+ i 1)))
            (if (= p 0) i
              (labs (- (walk (oop-at p 1) (+ limit k) k) (+ i (helper (+ k (oop-at p 0)))))))))
        (define-function chain (n step)
          (let ((head 0))
            (for (i 0 n)
              (let ((p (malloc 16)))
                (set-oop-at p 0 (% (* (- n i) step) 37))
                (set-oop-at p 1 head)
                (set head p)))
            head))
        (define-function walks (n step limit k) (walk (chain n step) limit k))
        (define-function scaled (a b c d)
          (let ((q (/ a c)) (s (<< b d)))
            (if (< q s) (- s q)
              (+ (+ (helper q) (helper s)) (+ (+ a b) (+ c d))))))
        (define-function nine (a b c d e f g h i)
          (if (<= a 0) (- i h)
            (+ (+ (helper a) (nine (- a 1) b c d e f g h (+ i b))) (+ (+ (+ c d) (+ e f)) (+ g h)))))
        (define-function countdown (n acc)
          (set n (- n 1))
          (if (< n 0) acc
            (+ (helper n) (countdown n (+ acc 1)))))
        """;

    private static long Helper(long x) => unchecked(x * 3 + 1);

    private static long Graph(long n)
    {
        // nodes[i] = (flags, children[3])
        var flags = new long[n];
        var children = new long[n][];
        for (var i = 0; i < n; i++)
        {
            flags[i] = i % 3 == 2 ? 2 : 0;
            children[i] = [-1, -1, -1];
        }
        for (var i = 0; i < n; i++)
        {
            if (1 + 2 * i < n) children[i][0] = 1 + 2 * i;
            if (2 + 2 * i < n) children[i][1] = 2 + 2 * i;
            children[i][2] = i / 2;
        }
        long Mark(long node)
        {
            if (node < 0) return 0;
            var f = flags[node];
            if ((f & 1) != 0) return 0;
            flags[node] = f | 1;
            if ((f & 2) != 0) return 1;
            long count = 1;
            for (var c = 2; c >= 0; c--) count += Mark(children[node][c]);
            return count;
        }
        var total = Mark(0);
        return 1000 * total + Mark(0);
    }

    private static long Walks(long n, long step, long limit, long k)
    {
        var values = new List<long>();
        for (var i = 0L; i < n; i++) values.Insert(0, unchecked((n - i) * step) % 37);
        long Walk(int at, long lim)
        {
            long i = 0;
            while (at < values.Count && values[at] < lim)
            {
                at++;
                i++;
            }
            if (at == values.Count) return i;
            return Math.Abs(unchecked(Walk(at + 1, lim + k) - (i + Helper(k + values[at]))));
        }
        return Walk(0, limit);
    }

    private static long Div(long a, long b) => b == 0 ? 0 : b == -1 ? unchecked(-a) : a / b;

    private static long Scaled(long a, long b, long c, long d)
    {
        var q = Div(a, c);
        var s = b << (int)(d & 63);
        return q < s ? unchecked(s - q) : unchecked(Helper(q) + Helper(s) + a + b + c + d);
    }

    private static long Nine(long a, long b, long c, long d, long e, long f, long g, long h, long i) =>
        a <= 0 ? unchecked(i - h) : unchecked(Helper(a) + Nine(a - 1, b, c, d, e, f, g, h, i + b) + c + d + e + f + g + h);

    private static long Countdown(long n, long acc)
    {
        n = unchecked(n - 1);
        return n < 0 ? acc : unchecked(Helper(n) + Countdown(n, acc + 1));
    }

    private static readonly (string Function, long[] Arguments, long Expected)[] Cases =
    [
        .. new long[] { 1, 2, 3, 7, 40, 301 }.Select(n => ("graph", new[] { n }, Graph(n))),
        .. new (long, long, long, long)[] { (0, 5, 10, 3), (1, 5, 10, 3), (30, 7, 12, 5), (50, 11, 40, -3), (25, 3, -1, 2) }
            .Select(a => ("walks", new[] { a.Item1, a.Item2, a.Item3, a.Item4 }, Walks(a.Item1, a.Item2, a.Item3, a.Item4))),
        .. new (long, long, long, long)[] { (100, 3, 7, 2), (5, 1, 0, 70), (-100, 3, 7, 2), (long.MinValue, 1, -1, 63), (100, 0, 3, 1), (1L << 40, 5, 2, 3), (7, -1, -2, 64) }
            .Select(a => ("scaled", new[] { a.Item1, a.Item2, a.Item3, a.Item4 }, Scaled(a.Item1, a.Item2, a.Item3, a.Item4))),
        .. new long[][] { [0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 1, 2, 3, 4, 5, 6, 7, 8], [10, -4, 9, 8, 7, 6, 5, 4, long.MaxValue], [-2, 1, 1, 1, 1, 1, 1, 1, 1] }
            .Select(a => ("nine", a, Nine(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]))),
        .. new (long, long)[] { (0, 5), (1, 5), (10, -3), (-4, 2), (100, long.MaxValue) }
            .Select(a => ("countdown", new[] { a.Item1, a.Item2 }, Countdown(a.Item1, a.Item2))),
    ];

    [TestMethod]
    public void SameResultsAtO0AndO1OnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases);

    [TestMethod]
    public void EarlyPathsReturnBeforeAnyRegisterIsSaved()
    {
        var result = MaruCompiler.Compile([new SourceFile("region.l", Source)], new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "test" });
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        // mark: null, already marked and leaf (after a load and a store) return before the prologue.
        foreach (var (function, earlyReturns) in new[] { ("mark", 3) })
        {
            var code = X64Disassembly.Decode(result, function);
            var firstPush = code.FindIndex(i => i.Mnemonic == Iced.Intel.Mnemonic.Push);
            Assert.IsGreaterThanOrEqualTo(0, firstPush, $"{function} saves registers somewhere\n{string.Join("\n", code)}");
            var beforePush = code.Take(firstPush).ToList();
            Assert.IsFalse(beforePush.Any(i => i.Mnemonic == Iced.Intel.Mnemonic.Call), $"{function}: no call before the prologue\n{string.Join("\n", code)}");
            // The early returns sit after the body (out of line): count the rets reached by jumps from before the first push.
            var targets = beforePush.Where(i => i.FlowControl == Iced.Intel.FlowControl.ConditionalBranch || i.FlowControl == Iced.Intel.FlowControl.UnconditionalBranch)
                .Select(i => i.NearBranchTarget).ToHashSet();
            var bareReturns = code.Where((i, at) => targets.Contains(i.IP) && ReturnsWithoutRestoring(code, at)).Count();
            Assert.IsGreaterThanOrEqualTo(earlyReturns, bareReturns, $"{function}: its early paths return before the prologue\n{string.Join("\n", code)}");
        }
    }

    /// <summary>From instruction <paramref name="at"/> on, a ret comes before any pop or stack adjustment (a few moves and jumps at most).</summary>
    private static bool ReturnsWithoutRestoring(List<Iced.Intel.Instruction> code, int at)
    {
        for (var steps = 0; steps < 4 && at < code.Count; steps++)
        {
            var i = code[at];
            if (i.Mnemonic == Iced.Intel.Mnemonic.Ret) return true;
            if (i.Mnemonic is Iced.Intel.Mnemonic.Pop or Iced.Intel.Mnemonic.Add or Iced.Intel.Mnemonic.Leave) return false;
            if (i.FlowControl == Iced.Intel.FlowControl.UnconditionalBranch)
            {
                at = code.FindIndex(c => c.IP == i.NearBranchTarget);
                if (at < 0) return false;
                continue;
            }
            at++;
        }
        return false;
    }

    [TestMethod]
    public void SameResultsOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(Source, Cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
}
