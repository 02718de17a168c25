using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Byte fills and copies done a word at a time (LoopIdioms). Each function works on its own
/// calloc'd buffer, primed with a byte pattern, and returns a digest of the whole buffer, so a
/// byte written out of range, a byte missed or a copy in the wrong order changes the answer; the
/// C# models below compute the same bytes one at a time.
/// </summary>
[TestClass]
public sealed class LoopIdiomTests
{
    private const int Size = 320;

    private const string Source = """
        (define calloc (extern 'calloc))
        (define free (extern 'free))
        (define-function digest (b)
          (let ((h 0) (i 0))
            (while (< i 320) (set h (+ (* h 31) (string-at b i))) (set i (+ i 1)))
            h))
        (define-function primed ()
          (let ((b (calloc 320 1)))
            (for (i 0 320) (set-string-at b i (+ 1 (* i 37))))
            b))
        (define-function finish (b) (let ((h (digest b))) (free b) h))

        ;; a fill from a register start to a register end at an offset: b[off + k] = v for from <= k < to
        (define-function fill-range (from to v off)
          (let ((b (primed)))
            (for (k from to) (set-string-at b (+ off k) v))
            (finish b)))
        ;; a fill from 0 written as a while, the count read back after the loop
        (define-function fill-count (n v off)
          (let ((b (primed)) (k 0))
            (while (< k n) (set-string-at (+ b off) k v) (set k (+ k 1)))
            (+ (* 1000 k) (finish b))))
        ;; a pointer walk: the address is the induction variable itself
        (define-function wipe (from to v)
          (let* ((b (primed)) (p (+ b from)) (e (+ b to)))
            (while (< p e) (set-string-at p 0 v) (set p (+ p 1)))
            (finish b)))
        ;; a constant value over a constant length
        (define-function stamp (off)
          (let ((b (primed)))
            (for (k 0 37) (set-string-at b (+ off k) -2))
            (finish b)))
        ;; a copy inside one buffer: the source at off, the destination delta bytes away (overlapping when |delta| < n)
        (define-function shift (from to off delta)
          (let* ((b (primed)) (s (+ b off)) (d (+ s delta)))
            (for (k from to) (set-string-at d k (string-at s k)))
            (finish b)))
        ;; a copy into another buffer, the count read after the loop
        (define-function dup (n off)
          (let ((a (primed)) (c (calloc 320 1)) (k 0))
            (while (< k n) (set-string-at c (+ k 3) (string-at a (+ k off))) (set k (+ k 1)))
            (free a)
            (+ (* 1000 k) (finish c))))
        ;; not an idiom: the value changes, or the loop also counts
        (define-function ramp (n v)
          (let ((b (primed)) (c 0))
            (for (k 0 n) (set-string-at b (+ 5 k) (+ v k)) (set c (+ c 2)))
            (+ c (finish b))))
        """;

    private static byte[] Primed()
    {
        var b = new byte[Size];
        for (var i = 0; i < Size; i++) b[i] = unchecked((byte)(1 + i * 37));
        return b;
    }

    private static long Digest(byte[] b)
    {
        long h = 0;
        foreach (var x in b) h = unchecked(h * 31 + x);
        return h;
    }

    private static long FillRange(long from, long to, long v, long off)
    {
        var b = Primed();
        for (var k = from; k < to; k++) b[off + k] = unchecked((byte)v);
        return Digest(b);
    }

    private static long FillCount(long n, long v, long off)
    {
        var b = Primed();
        long k = 0;
        for (; k < n; k++) b[off + k] = unchecked((byte)v);
        return unchecked(1000 * k + Digest(b));
    }

    private static long Stamp(long off)
    {
        var b = Primed();
        for (var k = 0; k < 37; k++) b[off + k] = 0xfe;
        return Digest(b);
    }

    private static long Shift(long from, long to, long off, long delta)
    {
        var b = Primed();
        for (var k = from; k < to; k++) b[off + delta + k] = b[off + k];   // one byte at a time, in order
        return Digest(b);
    }

    private static long Dup(long n, long off)
    {
        var a = Primed();
        var c = new byte[Size];
        long k = 0;
        for (; k < n; k++) c[k + 3] = a[k + off];
        return unchecked(1000 * k + Digest(c));
    }

