namespace Maru.Compiler.Tests.Evaluation;

/// <summary>The interpreter: special forms, closures and every primitive family, with maru-2.4's values.</summary>
[TestClass]
public sealed class InterpreterTests
{
    [TestMethod]
    [DataRow("42", "42")]
    [DataRow("\"hi\\n\"", "\"hi\\n\"")]
    [DataRow("'sym", "sym")]
    [DataRow("'(1 (2 . 3) \"s\")", "(1 (2 . 3) \"s\")")]
    [DataRow("()", "()")]
    [DataRow("(quote (a b))", "(a b)")]
    public void SelfEvaluatingAndQuoted(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    [DataRow("(if)", "()")]
    [DataRow("(if 1)", "()")]
    [DataRow("(if 1 2)", "2")]
    [DataRow("(if () 2 3 4)", "4")]
    [DataRow("(if 0 'zero-is-true 'no)", "zero-is-true")] // only nil is false in the interpreter, as in maru
    [DataRow("(and)", "t")]
    [DataRow("(or)", "()")]
    [DataRow("(and 1 2 3)", "3")]
    [DataRow("(and 1 () 3)", "()")]
    [DataRow("(or () 2 3)", "2")]
    [DataRow("(let ((x 1) (y 2)) (+ x y))", "3")]
    [DataRow("(let ((y 1 2 3 42)) y)", "42")]
    [DataRow("(let (a (b)) (list a b))", "(() ())")]
    [DataRow("(let ((a 1)) (let ((a 2) (b a)) b))", "1")]
    [DataRow("(let ((i 0) (s 0)) (while (< i 5) (set s (+ s i)) (set i (+ i 1))) s)", "10")]
    [DataRow("(let ((i 0)) (while (< i 5) (set i (+ i 1))))", "()")]
    [DataRow("(let ((x 1)) (set x 5))", "5")]
    public void SpecialForms(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    // Primitive calls reuse their argument arrays: calls that run the interpreter again while their
    // own arguments are in use (eval, apply, a closure given to map), an error inside one, and what
    // follows must each see their own arguments.
    [TestMethod]
    [DataRow("(let ((f (lambda (x) (cons x (eval (list 'cons x 2)))))) (cons (f 1) (apply cons '(3 4))))", "((1 1 . 2) 3 . 4)")]
    [DataRow("(map (lambda (x) (cons x (car (map (lambda (y) (cons x y)) (list x))))) '(1 2))", "((1 1 . 1) (2 2 . 2))")]
    [DataRow("(cons (cons 1 (cons 2 (cons 3 ()))) (cons (+ 4 (+ 5 6)) (list 7 (list 8 9))))", "((1 2 3) 15 7 (8 9))")]
    public void NestedPrimitiveCallsKeepTheirOwnArguments(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    public void APrimitiveCallThatFailsLeavesLaterCallsTheirArguments()
    {
        var run = CompileTime.Evaluate("(cons 1 (car 1 2))\n(dump (cons 2 (cons (+ 3 4) ())))\n(compile-begin)\n(compile-end)");
        Assert.HasCount(1, run.Errors, string.Join("\n", run.Diagnostics));
        Assert.AreEqual("(2 7)", run.Result.Messages[^1]);
    }

    [TestMethod]
    public void ClosuresCaptureTheirLexicalScope()
    {
        const string definitions = """
            (define make-counter (lambda () (let ((n 0)) (lambda () (set n (+ n 1))))))
            (define c1 (make-counter))
            (define c2 (make-counter))
            (c1) (c1) (c2)
            """;
        Assert.AreEqual("(3 2)", CompileTime.Value("(list (c1) (c2))", definitions));
    }

    [TestMethod]
    public void RestParametersAndApply()
    {
        Assert.AreEqual("(1 (2 3))", CompileTime.Value("((lambda (a . rest) (list a rest)) 1 2 3)"));
        Assert.AreEqual("(1 2 3)", CompileTime.Value("((lambda args args) 1 2 3)"));
        Assert.AreEqual("10", CompileTime.Value("(apply + 4 '(6))"));
        Assert.AreEqual("(1 2 3 4)", CompileTime.Value("(apply list 1 2 '(3 4))"));
    }

    [TestMethod]
    public void DefineIsGlobalEvenInsideLet() =>
        Assert.AreEqual("7", CompileTime.Value("g", "(let ((x 7)) (define g x))"));

    [TestMethod]
    public void RecursionAndForwardReferencesInsideFunctions() =>
        Assert.AreEqual("(120 yes)", CompileTime.Value("(list (fact 5) (later))",
            "(define-function fact (n) (if (< n 2) 1 (* n (fact (- n 1)))))\n(define-function uses-later () (later))\n(define-function later () 'yes)"));

    [TestMethod]
    [DataRow("(+ 9223372036854775807 1)", "-9223372036854775808")]
    [DataRow("(- 3)", "-3")]
    [DataRow("(- 3 5)", "-2")]
    [DataRow("(* 6 7)", "42")]
    [DataRow("(/ 7 2)", "3")]
    [DataRow("(/ -7 2)", "-3")]
    [DataRow("(/ 7 0)", "0")]
    [DataRow("(% 7 0)", "0")]
    [DataRow("(/ -9223372036854775808 -1)", "-9223372036854775808")]
    [DataRow("(% -7 2)", "-1")]
    [DataRow("(<< 1 65)", "2")]
    [DataRow("(>> -16 2)", "-4")]
    [DataRow("(& 12 10)", "8")]
    [DataRow("(| 12 10)", "14")]
    [DataRow("(^ 12 10)", "6")]
    [DataRow("(~ 0)", "-1")]
    [DataRow("(< 1 2)", "t")]
    [DataRow("(> 1 2)", "()")]
    [DataRow("(<= 2 2)", "t")]
    [DataRow("(>= 1 2)", "()")]
    [DataRow("(= 3 3)", "t")]
    [DataRow("(!= 3 3)", "()")]
    [DataRow("(= 'a 'a)", "t")]
    [DataRow("(= \"ab\" \"ab\")", "t")]
    [DataRow("(= '(1) '(1))", "()")]
    [DataRow("(not ())", "t")]
    [DataRow("(not 0)", "()")]
    public void IntegersHaveTheCompiledSemantics(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    [DataRow("(cons 1 2)", "(1 . 2)")]
    [DataRow("(car '(1 2))", "1")]
    [DataRow("(cdr '(1 2))", "(2)")]
    [DataRow("(car ())", "()")]
    [DataRow("(cadr '(1 2 3))", "2")]
    [DataRow("(cddr '(1 2 3))", "(3)")]
    [DataRow("(caddr '(1 2 3))", "3")]
    [DataRow("(cadddr '(1 2 3 4))", "4")]
    [DataRow("(cddddr '(1 2 3 4 5))", "(5)")]
    [DataRow("(caar '((1) 2))", "1")]
    [DataRow("(let ((p (cons 1 2))) (set-car p 3) (set-cdr p 4) p)", "(3 . 4)")]
    [DataRow("(pair? '(1))", "t")]
    [DataRow("(pair? ())", "()")]
    [DataRow("(list 1 2 3)", "(1 2 3)")]
    [DataRow("(list)", "()")]
    [DataRow("(concat-list '(1 2) '(3))", "(1 2 3)")]
    [DataRow("(list-length '(1 2 3))", "3")]
    [DataRow("(memq 'b '(a b c))", "(b c)")]
    [DataRow("(memq 'z '(a b c))", "()")]
    [DataRow("(assq 'b '((a . 1) (b . 2)))", "(b . 2)")]
    [DataRow("(map (lambda (x) (* x x)) '(1 2 3))", "(1 4 9)")]
    [DataRow("(map + '(1 2) '(10 20))", "(11 22)")]
    [DataRow("(map-with cons '(1 2) 'z)", "((1 . z) (2 . z))")]
    [DataRow("(foldr cons () '(1 2 3))", "(1 2 3)")]
    [DataRow("(foldr + 0 '(1 2 3))", "6")]
    [DataRow("(reverse '(1 2 3))", "(3 2 1)")]
    [DataRow("(equal '(1 (2 \"x\")) '(1 (2 \"x\")))", "t")]
    [DataRow("(max 3 9 2)", "9")]
    [DataRow("(min 3 9 2)", "2")]
    public void PairsAndLists(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    [DataRow("(symbol? 'a)", "t")]
    [DataRow("(symbol? \"a\")", "()")]
    [DataRow("(string? \"a\")", "t")]
    [DataRow("(string->symbol \"abc\")", "abc")]
    [DataRow("(symbol->string 'abc)", "\"abc\"")]
    [DataRow("(concat-symbol 'foo '- 'bar)", "foo-bar")]
    [DataRow("(concat-symbol '<point> '- 'x)", "<point>-x")]
    [DataRow("(concat-string \"ab\" \"cd\")", "\"abcd\"")]
    [DataRow("(string-length \"hello\")", "5")]
    [DataRow("(string-at \"A\" 0)", "65")]
    [DataRow("(string-at \"A\" 1)", "()")]
    [DataRow("(let ((s (string 2))) (set-string-at s 0 ?h) (set-string-at s 1 ?i) s)", "\"hi\"")]
    [DataRow("(let ((s \"a\")) (set-string-at s 3 ?d) (string-length s))", "4")]
    [DataRow("(string-copy \"hello\" 1 3)", "\"ell\"")]
    [DataRow("(long->string 42)", "\"42\"")]
    [DataRow("(string->long \"-17\")", "-17")]
    [DataRow("(string->long \"0x1f\")", "31")]
    [DataRow("(format \"<%d>\" 42)", "\"<42>\"")]
    [DataRow("(format \"%s!\" \"hi\")", "\"hi!\"")]
    [DataRow("(format \"%04x\" 255)", "\"00ff\"")]
    [DataRow("(symbol-compare 'a 'b)", "-1")]
    public void SymbolsAndStrings(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    [DataRow("(array-length (array 3))", "3")]
    [DataRow("(let ((a (array))) (set-array-at a 2 'x) (list (array-length a) (array-at a 2) (array-at a 0) (array-at a 9)))", "(3 x () ())")]
    [DataRow("(let ((a (array))) (array-append a 1) (array-append a 2) (array->list a))", "(1 2)")]
    [DataRow("(array-at (list->array '(a b c)) 1)", "b")]
    [DataRow("(array? (array))", "t")]
    [DataRow("(list->array '(1 2))", "Array<2>(1 2)")]
    [DataRow("(let ((s 0)) (array-do x (list->array '(1 2 3)) (set s (+ s x))) s)", "6")]
    public void Arrays(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    [DataRow("(eval '(+ 1 2))", "3")]
    [DataRow("(eval (list 'define 'made 5))", "5")]
    [DataRow("(expand '(when x y))", "(and x (let () y))")]
    [DataRow("(expand '(set (foo a b) v))", "(set-foo a b v)")]
    [DataRow("(type-of 1)", "2")]
    [DataRow("(type-of \"s\")", "4")]
    [DataRow("(type-of 's)", "5")]
    [DataRow("(type-of '(1))", "6")]
    [DataRow("(type-of ())", "0")]
    [DataRow("(= (type-of 1) <long>)", "t")]
    [DataRow("(type-name-of '(1))", "<pair>")]
    [DataRow("(not (defined? 'car))", "()")]
    [DataRow("(defined? 'no-such-thing)", "()")]
    [DataRow("(form? define-function)", "t")]
    [DataRow("(fixed? if)", "t")]
    public void EvalExpandAndTypes(string expression, string expected) =>
        Assert.AreEqual(expected, CompileTime.Value(expression));

    [TestMethod]
    public void ExternsAreMarkers() =>
        Assert.AreEqual("(t <extern printf>)", CompileTime.Value("(list (extern? (extern 'printf)) (extern 'printf))"));
}
