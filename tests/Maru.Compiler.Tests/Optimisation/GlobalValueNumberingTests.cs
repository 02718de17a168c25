using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Common subexpressions over the dominator tree: the IR effect (how many computations of one kind
/// are left) and, for every case, the compiled code executed at O0 and O1 with the same results,
/// aliasing cases included (a store through another pointer to the same word, a store on one path
/// of a join, a call, a loop that writes what it reads).
/// </summary>
[TestClass]
public sealed class GlobalValueNumberingTests
{
    private static readonly (Action<IrFunction>, IrForm) Gvn = (GlobalValueNumbering.Run, IrForm.Ssa);

    private static int Count(IrFunction function, Opcode op) => Instructions(function).Count(i => i.Op == op);

    private static IrFunction Numbered(string source, string name) => RunPasses(source, name, Ssa, Copy, Gvn, Copy, Dce);

    private const string Memory = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define g 3)
        (define-function poke (p v) (set-oop-at p 0 v))
        """;

    [TestMethod]
    public void RepeatedArithmeticInAnyOperandOrderIsComputedOnce()
    {
        const string source = "(define-function f (a b) (+ (* a b) (- (* b a) (> a b)))) (define-function g (a b) (- (< b a) (> a b)))";
        Assert.AreEqual(1, Count(Numbered(source, "f"), Opcode.Multiply), IrPrinter.Print(Numbered(source, "f")));
        var g = Numbered(source, "g");
        Assert.AreEqual(1, Count(g, Opcode.Less) + Count(g, Opcode.Greater), IrPrinter.Print(g));
        AssertSameAtBothLevels(source, "f", [3, 4], [-5, 7], [long.MaxValue, 2]);
        AssertSameAtBothLevels(source, "g", [3, 4], [7, -5], [2, 2]);
    }

    [TestMethod]
    public void AValueComputedInADominatingBlockIsReusedBelowIt()
    {
        const string source = """
            (define-function f (a b)
              (let ((x (/ a b)))
                (if (> a 0)
                    (+ (/ a b) 1)
                  (- x (/ a b)))))
            """;
        var function = Numbered(source, "f");
        Assert.AreEqual(1, Count(function, Opcode.Divide), IrPrinter.Print(function));
        AssertSameAtBothLevels(source, "f", [7, 2], [-9, 4], [5, 0], [long.MinValue, -1]);
    }

    [TestMethod]
    public void ARepeatedLoadWithNoStoreInBetweenIsReadOnce()
    {
        const string source = "(define-function f (p i) (+ (oop-at p i) (* 2 (oop-at p i))))";
        var function = Numbered(source, "f");
        Assert.AreEqual(1, Count(function, Opcode.LoadWord), IrPrinter.Print(function));
    }

    [TestMethod]
    public void AStoredValueIsForwardedToTheLoadAfterIt()
    {
        const string source = "(define-function f (p v) (set-oop-at p 3 v) (+ (oop-at p 3) 1))";
        var function = Numbered(source, "f");
        Assert.AreEqual(0, Count(function, Opcode.LoadWord), IrPrinter.Print(function));
        AssertSameAtBothLevels(Memory + "(define-function run (v) (let ((p (malloc 64)) (r 0)) (set-oop-at p 3 v) (set r (+ (oop-at p 3) 1)) (free p) r))",
            "run", [5], [-1]);
    }

    [TestMethod]
    public void LoadsAfterAStoreThatMayAliasAreReadAgain()
    {
        const string source = Memory + """
            (define-function alias (same)
              (let ((p (malloc 16)) (q 0) (a 0) (r 0))
                (set q (if same p (+ p 8)))
                (set-oop-at p 0 1)
                (set a (oop-at p 0))
                (set-oop-at q 0 5)
                (set r (+ a (oop-at p 0)))
                (free p)
                r))
            (define-function join (c)
              (let ((p (malloc 8)) (a 0) (r 0))
                (set-oop-at p 0 4)
                (set a (oop-at p 0))
                (if c (set-oop-at p 0 9))
                (set r (+ a (oop-at p 0)))
                (free p)
                r))
            (define-function call (v)
              (let ((p (malloc 8)) (a 0) (r 0))
                (set-oop-at p 0 1)
                (set a (oop-at p 0))
                (poke p v)
                (set r (+ a (oop-at p 0)))
                (free p)
                r))
            (define-function global (v) (let ((a g)) (set g v) (+ a g)))
            (define-function loop (n)
              (let ((p (malloc 8)) (s 0) (i 0))
                (set-oop-at p 0 1)
                (while (< i n)
                  (set s (+ s (oop-at p 0)))
                  (set-oop-at p 0 (+ (oop-at p 0) 1))
                  (set i (+ i 1)))
                (set s (+ s (oop-at p 0)))
                (free p)
                s))
            """;
        // join: the first read is the 4 just stored; the read after the join (a store on one path) stays.
        Assert.AreEqual(1, Count(Numbered(source, "join"), Opcode.LoadWord), IrPrinter.Print(Numbered(source, "join")));
        CollectionAssert.AreEqual(new long[] { 6, 2 }, AssertSameAtBothLevels(source, "alias", [1], [0]));
        CollectionAssert.AreEqual(new long[] { 13, 8 }, AssertSameAtBothLevels(source, "join", [1], [0]));
        CollectionAssert.AreEqual(new long[] { 8 }, AssertSameAtBothLevels(source, "call", [7]));
        CollectionAssert.AreEqual(new long[] { 13 }, AssertSameAtBothLevels(source, "global", [10]));
        CollectionAssert.AreEqual(new long[] { 15 + 6, 1 }, AssertSameAtBothLevels(source, "loop", [5], [0]));
    }

    private const string Fields = Memory + """
        (define-structure <qr> (q r))
        (define-function divmod (x b out)
          (set (<qr>-q out) (/ x b))
          (set (<qr>-r out) (% x b))
          out)
        (define-function digits (x b)
          (let ((out (malloc 16)) (s 0))
            (while (> x 0)
              (divmod x b out)
              (set s (+ (* s 3) (<qr>-r out)))
              (set x (<qr>-q out)))
            (free out)
            s))
        (define-function fields (a b)
          (let ((p (malloc 32)) (r 0))
            (set-oop-at p 0 a)
            (set-oop-at p 1 b)
            (set-oop-at p 3 (+ (oop-at p 0) (oop-at p 1)))
            (set-oop-at p 1 (- (oop-at p 1) 1))
            (set r (+ (* (oop-at p 0) 1000) (+ (* (oop-at p 1) 10) (oop-at p 3))))
            (free p)
            r))
        (define-function wrapped (a b)
          (let ((p (malloc 8)) (r 0))
            (set-oop-at p 0 a)
            (set-oop-at p 2305843009213693952 b)
            (set r (oop-at p 0))
            (set-oop-at p -2305843009213693952 (+ a 1))
            (set r (- (* r 100) (oop-at p 0)))
            (free p)
            r))
        (define-function bytes (a b)
          (let ((p (malloc 16)) (r 0))
            (set-oop-at p 0 a)
            (set-oop-at p 1 b)
            (set-string-at p 3 255)
            (set r (+ (oop-at p 0) (oop-at p 1)))
            (free p)
            r))
        (define-function other (a b q)
          (let ((p (malloc 16)) (r 0))
            (set-oop-at p 0 a)
            (set-oop-at (if q p (- p 8)) 1 b)
            (set r (oop-at p 0))
            (free p)
            r))
        """;

    private static readonly (string Function, long[] Arguments)[] FieldCalls =
    [
        ("digits", [1000003, 10]), ("digits", [255, 2]), ("digits", [-5, 3]), ("digits", [7, 0]), ("digits", [long.MaxValue, -1]),
        ("digits", [long.MaxValue, 16]),
        ("fields", [3, 4]), ("fields", [-1, long.MinValue]), ("fields", [long.MaxValue, 1]),
        ("wrapped", [5, 9]), ("wrapped", [-2, long.MaxValue]),
        ("bytes", [0, 0]), ("bytes", [-1, 1]), ("bytes", [1L << 40, 2]),
        ("other", [1, 2, 1]), ("other", [1, 2, 0]),
    ];

    [TestMethod]
    public void AStoreToAnotherConstantIndexOfTheSameBaseKeepsWhatTheOtherFieldsHold()
    {
        var fields = Numbered(Fields, "fields");
        Assert.AreEqual(0, Count(fields, Opcode.LoadWord), IrPrinter.Print(fields));
        // The index 2^61 words away is the same word (addresses wrap), a byte store may touch any word,
        // and another base may be the same address: all three read memory again.
        Assert.AreEqual(2, Count(Numbered(Fields, "wrapped"), Opcode.LoadWord), IrPrinter.Print(Numbered(Fields, "wrapped")));
        Assert.AreEqual(2, Count(Numbered(Fields, "bytes"), Opcode.LoadWord), IrPrinter.Print(Numbered(Fields, "bytes")));
        Assert.AreEqual(1, Count(Numbered(Fields, "other"), Opcode.LoadWord), IrPrinter.Print(Numbered(Fields, "other")));
        CompiledLibrary.AssertCallsAtO0AndO1(Fields, FieldCalls.Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));
        Arm64Batch.AssertSameAsX64(Fields, FieldCalls);
    }

    private const string Displaced = Memory + """
        (define-function pack (s i) (| (| (<< (string-at s i) 16) (<< (string-at s (+ i 1)) 8)) (string-at s (+ i 2))))
        (define-function sum3 (p i) (+ (oop-at p i) (+ (* 3 (oop-at p (+ i 1))) (* 5 (oop-at p (+ i 2))))))
        (define-function put2 (p i a b) (set-oop-at p (+ i 1) a) (set-oop-at p (+ i 2) b))
        (define-function mix (p n)
          (let ((r 0))
            (for (i 0 n)
              (put2 p i (+ i r) (- r i))
              (set r (+ (* r 3) (sum3 p i)))
              (set r (^ r (pack p (+ i 8)))))
            r))
        (define-function displaced (n seed)
          (let ((p (malloc (* 8 (+ n 16)))) (r 0))
            (for (i 0 (* 8 (+ n 16))) (set-string-at p i (& (+ (* i 37) seed) 255)))
            (set r (mix p n))
            (free p)
            r))
        """;

    [TestMethod]
    public void LoadsAndStoresAtOtherDisplacementsOfOneAddressAreDifferentWords()
    {
        // The callees are optimised first (their (+ i 1) and (+ i 2) become displacements of one
        // address), then inlined into mix: the loads at displacements 0, 1 and 2 (bytes) and 0, 8,
        // 16 (words) are different memory, and each store forwards only to the word it wrote.
        long[][] calls = [[0, 1], [1, 0], [5, 3], [40, 255], [200, -7]];
        CompiledLibrary.AssertCallsAtO0AndO1(Displaced, calls.Select(a => ("displaced", a, DisplacedReference(a[0], a[1]))));
        Arm64Batch.AssertSameAsX64(Displaced, calls.Select(a => ("displaced", a)));
    }

    /// <summary>What displaced computes, over a byte array standing for the malloc'd memory.</summary>
    private static long DisplacedReference(long n, long seed)
    {
        unchecked
        {
            var memory = new byte[8 * (n + 16)];
            for (var i = 0; i < memory.Length; i++) memory[i] = (byte)(i * 37 + seed);
            long Word(long k) => BitConverter.ToInt64(memory, (int)(8 * k));
            void Store(long k, long v) => BitConverter.TryWriteBytes(memory.AsSpan((int)(8 * k)), v);
            long r = 0;
            for (long i = 0; i < n; i++)
            {
                Store(i + 1, i + r);
                Store(i + 2, r - i);
                r = r * 3 + (Word(i) + (3 * Word(i + 1) + 5 * Word(i + 2)));
                r ^= ((long)memory[i + 8] << 16) | ((long)memory[i + 9] << 8) | memory[i + 10];
            }
            return r;
        }
    }

    /// <summary>What the functions of <see cref="Fields"/> compute, written in C# with the total semantics.</summary>
    private static long Reference(string function, long[] a)
    {
        static long Div(long x, long b) => Opcode.Divide.Evaluate(x, b);
        static long Rem(long x, long b) => Opcode.Remainder.Evaluate(x, b);
        unchecked
        {
            switch (function)
            {
                case "digits":
                    long x = a[0], s = 0;
                    while (x > 0)   // b = 0 ends (x / 0 = 0), b = -1 too (x / -1 = -x)
                    {
                        s = s * 3 + Rem(x, a[1]);
                        x = Div(x, a[1]);
                    }
                    return s;
                case "fields":
                    return a[0] * 1000 + (a[1] - 1) * 10 + (a[0] + a[1]);
                case "wrapped":
                    return a[1] * 100 - (a[0] + 1);
                case "bytes":
                    return (a[0] & ~(0xffL << 24) | (0xffL << 24)) + a[1];
                case "other":
                    return a[2] != 0 ? a[0] : a[1];
                default:
                    throw new ArgumentException(function);
            }
        }
    }
}
