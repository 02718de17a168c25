using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>The prelude's code-writing macros, compiled to native code and run.</summary>
[TestClass]
public sealed class PreludeExecutionTests
{
    [TestMethod]
    [DataRow(-5L, -1L)]
    [DataRow(0L, 0L)]
    [DataRow(7L, 1L)]
    public void Cond(long x, long expected)
    {
        using var library = CompiledLibrary.Compile("(define-function sign (x) (cond ((< x 0) -1) ((= x 0) 0) (else 1)))");
        Assert.AreEqual(expected, library.Call("sign", x));
    }

    [TestMethod]
    public void CondWithoutElseAndWithSeveralForms()
    {
        using var library = CompiledLibrary.Compile("(define-function f (x) (let ((y 0)) (cond ((= x 1) (set y 10) (+ y 1)) ((= x 2) 20))))");
        Assert.AreEqual(11, library.Call("f", 1));
        Assert.AreEqual(20, library.Call("f", 2));
        Assert.AreEqual(0, library.Call("f", 3));
    }

    [TestMethod]
    [DataRow("(when 1 2 3)", 3L)]
    [DataRow("(when 0 2 3)", 0L)]
    [DataRow("(unless 0 2 3)", 3L)]
    [DataRow("(unless 5 2 3)", 5L)]
    [DataRow("(let* ((a 1) (b (+ a 1)) (c (* b 10))) (+ a c))", 21L)]
    [DataRow("(let* () 4)", 4L)]
    [DataRow("(let ((s 0)) (for (i 0 5) (set s (+ s i))) s)", 10L)]
    [DataRow("(let ((s 0)) (for (i 0 10 3) (set s (+ (* s 10) i))) s)", 369L)]
    [DataRow("(let ((s 0)) (for (i 0 3) (for (j 0 3) (set s (+ s (* i j))))) s)", 9L)]
    [DataRow("(let ((i 0)) (until (= i 7) (incr i)) i)", 7L)]
    [DataRow("(let ((i 10)) (decr i) (decr i 3) i)", 6L)]
    [DataRow("(let ((i 10)) (incr i 5))", 15L)]
    public void ControlMacros(string expression, long expected) =>
        Assert.AreEqual(expected, CompiledLibrary.Evaluate(expression));

    [TestMethod]
    public void ConstantsFoldIntoCompiledCode()
    {
        using var library = CompiledLibrary.Compile("""
            (compile-begin)
            (define-constant WORD 8)
            (define-constant BIG (<< 1 40))
            (define-function words (n) (* n WORD))
            (define-function big () BIG)
            (compile-end)
            """);
        Assert.AreEqual(24, library.Call("words", 3));
        Assert.AreEqual(1L << 40, library.Call("big"));
        Assert.DoesNotContain("WORD", library.Result.Exports.Select(e => e.MaruName).ToList());
    }

    [TestMethod]
    public void StructureAccessorsUseEightByteWords()
    {
        using var library = CompiledLibrary.Compile("""
            (compile-begin)
            (define malloc (extern 'malloc))
            (define free (extern 'free))
            (define-structure <point> (x y z))
            (define-function point-test (a b)
              (let ((p (malloc (* 8 3))) (r 0))
                (set (<point>-x p) a)
                (set (<point>-y p) b)
                (set-<point>-z p (+ a b))
                (incr (<point>-z p) 100)
                (set r (+ (<point>-x p) (+ (* 10 (<point>-y p)) (* 1000 (<point>-z p)))))
                (free p)
                r))
            (define-function point-type () <point>)
            (compile-end)
            """);
        Assert.AreEqual(1 + 20 + 103_000, library.Call("point-test", 1, 2));
        Assert.AreEqual(17, library.Call("point-type")); // the first structure type number after the built-in types
    }

    // boot.l's structure machinery for the built-in types, as eval.l uses it: a size-of-structure
    // macro reads %structure-sizes by type number, accessors of the built-in types lay out C-side
    // records, and fields named _x go through long-at (which the program may define itself).
    [TestMethod]
    public void BuiltInTypesAreStructuresWithBootLsSizesAndFields()
    {
        using var library = CompiledLibrary.Compile("""
            (define-form words-of (type) (array-at %structure-sizes (eval type)))
            (define-form size-of-structure (type) (* 8 (array-at %structure-sizes (eval type))))
            (compile-begin)
            (define calloc (extern 'calloc))
            (define free (extern 'free))
            (define-function sizes ()
              (+ (size-of-structure <long>)
                 (+ (* 100 (words-of <pair>))
                    (+ (* 1000 (words-of <variable>))
                       (+ (* 10000 (words-of <context>)) (* 100000 (words-of <undefined>)))))))
            (define-function pair-sum (a b)
              (let ((p (calloc 1 (size-of-structure <pair>))) (r 0))
                (set (<pair>-head p) a)
                (set (<pair>-tail p) b)
                (set (<pair>-source p) (+ (<pair>-head p) (<pair>-tail p)))
                (set r (+ (oop-at p 2) (* 1000 (oop-at p 1))))
                (free p)
                r))
            (define-function string-record (n)
              (let ((s (calloc 1 (size-of-structure <string>))) (r 0))
                (set (<string>-size s) n)
                (set (<string>-_bits s) (* n 3))
                (set r (+ (<string>-size s) (oop-at s 1)))
                (free s)
                r))
            (define-function type-numbers ()
              (+ <long> (+ (* 10 <pair>) (+ (* 100 <_array>) (* 1000 <context>)))))
            (compile-end)
            """);
        Assert.AreEqual(8 + 300 + 5000 + 50000, library.Call("sizes"));
        Assert.AreEqual(7 + 4000, library.Call("pair-sum", 3, 4));
        Assert.AreEqual(5 + 15, library.Call("string-record", 5));
        Assert.AreEqual(2 + 60 + 700 + 15000, library.Call("type-numbers"));
    }

