using System.Text;
using Maru.Compiler.Ir;
using static Maru.Compiler.Tests.TestSupport.IrTesting;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// The two helpers the substitution passes share, seen through compiled code executed at O0 and
/// O1: the dominator-tree walk (what value numbering, branch facts and SSA renaming learn in one
/// subtree ends with it, and a chain thousands of blocks deep is walked without recursion) and
/// the block rewrite (substitutions reach branch conditions and returned values).
/// </summary>
[TestClass]
public sealed class ScopedWalkAndRewriteTests
{
    [TestMethod]
    public void WhatOneBranchLearnsDoesNotReachItsSiblingOrTheJoin()
    {
        // x is 3 inside the then-branch only; (* x y) computed there must not stand for the
        // else-branch's or the join's, and a variable's name in one arm is not its name in the other.
        const string source = """
            (define-function f (x y)
              (let ((r 0) (s (* x 2)))
                (if (= x 3)
                    (let () (set r (+ x (* x y))) (set s (- s 1)))
                  (let () (set r (- (* x y) x)) (set s (+ s 1))))
                (+ (+ (* 1000 r) (* 100 s)) (+ (* x y) (= x 3)))))
            """;
        var results = AssertSameAtBothLevels(source, "f", [.. from x in new long[] { 3, 4, -3, 0 } from y in new long[] { 0, 1, 7, -2 } select new[] { x, y }]);
        Assert.AreEqual(1000 * (3 + 3 * 7) + 100 * 5 + 3 * 7 + 1, results[2]); // f(3, 7)
        Assert.AreEqual(1000 * (4 * 7 - 4) + 100 * 9 + 4 * 7, results[6]);    // f(4, 7)
    }

    [TestMethod]
    public void ADominatorChainThousandsOfBlocksDeepIsWalked()
    {
        // Each join dominates the next: a dominator tree 2,000 levels deep, every level learning
        // (= x k) on one edge and numbering the same product.
        const int depth = 2000;
        var source = new StringBuilder("(define-function f (x y) (let ((r 0))");
        for (var k = 0; k < depth; k++) source.Append($" (if (= x {k}) (set r (+ r (+ (* x y) {k}))))");
        source.Append(" (+ r (* x y))))");
        var results = AssertSameAtBothLevels(source.ToString(), "f", [0, 5], [1, 5], [1234, 2], [depth - 1, -1], [depth, 3], [-1, 4]);
        CollectionAssert.AreEqual(new long[] { 0, 2 * 5 + 1, 1234 * 2 * 2 + 1234, -(depth - 1) * 2 + depth - 1, depth * 3, -4 }, results);
    }

    [TestMethod]
    public void SubstitutionsReachBranchConditionsAndReturnedValues()
    {
        // Copies of the parameter and of the test feed the branch and both returns directly.
        const string source = """
            (define-function f (a)
              (let ((c (< a 5)) (d a) (e 0))
                (set e c)
                (if e (+ d 1) d)))
            (define-function g (a) (let ((d a)) (while (< d 10) (set d (+ d 3))) d))
            """;
        CollectionAssert.AreEqual(new long[] { 1, 5, 9, -6 }, AssertSameAtBothLevels(source, "f", [0], [5], [9], [-7]));
        CollectionAssert.AreEqual(new long[] { 12, 10, 11, 1000 }, AssertSameAtBothLevels(source, "g", [0], [10], [-1], [1000]));
    }
}
