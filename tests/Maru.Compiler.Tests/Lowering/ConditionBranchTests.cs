using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Lowering;

/// <summary>
/// (and ...) and (or ...) as the condition of if and while are lowered to jumps between their
/// operands' blocks (no merged value tested again): the compiled code, at O0 and O1 and on arm64,
/// still evaluates the operands left to right, stops at the first that decides, runs a return
/// inside one, and gives (and) = 1, (or) = 0 and a used and/or value as before.
/// </summary>
[TestClass]
public sealed class ConditionBranchTests
{
    private const string Source = """
        (define trace 0)
        (define-function note (k v) (set trace (+ (* trace 10) k)) v)
        (define-function nested (a b c)
          (set trace 0)
          (let ((r (if (and (note 1 a) (or (note 2 b) (note 3 c))) 7 9)))
            (+ (* r 100000) trace)))
        (define-function loop (n m)
          (let ((i 0) (s 0))
            (while (and (< i n) (or (< (* i i) m) (= (& i 1) 0)) (not (= i 13)))
              (set s (+ (* s 3) i))
              (set i (+ i 1)))
            (+ (* s 100) i)))
        (define-function empty (a)
          (+ (+ (if (and) 1 2) (* 10 (if (or) 1 2)))
             (+ (* 100 (if (and a) 1 2)) (* 1000 (if (or (note 4 a)) 1 2)))))
        (define-function early (a b)
          (if (or (= a 0) (and (> b 5) (return (+ a b)))) 11 (- a b)))
        (define-function valued (x)
          (let ((v (and x (note 5 (+ x 1)))))
            (cond ((and (> x 10) (< x 20)) (+ v 1000))
                  ((or (< x -5) (= x 3)) (+ v 2000))
                  (else v))))
        """;

    private static readonly (string Function, long[] Arguments)[] Calls =
    [
        ("nested", [0, 0, 0]), ("nested", [0, 1, 1]), ("nested", [1, 0, 0]), ("nested", [1, 0, 5]), ("nested", [-1, 2, 0]),
        ("loop", [0, 100]), ("loop", [5, 0]), ("loop", [40, 50]), ("loop", [100, 1000]), ("loop", [long.MaxValue, long.MinValue]),
        ("empty", [0]), ("empty", [-3]),
        ("early", [0, 9]), ("early", [4, 9]), ("early", [4, 5]), ("early", [long.MaxValue, 6]), ("early", [-2, -7]),
        ("valued", [0]), ("valued", [15]), ("valued", [-9]), ("valued", [3]), ("valued", [7]), ("valued", [long.MaxValue]),
    ];

    [TestMethod]
    public void AndOrConditionsBranchInOrderAndStopAtTheDecidingOperand()
    {
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls.Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));
        Arm64Batch.AssertSameAsX64(Source, Calls);
    }

    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            switch (function)
            {
                case "nested":
                {
                    long trace = 1;
                    bool taken;
                    if (a[0] == 0) taken = false;
                    else
                    {
                        trace = 12;
                        if (a[1] != 0) taken = true;
                        else
                        {
                            trace = 123;
                            taken = a[2] != 0;
                        }
                    }
                    return (taken ? 7 : 9) * 100000 + trace;
                }
                case "loop":
                {
                    long i = 0, s = 0;
                    while (i < a[0] && (i * i < a[1] || (i & 1) == 0) && i != 13)
                    {
                        s = s * 3 + i;
                        i++;
                    }
                    return s * 100 + i;
                }
                case "empty":
                    return 1 + 10 * 2 + (a[0] != 0 ? 1100 : 2200);
                case "early":
                    if (a[0] == 0) return 11;
                    return a[1] > 5 ? a[0] + a[1] : a[0] - a[1];
                case "valued":
                {
                    var x = a[0];
                    var v = x != 0 ? x + 1 : 0;
                    if (x > 10 && x < 20) return v + 1000;
                    if (x < -5 || x == 3) return v + 2000;
                    return v;
                }
                default:
                    throw new ArgumentException(function);
            }
        }
    }
}
