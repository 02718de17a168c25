using System.Text;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Constant offsets become displacements of loads and stores (AddressFolding): the same words and
/// bytes are read and written at O0 (nothing folded) and O1, on x86-64 and AArch64, for negative
/// offsets, offsets at and just past each encoding's limit (x86-64 disp32; AArch64's scaled
/// unsigned and unscaled signed immediates), offsets whose scaled value wraps modulo 2^64, stores
/// of every kind of value, accesses of one address through two different forms, and a function
/// with more live values than registers.
/// </summary>
[TestClass]
public sealed class AddressFoldingTests
{
    // x is passed equal to K (or K - 1), so (+ (- j x) K) reaches a[j] (a[j + 1]) through a folded constant K.
    private static readonly long[] WordOffsets = [1, -1, 268435455, 268435456, -268435456, -268435457, 1L << 61, (1L << 61) + 1, long.MaxValue, long.MinValue + 3];
    private static readonly long[] ByteOffsets = [1, -1, 2147483647, 2147483648, -2147483648, -2147483649, 4095, 4096, -256, -257];
    // Base + constant with a constant index c: the whole offset K + size*c at and past AArch64's immediate limits.
    private static readonly (long K, long C)[] WordBaseOffsets = [(32760, 0), (32744, 2), (32768, 0), (32752, 2), (-256, 0), (-264, 0), (-272, 2), (4, 1), (260, 0), (255, 0), (-8, -1)];
    private static readonly long[] IndexedBaseOffsets = [8, -8, 32768, 2147483640, -2147483648];
    private static readonly (long K, long C)[] ByteBaseOffsets = [(4095, 0), (4093, 2), (4096, 0), (-256, 0), (-257, 0), (-258, 2), (255, 0), (256, 0)];

    private static string Name(string prefix, long k) => $"{prefix}{(k < 0 ? "m" : "")}{Math.Abs((decimal)k)}";

    private static readonly string Source = BuildSource();

