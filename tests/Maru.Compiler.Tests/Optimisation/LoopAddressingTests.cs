using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Invariant addends of loop addresses move to the preheader (LoopAddressing): the same words and
/// bytes are read and written, at O0 and O1, on x86-64 and AArch64, for loops that run zero times,
/// count down, wrap around, and whose indexes are also used otherwise.
/// </summary>
[TestClass]
public sealed class LoopAddressingTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function matmul (n)
          (let ((a (malloc (* 8 (+ 1 (* n n))))) (b (malloc (* 8 (+ 1 (* n n))))) (c (malloc (* 8 (+ 1 (* n n))))) (t 0))
            (for (r 0 n)
              (for (q 0 n)
                (set-oop-at a (+ (* r n) q) (- (+ (* r 7) q) 3))
                (set-oop-at b (+ (* r n) q) (- r (* 2 q)))))
            (for (i 0 n)
              (for (j 0 n)
                (let ((s 0))
                  (for (k 0 n) (set s (+ s (* (oop-at a (+ (* i n) k)) (oop-at b (+ (* k n) j))))))
                  (set-oop-at c (+ (* i n) j) s))))
            (for (i 0 (* n n)) (set t (+ (* t 31) (oop-at c i))))
            (free a) (free b) (free c)
            t))
        (define-function backwards (n w p)
          (let ((a (malloc (* 8 (+ (* n w) (+ p 1))))) (s 0) (r (- n 1)))
            (for (i 0 (+ (* n w) (+ p 1))) (set-oop-at a i (* i 3)))
            (while (>= r 0)
              (let ((k (- w 1)) (base (* r w)))
                (while (>= k 0)
                  (set s (+ (* s 7) (oop-at a (+ base (+ k p)))))
                  (set k (- k 1))))
              (set r (- r 1)))
            (free a)
            s))
        (define-function bytes (n off)
          (let ((s (malloc (+ n (+ off 2)))) (h 0))
            (for (i 0 (+ n (+ off 2))) (set-string-at s i (+ i 65)))
            (for (i 1 (+ n 1)) (set h (+ (* h 33) (string-at s (- (+ off i) 1)))))
            (for (i 0 n) (set-string-at s (+ off i) (string-at s (+ off (+ i 1)))))
            (for (i 0 (+ n (+ off 2))) (set h (+ h (* i (string-at s i)))))
            (free s)
            h))
        (define-function wraps (n p)
          (let ((a (malloc (* 8 (+ n 4)))) (q (- 3 p)) (s 0))
            (for (i 0 (+ n 4)) (set-oop-at a i (- 100 i)))
            (for (j 0 n) (set s (+ s (* (+ j 1) (oop-at a (+ p (+ q j)))))))
            (free a)
            s))
        (define-function mixed (n p)
          (let ((a (malloc (* 8 (+ n (+ p 1))))) (last 0) (j 0))
            (while (< j n)
              (set-oop-at a (+ p j) (+ p j))
              (set j (+ j 1)))
            (for (i 0 n) (set last (+ (oop-at a (+ p i)) (* last 3))))
            (let ((result (+ last j)))
              (free a)
              result)))
        (define-function stencil (w h seed)
          (let ((a (malloc (* w h))) (s 0) (x seed))
            (for (i 0 (* w h))
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (set-string-at a i (& (>> x 16) 255)))
            (for (y 1 (- h 1))
              (for (c 1 (- w 1))
                (let ((i (+ (* y w) c)))
                  (set s (+ (* s 3)
                            (+ (+ (- (string-at a (- (- i w) 1)) (string-at a (- i w))) (string-at a (+ (- i w) 1)))
                               (+ (- (string-at a (- i 1)) (string-at a (+ i 1)))
                                  (+ (string-at a (- (+ i w) 1)) (- (string-at a (+ i w)) (string-at a (+ (+ i w) 1)))))))))))
            (free a)
            s))
        (define-function shifted (n w)
          (let ((b (malloc (* 8 (+ n 1)))) (s 0) (c n))
            (for (i 0 (+ n 1)) (set-oop-at b i (- (* i i) 7)))
            (while (>= c w)
              (let ((candidate (+ (oop-at b (- c w)) 5)))
                (if (> candidate (oop-at b c)) (set-oop-at b c candidate)))
              (set c (- c 1)))
            (for (i 0 (+ n 1)) (set s (+ (* s 31) (oop-at b i))))
            (free b)
            s))
        """;

    private static long Matmul(long n)
    {
        var a = new long[n * n];
        var b = new long[n * n];
        for (long r = 0; r < n; r++)
            for (long q = 0; q < n; q++)
            {
                a[r * n + q] = r * 7 + q - 3;
                b[r * n + q] = r - 2 * q;
            }
        long t = 0;
        for (long i = 0; i < n; i++)
            for (long j = 0; j < n; j++)
            {
                long s = 0;
                for (long k = 0; k < n; k++) s = unchecked(s + a[i * n + k] * b[k * n + j]);
                t = unchecked(t * 31 + s);
            }
        return t;
    }

    private static long Backwards(long n, long w, long p)
    {
        long s = 0;
        for (var r = n - 1; r >= 0; r--)
            for (var k = w - 1; k >= 0; k--)
                s = unchecked(s * 7 + (r * w + k + p) * 3);
        return s;
    }

    private static long Bytes(long n, long off)
    {
        var s = new byte[n + off + 2];
        for (long i = 0; i < s.Length; i++) s[i] = (byte)(i + 65);
        long h = 0;
        for (long i = 1; i <= n; i++) h = unchecked(h * 33 + s[off + i - 1]);
        for (long i = 0; i < n; i++) s[off + i] = s[off + i + 1];
        for (long i = 0; i < s.Length; i++) h = unchecked(h + i * s[i]);
        return h;
    }

    private static long Wraps(long n, long p)
    {
        long s = 0;
        for (long j = 0; j < n; j++) s += (j + 1) * (100 - (3 + j));
        return s;
    }

    private static long Mixed(long n, long p)
    {
        long last = 0;
        for (long i = 0; i < n; i++) last = unchecked(p + i + last * 3);
        return last + Math.Max(n, 0);
    }

    private static long Stencil(long w, long h, long seed)
    {
        var a = new byte[Math.Max(w * h, 0)];
        var x = seed;
        for (long i = 0; i < w * h; i++)
        {
            x = unchecked(x * 1103515245 + 12345) & 2147483647;
            a[i] = (byte)((x >> 16) & 255);
        }
        long s = 0;
        for (var y = 1L; y < h - 1; y++)
            for (var c = 1L; c < w - 1; c++)
            {
                var i = y * w + c;
                s = unchecked(s * 3 + (a[i - w - 1] - a[i - w] + a[i - w + 1]) + (a[i - 1] - a[i + 1]) + (a[i + w - 1] + (a[i + w] - a[i + w + 1])));
            }
        return s;
    }

    private static long Shifted(long n, long w)
    {
        var b = new long[n + 1];
        for (long i = 0; i <= n; i++) b[i] = i * i - 7;
        for (var c = n; c >= w; c--)
            if (b[c - w] + 5 > b[c]) b[c] = b[c - w] + 5;
        long s = 0;
        for (long i = 0; i <= n; i++) s = unchecked(s * 31 + b[i]);
        return s;
    }

    private static readonly (string Function, long[] Arguments, long Expected)[] Cases =
    [
        .. new long[] { 0, 1, 2, 5, 13 }.Select(n => ("matmul", new[] { n }, Matmul(n))),
        .. new (long N, long W, long P)[] { (0, 3, 0), (3, 0, 2), (1, 1, 0), (4, 5, 0), (6, 3, 7) }.Select(c => ("backwards", new[] { c.N, c.W, c.P }, Backwards(c.N, c.W, c.P))),
        .. new (long N, long Off)[] { (0, 0), (1, 0), (5, 3), (40, 200), (300, 1) }.Select(c => ("bytes", new[] { c.N, c.Off }, Bytes(c.N, c.Off))),
        .. new long[] { 0, 1, 1L << 61, (1L << 61) + 5, long.MaxValue, long.MinValue, -12345 }.SelectMany(p =>
            new long[] { 0, 1, 9 }.Select(n => ("wraps", new[] { n, p }, Wraps(n, p)))),
        .. new (long N, long P)[] { (0, 0), (-3, 2), (1, 0), (7, 3), (50, 11) }.Select(c => ("mixed", new[] { c.N, c.P }, Mixed(c.N, c.P))),
        .. new (long W, long H, long Seed)[] { (0, 0, 1), (2, 2, 1), (3, 3, 7), (17, 9, 12345), (66, 5, 99) }.Select(c => ("stencil", new[] { c.W, c.H, c.Seed }, Stencil(c.W, c.H, c.Seed))),
        .. new (long N, long W)[] { (0, 1), (5, 0), (5, 5), (5, 6), (40, 3), (100, 97) }.Select(c => ("shifted", new[] { c.N, c.W }, Shifted(c.N, c.W))),
    ];

    [TestMethod]
    public void IndexAdditionsLeaveTheInnerLoop()
    {
        var function = Function(Optimise(Source, unroll: false), "matmul");
        var definition = Instructions(function).Where(i => i.Destination is not null).ToLookup(i => i.Destination!.Value);
        var loopBlocks = function.Blocks.Where(InLoop).ToHashSet();
        foreach (var block in loopBlocks)
            foreach (var access in block.Instructions.Where(i => i.Op is Opcode.LoadWord or Opcode.StoreWord))
            {
                var index = access.Arguments[1];
                Assert.IsFalse(!index.IsConstant && definition[index.Register].Any(d => d.Op == Opcode.Add && loopBlocks.Any(b => b.Instructions.Contains(d))
                                                                                   && d.Arguments.All(a => !a.IsConstant)),
                    $"{access} in {block.Name} still adds its index in a loop\n{IrPrinter.Print(function)}");
            }
    }

    /// <summary>
    /// A stencil's neighbours <c>a[i-w-1] .. a[i+w+1]</c>, with <c>i = y*w + c</c>, are three rows: in
    /// the inner loop every byte load indexes by the column alone (or the column plus a constant, a
    /// displacement), from at most three bases made before the loop.
    /// </summary>
    [TestMethod]
    public void StencilRowsShareBasesAndTheColumnIndexesThem()
    {
        var function = Function(Optimise(Source, unroll: false), "stencil");
        var inner = function.Blocks.Where(b => b.Instructions.Count(i => i.Op == Opcode.LoadByte) >= 8).ToList();
        Assert.HasCount(1, inner, IrPrinter.Print(function));
        var loads = inner[0].Instructions.Where(i => i.Op == Opcode.LoadByte).ToList();
        var indexes = loads.Select(l => l.Arguments[1]).Distinct().ToList();
        Assert.HasCount(1, indexes, $"one column index for every neighbour\n{IrPrinter.Print(function)}");
        Assert.IsLessThanOrEqualTo(3, loads.Select(l => l.Arguments[0]).Distinct().Count(), $"a base per row\n{IrPrinter.Print(function)}");
        Assert.IsTrue(loads.All(l => l.Arguments[0].IsConstant || !inner[0].Instructions.Any(i => i.Destination == l.Arguments[0].Register)),
            $"bases come from outside the loop\n{IrPrinter.Print(function)}");
    }

    [TestMethod]
    public void SameResultsAtO0AndO1OnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases);

    [TestMethod]
    public void SameResultsOnArm64UnderQemu() =>
        Arm64Batch.AssertCalls(Source, Cases.Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
}
