using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// A quotient and a remainder of the same operands from one division (DivisionPairing puts them
/// side by side, the backends divide once): the IR effect, and compiled code at O0 and O1 on
/// x86-64 and arm64 against a C# model of the total semantics, for divisors 0, -1, 1 and MIN
/// dividends, pairs written in either order, operands changed in between, and enough live
/// values that some results live in the frame.
/// </summary>
[TestClass]
public sealed class DivisionPairingTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function qr (x y) (+ (* (/ x y) 1000003) (% x y)))
        (define-function rq (x y) (let ((r (% x y)) (q (/ x y))) (- (* r 7) q)))
        (define-function apart (x y)
          (let ((q (/ x y)) (s (* x 3)) (r (% x y)))
            (+ (* q 31) (- s r))))
        (define-function moved (x y)
          (let ((q (/ x y)))
            (set x (+ x 1))
            (+ (* q 100) (% x y))))
        (define-function digits (x b)
          (let ((s 0) (k 1))
            (while (> x 0)
              (set s (+ s (* k (% x b))))
              (set k (+ k 1))
              (set x (/ x b)))
            s))
        (define-function crowded (x y z)
          (let ((a (+ x 1)) (b (+ y 2)) (c (* x z)) (d (- z y)) (e (^ x z)) (f (| y 5)) (g (& x 77)) (h (+ z 9))
                (i (- x 3)) (j (* y 3)) (k (+ z x)) (l (- y z)) (m (^ y 12)) (n (+ x y)) (o (* z 5)))
            (let ((q (/ (+ a n) (- d e))) (r (% (+ a n) (- d e))))
              (+ (* q 17) (+ r (+ a (+ b (+ c (+ d (+ e (+ f (+ g (+ h (+ i (+ j (+ k (+ l (+ m (+ n o)))))))))))))))))))
        (define-function record (x y)
          (let ((p (malloc 16)) (v 0))
            (set-oop-at p 0 (/ x y))
            (set-oop-at p 1 (% x y))
            (set v (- (* (oop-at p 0) 3) (oop-at p 1)))
            (free p)
            v))
        """;

    private static long Div(long x, long y) => Opcode.Divide.Evaluate(x, y);
    private static long Rem(long x, long y) => Opcode.Remainder.Evaluate(x, y);

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            long x = a[0], y = a[1];
            switch (function)
            {
                case "qr": return Div(x, y) * 1000003 + Rem(x, y);
                case "rq": return Rem(x, y) * 7 - Div(x, y);
                case "apart": return Div(x, y) * 31 + (x * 3 - Rem(x, y));
                case "moved": return Div(x, y) * 100 + Rem(x + 1, y);
                case "record": return Div(x, y) * 3 - Rem(x, y);
                case "digits":
                    long s = 0, k = 1;
                    while (x > 0) { s += k * Rem(x, y); k++; x = Div(x, y); }
                    return s;
                case "crowded":
                    var z = a[2];
                    long va = x + 1, vb = y + 2, vc = x * z, vd = z - y, ve = x ^ z, vf = y | 5, vg = x & 77, vh = z + 9,
                        vi = x - 3, vj = y * 3, vk = z + x, vl = y - z, vm = y ^ 12, vn = x + y, vo = z * 5;
                    var num = va + vn;
                    var den = vd - ve;
                    return Div(num, den) * 17 + Rem(num, den) + va + vb + vc + vd + ve + vf + vg + vh + vi + vj + vk + vl + vm + vn + vo;
                default: throw new ArgumentException(function);
            }
        }
    }

    private static IEnumerable<(string Function, long[] Arguments)> Calls()
    {
        long[] divisors = [7, -7, 0, -1, 1, 2, 10, long.MinValue, long.MaxValue];
        long[] dividends = [0, 1, -1, 100, -100, 12345678901, long.MinValue, long.MaxValue];
        foreach (var f in new[] { "qr", "rq", "apart", "moved", "record" })
            foreach (var y in divisors)
                foreach (var x in dividends)
                    yield return (f, [x, y]);
        foreach (var (x, b) in new (long, long)[] { (1000003, 10), (255, 2), (long.MaxValue, 16), (5, 0), (5, -1), (-5, 3), (99, 7) })
            yield return ("digits", [x, b]);
        foreach (var (x, y, z) in new (long, long, long)[] { (10, 3, 4), (-9, 2, 7), (5, 5, 5), (long.MinValue, 0, -1), (0, -1, 1), (123456, -77, 3) })
            yield return ("crowded", [x, y, z]);
    }

    [TestMethod]
    public void TheRemainderAndTheDivisionOfTheSameOperandsAreNeighbours()
    {
        var module = Optimise(Source);
        foreach (var name in new[] { "qr", "rq", "apart", "digits", "record" })
        {
            var instructions = Instructions(Function(module, name)).ToList();
            var division = instructions.FindIndex(i => i.Op == Opcode.Divide);
            var text = $"{name}:\n{IrPrinter.Print(Function(module, name))}";
            Assert.IsTrue(division >= 0, text);
            // The quotient first, except where it replaces an operand (digits' x = x / b): there the
            // remainder first, so the division is the operands' last reader.
            var partner = name == "digits" ? division - 1 : division + 1;
            Assert.IsTrue(partner >= 0 && partner < instructions.Count, text);
            Assert.AreEqual(Opcode.Remainder, instructions[partner].Op, text);
            Assert.IsTrue(instructions[partner].Arguments.SequenceEqual(instructions[division].Arguments), text);
        }
    }

    [TestMethod]
    public void PairedDivisionsGiveTheTotalResultsOnX64AtBothLevels() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls().Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));

    [TestMethod]
    public void PairedDivisionsGiveTheTotalResultsOnArm64AtBothLevels() =>
        Arm64Batch.AssertCalls(Source, Calls().Select(c => new Arm64Case(c.Function, c.Arguments, Reference(c.Function, c.Arguments))).ToList());
}
