using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Recursions of several shapes (non-tail self calls inside tail calls, sums nested every way,
/// two parameters, mutual recursion with accumulators, recursion over a structure in memory),
/// which self-inlining copies into themselves a few levels deep: every function keeps its O0
/// result at O1, on x86-64 and (one qemu batch) on AArch64, at the base cases, just past them,
/// and with negative and extreme arguments.
/// </summary>
[TestClass]
public sealed class SelfRecursionTests
{
    private const string Shapes = """
        (define-function ack (m n) (cond ((= m 0) (+ n 1)) ((= n 0) (ack (- m 1) 1)) (else (ack (- m 1) (ack m (- n 1))))))
        (define-function trib (n) (if (< n 3) (+ n 1) (+ (+ 1 (trib (- n 3))) (+ (trib (- n 1)) (trib (- n 2))))))
        (define-function pell (n) (if (< n 2) n (- (+ (pell (- n 2)) (* 2 (pell (- n 1)))) 0)))
        (define-function binom (n k) (if (or (<= k 0) (>= k n)) 1 (+ (binom (- n 1) k) (binom (- n 1) (- k 1)))))
        (define-function wrap (n) (if (< n 1) 9223372036854775807 (+ (wrap (- n 1)) (wrap (- n 1)))))
        (define-function ping (n acc) (if (<= n 0) acc (pong (- n 1) (+ acc (* n 3)))))
        (define-function pong (n acc) (if (<= n 0) (- acc) (if (& n 1) (ping (- n 1) (^ acc n)) (ping (- n 2) (+ acc 7)))))
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function tree (d v)
          (if (<= d 0) 0
            (let ((t (malloc 24)))
              (set-oop-at t 0 v) (set-oop-at t 1 (tree (- d 1) (* v 2))) (set-oop-at t 2 (tree (- d 1) (- 0 v))) t)))
        (define-function weigh (t d) (if (= t 0) 0 (+ (+ (* d (oop-at t 0)) (weigh (oop-at t 2) (+ d 1))) (weigh (oop-at t 1) (+ d 1)))))
        (define-function kill (t) (when t (kill (oop-at t 1)) (kill (oop-at t 2)) (free t)))
        (define-function weighed (d v) (let ((t (tree d v))) (let ((w (weigh t 1))) (kill t) w)))
        """;

    private static readonly (string Name, long[][] Arguments)[] Calls =
    [
        ("ack", [[0, 0], [0, -5], [1, 0], [1, 3], [2, 3], [3, 3], [2, 0], [3, 5]]),
        ("trib", [[-4], [0], [2], [3], [4], [12], [18]]),
        ("pell", [[long.MinValue], [-1], [0], [1], [2], [10], [20]]),
        ("binom", [[0, 0], [5, -1], [5, 6], [10, 3], [16, 8], [-3, 2]]),
        ("wrap", [[-1], [0], [1], [2], [10]]),
        ("ping", [[0, long.MaxValue], [1, long.MinValue], [17, 0], [1000, -5], [-3, 4]]),
        ("weighed", [[0, 1], [1, 5], [6, 3], [10, -7], [4, long.MaxValue]]),
    ];

    [TestMethod]
    public void RecursionsKeepTheirResults()
    {
        foreach (var (name, arguments) in Calls)
            AssertSameAtBothLevels(Shapes, name, arguments);
        using var o1 = CompiledLibrary.Compile(Shapes);
        Assert.AreEqual(29, o1.Call("ack", 2, 13));
        Assert.AreEqual(253, o1.Call("ack", 3, 5));
        Assert.AreEqual(12870, o1.Call("binom", 16, 8));
        Assert.AreEqual(unchecked(long.MaxValue * 1024), o1.Call("wrap", 10), "wrapping sums");
    }

    [TestMethod]
    public void EveryFunctionAgreesOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Shapes, Calls.SelectMany(c => c.Arguments.Select(a => (c.Name, a))));
}
