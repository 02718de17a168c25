using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>Calls between compiled functions, recursion, stack arguments and globals.</summary>
public abstract class CallTests : ExecutionTests
{
    [TestMethod]
    public void RecursionAndForwardReferences()
    {
        using var library = Compile("""
            (define-function fibs (n) (if (< n 2) 1 (+ 1 (+ (fibs (- n 1)) (fibs (- n 2))))))
            (define-function is-even (n) (if (= n 0) 1 (is-odd (- n 1))))
            (define-function is-odd (n) (if (= n 0) 0 (is-even (- n 1))))
            (define gcd (lambda (a b) (if (= b 0) a (gcd b (% a b)))))
            """);
        Assert.AreEqual(1973, library.Call("fibs", 15)); // the value maru-2.4's test-emit.l prints
        Assert.AreEqual(1, library.Call("is-even", 10));
        Assert.AreEqual(1, library.Call("is-odd", 7));
        Assert.AreEqual(6, library.Call("gcd", 48, 18));
    }

    [TestMethod]
    public void DeepRecursionRunsOnTheNativeStack()
    {
        using var library = Compile("(define-function depth (n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))");
        long result = 0;
        // A thread with a known, generous stack so the depth does not depend on the test host's threads.
        var thread = new Thread(() => result = library.Call("depth", 100_000), maxStackSize: 256 * 1024 * 1024);
        thread.Start();
        thread.Join();
        Assert.AreEqual(100_000, result);
    }

    [TestMethod]
    public void ArgumentsBeyondTheSixthArePassedOnTheStack()
    {
        using var library = Compile("""
            (define-function weigh (a b c d e f g h i j) (+ a (+ (* 2 b) (+ (* 3 c) (+ (* 4 d) (+ (* 5 e) (+ (* 6 f) (+ (* 7 g) (+ (* 8 h) (+ (* 9 i) (* 10 j)))))))))))
            (define-function seven (a b c d e f g) (- a g))
            (define-function call-weigh () (weigh 1 2 3 4 5 6 7 8 9 10))
            (define-function call-seven () (seven 100 0 0 0 0 0 1))
            """);
        Assert.AreEqual(385, library.Call("weigh", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
        Assert.AreEqual(385, library.Call("call-weigh"));
        Assert.AreEqual(99, library.Call("call-seven"));
        Assert.AreEqual(-1, library.Call("seven", 1, 0, 0, 0, 0, 0, 2));
    }

    [TestMethod]
    public void IntegerGlobalsKeepTheirValueBetweenCalls()
    {
        using var library = Compile("""
            (define counter 40)
            (define limit -3)
            (define-function bump () (set counter (+ counter 1)))
            (define-function get-limit () limit)
            """);
        Assert.AreEqual(40, library.Global("counter"));
        Assert.AreEqual(41, library.Call("bump"));
        Assert.AreEqual(42, library.Call("bump"));
        Assert.AreEqual(42, library.Global("counter"));
        Assert.AreEqual(-3, library.Call("get-limit"));
    }

    [TestMethod]
    public void FilesOfOneCompilationShareOneEnvironment()
    {
        using var library = Compile([
            new SourceFile("a.l", "(define-function twice (x) (helper (helper x)))"),
            new SourceFile("b.l", "(define-function helper (x) (* x 2))"),
        ]);
        Assert.AreEqual(20, library.Call("twice", 5));
    }

    [TestMethod]
    public void NamesThatAreNotCIdentifiersAreExportedMangled()
    {
        using var library = Compile("(define-function prime? (n) (let ((d 2) (r 1)) (while (< (* d d) (+ n 1)) (if (= 0 (% n d)) (set r 0)) (set d (+ d 1))) (and (> n 1) r)))");
        Assert.AreEqual(1, library.Call("prime?", 97));
        Assert.AreEqual(0, library.Call("prime?", 91));
        Assert.AreNotEqual(nint.Zero, System.Runtime.InteropServices.NativeLibrary.GetExport(library.Handle, "__maru_prime_3f"));
    }
}

[TestClass]
public sealed class CallTestsAtO0 : CallTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class CallTestsAtO1 : CallTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