    private static string BuildSource()
    {
        var source = new StringBuilder("""
            (define malloc (extern 'malloc))
            (define free (extern 'free))
            (define-function fill-words (n) (let ((a (malloc (* 8 n)))) (for (i 0 n) (set-oop-at a i (+ (* i 5) 1))) a))
            (define-function fill-bytes (n) (let ((b (malloc n))) (for (i 0 n) (set-string-at b i (+ (* i 7) 3))) b))
            (define-function checksum (a n) (let ((h 0)) (for (i 0 n) (set h (+ (* h 31) (oop-at a i)))) h))
            (define-function byte-checksum (b n) (let ((h 0)) (for (i 0 n) (set h (+ (* h 31) (string-at b i)))) h))

            ;; a stack machine: push, then combine the two top words in place (stack[sp-2], stack[sp-1])
            (define-function stack (n)
              (let ((s (malloc (* 8 (+ n 2)))) (sp 0) (r 0))
                (for (i 0 n)
                  (set-oop-at s sp (- (* i 3) 5))
                  (set sp (+ sp 1))
                  (when (> sp 1)
                    (set-oop-at s (- sp 2) (- (oop-at s (- sp 2)) (* 2 (oop-at s (- sp 1)))))
                    (set r (+ (* r 7) (oop-at s (- sp 2))))
                    (when (= (& i 3) 3) (set sp (- sp 1)))))
                (let ((h (checksum s sp))) (free s) (+ r h))))

            ;; neighbours in a byte buffer: b[i-1] = b[i+1] + b[i-1], b[i+2] read
            (define-function smooth (n)
              (let ((b (fill-bytes (+ n 3))))
                (for (i 1 (+ n 1))
                  (set-string-at b (- i 1) (+ (string-at b (+ i 1)) (+ (string-at b (- i 1)) (string-at b (+ i 2))))))
                (let ((h (byte-checksum b (+ n 3)))) (free b) h)))

            ;; one address written through (+ i 1) and read back through (+ a 8) and (- i -1)
            (define-function alias (n)
              (let ((a (fill-words (+ n 2))) (r 0))
                (for (i 0 n)
                  (set-oop-at a (+ i 1) (+ (oop-at (+ a 8) i) i))
                  (set r (+ (* r 3) (oop-at a (- i -1))))
                  (set-string-at (+ a 16) (* 8 i) (+ i 200))
                  (set r (+ r (string-at a (+ (* 8 i) 16)))))
                (let ((h (checksum a (+ n 2)))) (free a) (+ r h))))

            """);
        foreach (var k in WordOffsets)
            source.AppendLine($$"""
                (define-function {{Name("word", k)}} (j x)
                  (let ((a (fill-words 16)) (r 0))
                    (set r (oop-at a (+ (- j x) {{k}})))
                    (set-oop-at a (+ (- j x) {{k}}) 81985529216486895)
                    (set-oop-at a (+ (- (+ j 1) x) {{k}}) (+ r 1))
                    (set-oop-at a (+ (- (+ j 2) x) {{k}}) -7)
                    (let ((h (checksum a 16))) (free a) (+ r h))))
                """);
        foreach (var k in ByteOffsets)
            source.AppendLine($$"""
                (define-function {{Name("byte", k)}} (j x)
                  (let ((b (fill-bytes 16)) (r 0))
                    (set r (string-at b (+ (- j x) {{k}})))
                    (set-string-at b (+ (- j x) {{k}}) 300)
                    (set-string-at b (+ (- (+ j 1) x) {{k}}) (+ r 1))
                    (let ((h (byte-checksum b 16))) (free b) (+ r h))))
                """);
        foreach (var (k, c) in WordBaseOffsets)
            source.AppendLine($$"""
                (define-function {{Name("wbase", k) + Name("c", c)}} (j x)
                  (let ((a (fill-words 16)) (r 0))
                    (set r (oop-at (+ (+ a (- j x)) {{k}}) {{c}}))
                    (set-oop-at (+ (+ a (- j x)) {{k}}) {{c}} (+ r 11))
                    (let ((h (checksum a 16))) (free a) (+ r h))))
                """);
        foreach (var k in IndexedBaseOffsets)
            source.AppendLine($$"""
                (define-function {{Name("wbasei", k)}} (j x)
                  (let ((a (fill-words 16)) (r 0))
                    (set r (oop-at (+ (+ a (- j x)) {{k}}) (- x 1000)))
                    (set-oop-at (+ (+ a (- j x)) {{k}}) (- x 999) (+ r 11))
                    (let ((h (checksum a 16))) (free a) (+ r h))))
                """);
        foreach (var (k, c) in ByteBaseOffsets)
            source.AppendLine($$"""
                (define-function {{Name("bbase", k) + Name("c", c)}} (j x)
                  (let ((b (fill-bytes 16)) (r 0))
                    (set r (string-at (+ (+ b (- j x)) {{k}}) {{c}}))
                    (set-string-at (+ (+ b (- j x)) {{k}}) {{c}} (+ r 11))
                    (let ((h (byte-checksum b 16))) (free b) (+ r h))))
                """);

        // More values live at once than either ISA has registers, every access displaced.
        const int values = 34;
        source.AppendLine("(define-function pressure (n x)");
        source.AppendLine($"  (let ((a (fill-words {values + 8})) (y (- n x)) (r 0))");
        source.Append("    (let (");
        for (var v = 0; v < values; v++) source.Append($"(v{v} (oop-at a (+ y {v + 1})))");
        source.AppendLine(")");
        source.Append("      (set r ");
        for (var v = 0; v < values; v++) source.Append($"(+ (* {v + 1} v{v}) ");
        source.Append('0').Append(')', values).AppendLine(")");
        for (var v = 0; v < values; v++) source.AppendLine($"      (set-oop-at a (+ y {v + 2}) (+ v{v} r))");
        source.AppendLine("      )");
        source.AppendLine($"    (let ((h (checksum a {values + 8}))) (free a) (+ r h))))");
        return source.ToString();
    }

    private static IEnumerable<(string Function, long[] Arguments)> Calls()
    {
        foreach (var n in new long[] { 0, 1, 2, 5, 17 })
        {
            yield return ("stack", [n]);
            yield return ("smooth", [n]);
            yield return ("alias", [n]);
        }
        foreach (var k in WordOffsets)
            foreach (var (j, x) in new[] { (0L, k), (5L, k), (13L, k), (4L, unchecked(k - 1)) })
                yield return (Name("word", k), [j, x]);
        foreach (var k in ByteOffsets)
            foreach (var (j, x) in new[] { (0L, k), (7L, k), (14L, k), (3L, k - 1) })
                yield return (Name("byte", k), [j, x]);
        foreach (var (k, c) in WordBaseOffsets)
            foreach (var w in new long[] { 3, 9 })
                // (+ a (- j x)) + k + 8c lands on word w, and index (- x 1000) is 0.
                yield return (Name("wbase", k) + Name("c", c), [8 * w - (k + 8 * c) + 1000, 1000]);
        foreach (var k in IndexedBaseOffsets)
            foreach (var w in new long[] { 0, 7 })
                yield return (Name("wbasei", k), [8 * w - k + 1000, 1000]);
        foreach (var (k, c) in ByteBaseOffsets)
            foreach (var w in new long[] { 2, 12 })
                yield return (Name("bbase", k) + Name("c", c), [w, k + c]);
        foreach (var (n, x) in new[] { (0L, 0L), (5L, 2L), (3L, 3L) })
            yield return ("pressure", [n, x]);
    }