    private static long Ramp(long n, long v)
    {
        var b = Primed();
        long c = 0;
        for (var k = 0; k < n; k++)
        {
            b[5 + k] = unchecked((byte)(v + k));
            c += 2;
        }
        return c + Digest(b);
    }

    private static readonly long[] Values = [0, 1, -1, 255, 256, -129, 0x1234_5678_9abc_def0, long.MaxValue, long.MinValue];
    private static readonly long[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 100, 250];

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        foreach (var n in Lengths)
            foreach (var off in new long[] { 8, 11, 13 })
            {
                var v = Values[(int)((n + off) % Values.Length)];
                yield return ("fill-range", [0, n, v, off], FillRange(0, n, v, off));
                yield return ("fill-range", [-5, n - 5, v, off], FillRange(-5, n - 5, v, off));   // a negative start
                yield return ("fill-range", [3, n + 3, v, off], FillRange(3, n + 3, v, off));     // a register start
                yield return ("fill-count", [n, v, off + 1], FillCount(n, v, off + 1));
                yield return ("wipe", [off, off + n, v], FillRange(0, n, v, off));
                yield return ("dup", [n, off - 8], Dup(n, off - 8));
                yield return ("ramp", [n, v], Ramp(n, v));
            }
        foreach (var v in Values) yield return ("fill-range", [2, 40, v, 9], FillRange(2, 40, v, 9));
        // Zero-trip loops whose bounds are far apart the wrong way, or whose n - 7 would wrap.
        yield return ("fill-range", [10, -5, 7, 20], FillRange(10, -5, 7, 20));
        yield return ("fill-range", [0, long.MinValue + 3, 7, 20], FillRange(0, long.MinValue + 3, 7, 20));
        yield return ("fill-count", [long.MinValue, 7, 20], FillCount(long.MinValue, 7, 20));
        yield return ("fill-count", [-1, 7, 20], FillCount(-1, 7, 20));
        foreach (var off in new long[] { 0, 1, 5, 100 }) yield return ("stamp", [off], Stamp(off));
        // Copies within one buffer: every distance from -17 to 17 (1..7 repeat a pattern byte by byte), and far.
        foreach (var n in new long[] { 0, 1, 7, 8, 9, 23, 64, 100 })
            for (var delta = -17L; delta <= 17; delta++)
                yield return ("shift", [0, n, 120, delta], Shift(0, n, 120, delta));
        foreach (var delta in new long[] { -100, 100, 110 })
            yield return ("shift", [4, 101, 100, delta], Shift(4, 101, 100, delta));
        yield return ("shift", [-3, 30, 50, 5], Shift(-3, 30, 50, 5));
        yield return ("shift", [-3, 30, 50, 8], Shift(-3, 30, 50, 8));
    }

    private static bool HasWordStore(IrFunction function) => Instructions(function).Any(i => i.Op == Opcode.StoreWord);

    [TestMethod]
    public void ByteFillsAndCopiesStoreWords()
    {
        var module = Optimise(Source);
        foreach (var name in new[] { "fill-range", "fill-count", "wipe", "stamp", "shift", "dup" })
            Assert.IsTrue(HasWordStore(Function(module, name)), name + "\n" + IrPrinter.Print(Function(module, name)));
        // A value that changes per byte, or a loop that also does something else, stays a byte loop.
        Assert.IsFalse(HasWordStore(Function(module, "ramp")), IrPrinter.Print(Function(module, "ramp")));
        Assert.IsFalse(HasWordStore(Function(module, "primed")), IrPrinter.Print(Function(module, "primed")));
    }

    [TestMethod]
    public void FillsAndCopiesGiveTheModelsBytesAtBothLevels()
    {
        using var o0 = CompiledLibrary.Compile(Source, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(Source, OptimisationLevel.O1);
        foreach (var (name, arguments, expected) in Cases())
        {
            Assert.AreEqual(expected, o0.Call(name, arguments), $"O0 ({name} {string.Join(" ", arguments)})");
            Assert.AreEqual(expected, o1.Call(name, arguments), $"O1 ({name} {string.Join(" ", arguments)})");
        }
    }

    [TestMethod]
    public void FillsAndCopiesGiveTheModelsBytesOnArm64() =>
        Arm64Batch.AssertCalls(Source, [.. Cases().Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected))]);
}
