using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Lowering;

/// <summary>
/// What a combination's head name means to lowering, in its order: a local variable (called
/// indirectly), a special form, a compiled definition, and only then an operator compiled inline.
/// The compiled code runs and its results are compared, so a name given the wrong meaning gives a
/// wrong value or no library.
/// </summary>
[TestClass]
public sealed class HeadNameTests
{
    private const string Source = """
        (compile-begin)
        ; Compiled functions named like operators: calls go to them, not to the operators.
        (define-function not (x) (+ x 100))
        (define-function oop-at (p i) (* p i))
        (define-function uses-not (x) (not x))
        (define-function uses-oop-at (x) (oop-at x 3))
        (define-function plus-one (x) (+ x 1))
        (define-function times-two (x) (* x 2))
        ; Locals named like operators and special forms hold function pointers: calls are indirect.
        (define-function local-minus (x) (let ((- plus-one)) (- x)))
        (define-function local-if (x) (let ((if times-two)) (if x)))
        (define-function local-set-oop-at (x) (let ((set-oop-at plus-one)) (set-oop-at x)))
        ; Nothing shadows these: the operators themselves, with their operand counts.
        (define-function negate (x) (- x))
        (define-function subtract (x y) (- x y))
        (define-function shifts (x) (| (<< x 3) (>> x 1)))
        (define-function compare (x y) (+ (+ (* 8 (< x y)) (* 4 (<= x y))) (+ (* 2 (= x y)) (!= x y))))
        (compile-end)
        """;

    [TestMethod]
    public void HeadNamesTakeTheirMeaningInLoweringsOrder() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source,
        [
            ("uses-not", [5], 105),
            ("uses-not", [0], 100),
            ("uses-oop-at", [7], 21),
            ("local-minus", [41], 42),
            ("local-minus", [-1], 0),
            ("local-if", [21], 42),
            ("local-if", [0], 0),
            ("local-set-oop-at", [9], 10),
            ("negate", [5], -5),
            ("negate", [long.MinValue], long.MinValue),
            ("subtract", [5, 7], -2),
            ("subtract", [long.MinValue, 1], long.MaxValue),
            ("shifts", [5], 42),
            ("shifts", [-8], -4),
            ("compare", [1, 2], 13),
            ("compare", [2, 2], 6),
            ("compare", [3, 2], 1),
            ("compare", [-3, 2], 13),
        ]);
}
