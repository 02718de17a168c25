using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class PassPipelineTests
{
    private const string Program = """
        (define-function helper (x) (* x 2))
        (define-function main (n) (let ((i 0) (s 0)) (while (< i n) (set s (+ s (helper i))) (set i (+ i 1))) s))
        """;

    [TestMethod]
    public void TheDumpHookSeesEveryStageInOrderCalleesFirst()
    {
        var dumps = new List<IrDump>();
        var options = new CompilationOptions
        {
            Target = Targets.TargetPlatform.LinuxX64, LibraryName = "test", VerifyIr = true, DumpIr = dumps.Add,
        };
        var result = MaruCompiler.Compile([new SourceFile("test.l", Program)], options);
        Assert.IsTrue(result.Success);
        CollectionAssert.AreEqual(PassPipeline.StageNames.Concat(PassPipeline.StageNames).ToList(), dumps.Select(d => d.Stage).ToList());
        Assert.AreEqual("helper", dumps[0].FunctionName);
        Assert.AreEqual("main", dumps[^1].FunctionName);
        StringAssert.StartsWith(dumps[^1].Text, "function $main(%0)");
    }

    [TestMethod]
    public void AtO0TheLoweredIrGoesStraightToTheBackend()
    {
        var dumps = new List<IrDump>();
        var options = CompiledLibrary.OptionsAt(OptimisationLevel.O0);
        var result = MaruCompiler.Compile([new SourceFile("test.l", Program)], new CompilationOptions
        {
            Target = options.Target, LibraryName = options.LibraryName, Optimisation = OptimisationLevel.O0, DumpIr = dumps.Add,
        });
        Assert.IsTrue(result.Success);
        Assert.IsTrue(dumps.All(d => d.Stage == "lower"));
    }

    [TestMethod]
    public void OptimisedOutputIsDeterministic()
    {
        var first = CompiledLibrary.CompileOnly(Program).Library!;
        var second = CompiledLibrary.CompileOnly(Program).Library!;
        CollectionAssert.AreEqual(first, second);
    }

    internal static string FiftyLines() => """
        (define counter 0)
        (define-function square (x) (* x x))
        (define-function clamp (x lo hi) (if (< x lo) lo (if (> x hi) hi x)))
        (define-function sum-to (n acc) (if (= n 0) acc (sum-to (- n 1) (+ acc n))))
        (define-function gcd (a b) (if (= b 0) a (gcd b (% a b))))
        (define-function fib-iter (n)
          (let ((a 0) (b 1))
            (while (> n 0)
              (let ((t (+ a b))) (set a b) (set b t))
              (set n (- n 1)))
            a))
        (define-function prime? (n)
          (let ((d 2) (r 1))
            (while (< (* d d) (+ n 1))
              (if (= 0 (% n d)) (set r 0))
              (set d (+ d 1)))
            (and (> n 1) r)))
        (define-function count-primes (n)
          (let ((i 0) (c 0))
            (while (< i n)
              (if (prime? i) (set c (+ c 1)))
              (set i (+ i 1)))
            c))
        (define-function sum-words (p n)
          (let ((s 0) (i 0))
            (while (< i n)
              (set s (+ s (oop-at p i)))
              (set i (+ i 1)))
            s))
        (define-function fill (p n k)
          (let ((i 0))
            (while (< i n)
              (set-oop-at p i (+ (* k 8) (/ i 4)))
              (set i (+ i 1)))
            n))
        (define-function grid (n k)
          (let ((i 0) (s 0))
            (while (< i n)
              (let ((j 0))
                (while (< j n)
                  (set s (+ s (clamp (+ (square k) (* i j)) 0 1000)))
                  (set j (+ j 1))))
              (set i (+ i 1)))
            s))
        (define-function bump () (set counter (+ counter 1)) counter)
        (define-function main (n)
          (+ (count-primes n) (+ (fib-iter 20) (+ (grid n 3) (+ (sum-to n 0) (gcd 48 18))))))
        """;
}