    [TestMethod]
    public void RawFieldsGoThroughTheProgramsOwnLongAt()
    {
        // As in boot.l, (<long>-_bits x) is (long-at x 0): a program that defines long-at decides what it reads.
        using var library = CompiledLibrary.Compile("""
            (define-form long-at (base index) `(+ 1000 (oop-at ,base ,index)))
            (compile-begin)
            (define calloc (extern 'calloc))
            (define-function boxed (n) (let ((b (calloc 1 8))) (set (oop-at b 0) n) (<long>-_bits b)))
            (compile-end)
            """);
        Assert.AreEqual(1042, library.Call("boxed", 42));
    }

    [TestMethod]
    public void BuiltInStructureTablesAtCompileTime()
    {
        Assert.AreEqual("(1 2 3 5 5 0 (size _bits) (head tail source) <context> 17)", CompileTime.Value(
            "(list (array-at %structure-sizes <long>) (array-at %structure-sizes <string>) (array-at %structure-sizes <pair>)" +
            " (array-at %structure-sizes <env>) (array-at %structure-sizes <context>) (array-at %structure-sizes <data>)" +
            " (fields-of-type <string>) (fields-of-type <pair>) (name-of-type 15) <pt>)",
            "(define-structure <pt> (x y))"));
        Assert.AreEqual("(9 7 t)", CompileTime.Value(
            "(let ((p (new <pair> 9 7))) (list (<pair>-head p) (<pair>-tail p) (= (type-of p) <pair>)))"));
    }

    [TestMethod]
    public void MacrosUseListFunctionsAtCompileTimeToWriteCode()
    {
        using var library = CompiledLibrary.Compile("""
            (define-function %case-clauses (x cases)
              (map (lambda (case) (if (= 'else (car case)) case `((= ,x ,(car case)) ,@(cdr case)))) cases))
            (define-form case (value . cases)
              `(let ((_v_ ,value)) (cond ,@(%case-clauses '_v_ cases))))
            (define-form sum-all args (foldr (lambda (a b) `(+ ,a ,b)) 0 args))
            (define-form unrolled (var count . body)
              (let ((forms ()))
                (for (i 0 count) (push forms `(let ((,var ,i)) ,@body)))
                `(let () ,@(reverse forms))))
            (compile-begin)
            (define-function classify (n) (case n (1 100) (2 200) (else -1)))
            (define-function total (a b c) (sum-all a b c 1000))
            (define-function squares () (let ((s 0)) (unrolled i 4 (set s (+ s (* i i)))) s))
            (compile-end)
            """);
        Assert.AreEqual(100, library.Call("classify", 1));
        Assert.AreEqual(200, library.Call("classify", 2));
        Assert.AreEqual(-1, library.Call("classify", 9));
        Assert.AreEqual(1006, library.Call("total", 1, 2, 3));
        Assert.AreEqual(14, library.Call("squares"));
    }

    [TestMethod]
    public void SelectorsAndGenericsDispatchAtCompileTime()
    {
        using var library = CompiledLibrary.Compile("""
            (define-selector gen-double)
            (define-method gen-double <long> () (* 2 self))
            (define-method gen-double <symbol> () `(* 2 ,self))
            (define-method gen-double <pair> () `(let ((_x_ ,self)) (+ _x_ _x_)))
            (define-form double (x) (gen-double x))
            (define-multimethod combine ((<long> a) (<long> b)) (+ a b))
            (define-multimethod combine ((<symbol> a) (<long> b)) `(+ ,a ,b))
            (define-form combined (a b) (combine a b))
            (compile-begin)
            (define-function d1 () (double 21))
            (define-function d2 (n) (double n))
            (define-function d3 (n) (double (+ n 1)))
            (define-function c1 () (combined 40 2))
            (define-function c2 (n) (combined n 2))
            (compile-end)
            """);
        Assert.AreEqual(42, library.Call("d1"));
        Assert.AreEqual(10, library.Call("d2", 5));
        Assert.AreEqual(12, library.Call("d3", 5));
        Assert.AreEqual(42, library.Call("c1"));
        Assert.AreEqual(7, library.Call("c2", 5));
    }

    [TestMethod]
    public void SelectorWithoutAMethodIsAUserError()
    {
        var errors = CompiledLibrary.Errors("(define-selector gen)\n(define-form g (x) (gen x))\n(define-function f () (g \"s\"))\n(compile-begin)(compile-end)");
        Assert.HasCount(1, errors);
        Assert.AreEqual("in expansion of macro 'g': selector gen has no method for <string>: s", errors[0].Message);
    }

    [TestMethod]
    public void CompileTimeInstancesWithNewAndMake() =>
        Assert.AreEqual("(3 4 t)", CompileTime.Value("(let ((p (make <pt> (x 3) (y 4)))) (list (<pt>-x p) (<pt>-y p) (= (type-of p) <pt>)))",
            "(define-structure <pt> (x y))"));

    [TestMethod]
    public void CompileTimeFunctionsComputeGlobals()
    {
        using var library = CompiledLibrary.Compile("""
            (define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
            (compile-begin)
            (define fib-20 (fib 20))
            (define greeting (concat-string "hello, " (symbol->string 'world)))
            (define-function get () fib-20)
            (compile-end)
            """);
        Assert.AreEqual(6765, library.Call("get"));
        Assert.AreEqual(6765, library.Global("fib-20"));
    }
}
