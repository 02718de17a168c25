using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// DeadStores: a local allocation whose address never escapes and whose memory nothing reads loses
/// its stores (and a malloc used only by free loses the allocation). Every way Maru's raw pointers
/// can let someone else read the memory must keep the stores: a load left after GVN, the address
/// in arithmetic, stored into memory or a global, passed to another function (memcpy), compared,
/// returned, indexed by a register. Compiled code on x86-64 (O0, O1) and arm64 against C# results.
/// </summary>
[TestClass]
public sealed class DeadStoreTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define calloc (extern 'calloc))
        (define free (extern 'free))
        (define memcpy (extern 'memcpy))
        (define-structure <qr> (q r))
        (define-function divmod (x b out)
          (set (<qr>-q out) (/ x b))
          (set (<qr>-r out) (% x b))
          out)
        (define-function digitsum (x b)
          (let ((out (malloc 16)) (s 0))
            (while (> x 0)
              (divmod x b out)
              (set s (+ s (<qr>-r out)))
              (set x (<qr>-q out)))
            (free out)
            s))
        (define-function kept-read (x y)
          (let ((p (calloc 2 8)))
            (if (> x y) (set-oop-at p 0 (- x y)))
            (set-oop-at p 1 y)
            (let ((v (+ (oop-at p 0) (* 3 (oop-at p 1))))) (free p) v)))
        (define-function alias-add (x)
          (let ((p (malloc 16)))
            (set-oop-at p 1 x)
            (let ((v (oop-at (+ p 8) 0))) (free p) v)))
        (define-function alias-cell (x)
          (let ((p (malloc 16)) (cell (malloc 8)))
            (set-oop-at cell 0 p)
            (set-oop-at p 0 x)
            (let ((v (oop-at (oop-at cell 0) 0))) (free p) (free cell) (+ v 1))))
        (define saved 0)
        (define-function reader () (oop-at saved 0))
        (define-function alias-global (x)
          (let ((p (malloc 8)))
            (set saved p)
            (set-oop-at p 0 (* x 2))
            (let ((v (reader))) (free p) v)))
        (define-function alias-memcpy (x)
          (let ((p (malloc 16)) (q (malloc 16)))
            (set-oop-at p 0 x)
            (set-oop-at p 1 (+ x 1))
            (memcpy q p 16)
            (let ((v (- (oop-at q 1) (oop-at q 0)))) (free p) (free q) (+ v x))))
        (define-function bytes (x)
          (let ((s (malloc 4)))
            (set-string-at s 0 x)
            (set-string-at s 3 (+ x 1))
            (let ((v (+ (string-at s 0) (* 1000 (string-at s 3))))) (free s) v)))
        (define-function compared (x)
          (let ((p (malloc 8)))
            (set-oop-at p 0 x)
            (let ((v (if (= p 0) -1 (oop-at p 0)))) (free p) v)))
        (define-function table (n)
          (let ((p (malloc 64)) (s 0))
            (for (i 0 8) (set-oop-at p i (* i n)))
            (for (i 0 8) (set s (+ s (oop-at p i))))
            (free p)
            s))
        (define-function fresh (x) (let ((p (malloc 16))) (set-oop-at p 0 x) (set-oop-at p 1 (- 0 x)) p))
        (define-function use-fresh (x)
          (let ((p (fresh x)))
            (let ((v (- (oop-at p 0) (oop-at p 1)))) (free p) v)))
        (define-function unread (x)
          (let ((p (malloc 24)) (q (calloc 3 8)))
            (set-oop-at p 2 x)
            (set-string-at q 23 x)
            (free p)
            (free q)
            (+ x 5)))
        (define-function outside (x)
          (let ((p (malloc 16)))
            (set-oop-at p 2 x)
            (free p)
            x))
        """;

    private static long Reference(string function, long x, long y)
    {
        unchecked
        {
            switch (function)
            {
                case "digitsum":
                    long s = 0;
                    while (x > 0) { s += Opcode.Remainder.Evaluate(x, y); x = Opcode.Divide.Evaluate(x, y); }
                    return s;
                case "kept-read": return (x > y ? x - y : 0) + 3 * y;
                case "alias-add": return x;
                case "alias-cell": return x + 1;
                case "alias-global": return x * 2;
                case "alias-memcpy": return 1 + x;
                case "bytes": return (x & 255) + 1000 * ((x + 1) & 255);
                case "compared": return x;
                case "table": return 28 * x;
                case "use-fresh": return 2 * x;
                case "unread": return x + 5;
                default: throw new ArgumentException(function);
            }
        }
    }

    private static IEnumerable<(string Function, long[] Arguments, long Expected)> Cases()
    {
        long[] values = [0, 1, -1, 7, 255, 256, -300, 1000003, long.MaxValue, long.MinValue];
        foreach (var f in new[] { "alias-add", "alias-cell", "alias-global", "alias-memcpy", "bytes", "compared", "table", "use-fresh", "unread" })
            foreach (var x in values)
                yield return (f, [x], Reference(f, x, 0));
        foreach (var (x, b) in new (long, long)[] { (1000003, 10), (255, 2), (long.MaxValue, 16), (5, 0), (5, -1), (-5, 3), (99, 7), (long.MaxValue, long.MinValue) })
            yield return ("digitsum", [x, b], Reference("digitsum", x, b));
        foreach (var x in values)
            foreach (var y in new long[] { 0, 3, -3, long.MinValue })
                yield return ("kept-read", [x, y], Reference("kept-read", x, y));
    }

    private static bool StoresInto(IrFunction function) => Instructions(function).Any(i => i.Op is Opcode.StoreWord or Opcode.StoreByte);

    private static bool CallsImport(IrFunction function, string name) =>
        Instructions(function).Any(i => i.Op == Opcode.CallImport && i.Symbol == name);

    [TestMethod]
    public void ARecordNothingReadsLosesItsStoresAndItsAllocation()
    {
        var module = Optimise(Source);
        foreach (var name in new[] { "digitsum", "unread" })
        {
            var function = Function(module, name);
            var text = $"{name}:\n{IrPrinter.Print(function)}";
            Assert.IsFalse(StoresInto(function), text);
            Assert.IsFalse(CallsImport(function, "malloc") || CallsImport(function, "calloc") || CallsImport(function, "free"), text);
        }
    }

    [TestMethod]
    public void StoresSomeoneMayReadStay()
    {
        var module = Optimise(Source);
        // A load left, the address in arithmetic, stored in memory or a global, given to memcpy,
        // compared, indexed by a register, an offset outside the allocation.
        foreach (var name in new[] { "kept-read", "alias-add", "alias-cell", "alias-global", "alias-memcpy", "table", "outside" })
        {
            var function = Function(module, name);
            Assert.IsTrue(StoresInto(function), $"{name}:\n{IrPrinter.Print(function)}");
        }
        Assert.IsTrue(CallsImport(Function(module, "compared"), "free"), IrPrinter.Print(Function(module, "compared")));
    }

    [TestMethod]
    public void ResultsOnX64AtBothLevels() => CompiledLibrary.AssertCallsAtO0AndO1(Source, Cases());

    [TestMethod]
    public void ResultsOnArm64AtBothLevels() =>
        Arm64Batch.AssertCalls(Source, Cases().Select(c => new Arm64Case(c.Function, c.Arguments, c.Expected)).ToList());
}