    [TestMethod]
    public void ConstantOffsetsBecomeDisplacementsWhereTheTargetTakesThem()
    {
        var x64 = Optimise(Source, TargetPlatform.LinuxX64);
        // stack[sp-2] (with the push's sp+1 folded in, Simplify makes it old sp - 1: one word below), b[i-1], b[i+2] (i+1 is the next i).
        Assert.IsTrue(Instructions(Function(x64, "stack")).Any(i => AddressFolding.Displacement(i) is -8 or -16), IrPrinter.Print(Function(x64, "stack")));
        var smooth = Instructions(Function(x64, "smooth")).Select(AddressFolding.Displacement).ToHashSet();
        Assert.IsTrue(smooth.IsSupersetOf([-1, 2]), IrPrinter.Print(Function(x64, "smooth")));
        // disp32 on x86-64: 8 * 268435455 folds, 8 * 268435456 does not.
        Assert.IsTrue(Instructions(Function(x64, Name("word", 268435455))).Any(i => AddressFolding.Displacement(i) == 8L * 268435455));
        Assert.IsFalse(Instructions(Function(x64, Name("word", 268435456))).Any(i => AddressFolding.Displacement(i) != 0));

        // AArch64: never beside a register index; with a constant one, only what ldr/ldur encode.
        var arm64 = Optimise(Source, TargetPlatform.LinuxArm64);
        var accesses = arm64.Functions.SelectMany(Instructions).Where(i => i.Op is Opcode.LoadWord or Opcode.StoreWord or Opcode.LoadByte or Opcode.StoreByte).ToList();
        Assert.IsFalse(accesses.Any(i => !i.Arguments[1].IsConstant && AddressFolding.Displacement(i) != 0));
        Assert.IsTrue(Instructions(Function(arm64, Name("wbase", 32744) + Name("c", 2))).Any(i => AddressFolding.Displacement(i) == 32744));
        Assert.IsFalse(Instructions(Function(arm64, Name("wbase", 32768) + Name("c", 0))).Any(i => AddressFolding.Displacement(i) != 0));
        Assert.IsTrue(Instructions(Function(arm64, Name("bbase", -256) + Name("c", 0))).Any(i => AddressFolding.Displacement(i) == -256));
        Assert.IsFalse(Instructions(Function(arm64, Name("bbase", -257) + Name("c", 0))).Any(i => AddressFolding.Displacement(i) != 0));
    }

    private static IrModule Optimise(string source, TargetPlatform target)
    {
        var module = Lower(source);
        PassPipeline.Run(module, new CompilationOptions { Target = target, LibraryName = "test", VerifyIr = true });
        return module;
    }

    [TestMethod]
    public void SameResultsAtO0AndO1OnX64() =>
        // A few known answers, so both levels cannot agree on a wrong one.
        CompiledLibrary.AssertO1AgreesWithO0(Source, Calls(), [
            ("stack", [17], Stack(17)),
            ("smooth", [17], Smooth(17)),
            (Name("word", 1L << 61), [5, 1L << 61], Words(5)),
            (Name("word", -268435457), [13, -268435457], Words(13)),
        ]);

    [TestMethod]
    public void SameResultsOnArm64UnderQemu() => Arm64Batch.AssertSameAsX64(Source, Calls());

    private static long Checksum(IEnumerable<long> values) => values.Aggregate(0L, (h, v) => unchecked(h * 31 + v));

    private static long Stack(long n)
    {
        var s = new long[n + 2];
        long sp = 0, r = 0;
        for (long i = 0; i < n; i++)
        {
            s[sp] = i * 3 - 5;
            sp++;
            if (sp > 1)
            {
                s[sp - 2] = unchecked(s[sp - 2] - 2 * s[sp - 1]);
                r = unchecked(r * 7 + s[sp - 2]);
                if ((i & 3) == 3) sp--;
            }
        }
        return unchecked(r + Checksum(s.Take((int)sp)));
    }

    private static long Smooth(long n)
    {
        var b = new byte[n + 3];
        for (var i = 0; i < b.Length; i++) b[i] = (byte)(i * 7 + 3);
        for (var i = 1; i <= n; i++) b[i - 1] = (byte)(b[i + 1] + b[i - 1] + b[i + 2]);
        return Checksum(b.Select(v => (long)v));
    }

    /// <summary>word-K with x = K: r = a[j], then a[j] = a wide constant, a[j+1] = r + 1, a[j+2] = -7.</summary>
    private static long Words(long j)
    {
        var a = Enumerable.Range(0, 16).Select(i => (long)(i * 5 + 1)).ToArray();
        var r = a[j];
        a[j] = 81985529216486895;
        a[j + 1] = r + 1;
        a[j + 2] = -7;
        return unchecked(r + Checksum(a));
    }
}
