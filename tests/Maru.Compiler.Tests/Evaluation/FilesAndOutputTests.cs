using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Evaluation;

/// <summary>load/require relative to the including file, the loaded-file list, and compile-time output.</summary>
[TestClass]
public sealed class FilesAndOutputTests
{
    private static string MakeTree(Dictionary<string, string> files)
    {
        var root = Directory.CreateTempSubdirectory("maru-load-").FullName;
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        return root;
    }

    [TestMethod]
    public void RequireIsRelativeToTheIncludingFileAndReadsEachFileOnce()
    {
        var root = MakeTree(new()
        {
            ["src/main.l"] = "(require \"lib/macros.l\")\n(require \"lib/macros.l\")\n(compile-begin)\n(define-function f (x) (triple x))\n(compile-end)",
            ["src/lib/macros.l"] = "(require \"util.l\")\n(println \"loading macros\")\n(define-form triple (x) `(* ,x ,(three)))",
            ["src/lib/util.l"] = "(define-function three () 3)",
        });
        try
        {
            var main = Path.Combine(root, "src", "main.l");
            var result = MaruCompiler.Compile([SourceFile.Load(main)], CompiledLibrary.Options);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            CollectionAssert.AreEqual(new[] { Path.Combine(root, "src", "lib", "macros.l"), Path.Combine(root, "src", "lib", "util.l") }, result.LoadedFiles.ToArray());
            CollectionAssert.AreEqual(new[] { "loading macros" }, result.Messages.ToArray());
            CollectionAssert.AreEqual(new[] { "f" }, result.Exports.Select(e => e.MaruName).ToArray());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static CompilationResult CompileMain(string root, string main = "lisp/main.l") =>
        MaruCompiler.Compile([new SourceFile(main, File.ReadAllText(Path.Combine(root, main)))],
            new CompilationOptions { Target = Maru.Compiler.Targets.TargetPlatform.LinuxX64, LibraryName = "test", VerifyIr = true, BaseDirectory = root });

    [TestMethod]
    public void ARequiredFilesDefinitionsAreCompiledWhenCompiledCodeUsesThem()
    {
        // The README's layout: lisp/include/ is removed from MaruCompile and required by main.l,
        // which is compiled whole (no section) or has a section; the require is outside it either way.
        // helper.l's function calls its own global and another function of it; `unused` and the
        // macro helper `spell` (lists, compile-time only) are not used by compiled code, so they
        // are not compiled (spell could not be).
        const string helper = """
            (define scale 10)
            (define-function offset () 3)
            (define-function helper (x) (+ (* x scale) (offset)))
            (define-function unused () 1)
            (define-function spell (n) (if (= n 0) '() (cons 'one (spell (- n 1)))))
            (define-form count-ones (n) (list-length (spell n)))
            """;
        foreach (var main in new[]
        {
            "(require \"include/helper.l\")\n(define-function scaled (x) (+ (helper x) (count-ones 4)))",
            "(require \"include/helper.l\")\n(compile-begin)\n(define-function scaled (x) (+ (helper x) (count-ones 4)))\n(compile-end)",
            // a macro must be defined before its use; a function may be defined later
            "(compile-begin)\n(define-function scaled (x) (+ (helper x) 4))\n(compile-end)\n(require \"include/helper.l\")",
        })
        {
            var root = MakeTree(new() { ["lisp/main.l"] = main, ["lisp/include/helper.l"] = helper });
            try
            {
                var result = CompileMain(root);
                Assert.IsTrue(result.Success, main + "\n" + string.Join("\n", result.Diagnostics));
                CollectionAssert.AreEqual(new[] { "scaled", "helper", "offset" }, result.Exports.Select(e => e.MaruName).ToArray(), main);
                CollectionAssert.AreEqual(new[] { "scale" }, result.Globals.Select(g => g.MaruName).ToArray(), main);
                using var library = CompiledLibrary.Load(result);
                Assert.AreEqual(77, library.Call("scaled", 7), main);
                Assert.AreEqual(53, library.Call("helper", 5), main);
                Assert.AreEqual(10, library.Global("scale"), main);
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void ADefineExportInARequiredFileCompilesItsFunction()
    {
        var root = MakeTree(new()
        {
            ["lisp/main.l"] = "(require \"include/predicates.l\")\n(define-function one () 1)",
            ["lisp/include/predicates.l"] = "(define-function even? (n) (= 0 (% n 2)))\n(define-export even? <bool>)\n(define-function odd? (n) (not (even? n)))",
        });
        try
        {
            var result = CompileMain(root);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            CollectionAssert.AreEqual(new[] { "one", "even?" }, result.Exports.Select(e => e.MaruName).ToArray());
            using var library = CompiledLibrary.Load(result);
            Assert.AreEqual(1, library.Call("even?", 10));
            Assert.AreEqual(0, library.Call("even?", 7));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void CompiledCodeUsingAnUncompilableDefinitionOfARequiredFileSaysWhereAndWhy()
    {
        foreach (var (helper, problem) in new[]
        {
            ("(define table '(1 2 3))", "'table' is the list (1 2 3) at compile time, which cannot be compiled (only integers, strings, externs and top-level functions can)"),
            ("(define-function helper args 10)", "'helper' takes a variable number of arguments ('args'), which compiled functions cannot; give it fixed parameters or keep it compile-time only"),
        })
        {
            var name = helper.Contains("table") ? "table" : "helper";
            var main = $"(require \"include/helper.l\")\n(compile-begin)\n(define-function scaled (x) (* x ({name})))\n(compile-end)";
            var root = MakeTree(new() { ["lisp/main.l"] = main, ["lisp/include/helper.l"] = helper });
            try
            {
                var result = CompileMain(root);
                Assert.IsFalse(result.Success);
                var error = result.Diagnostics.Single(d => d.IsError);
                Assert.AreEqual(DiagnosticCode.CompileTimeOnly, error.Code);
                Assert.AreEqual("lisp/main.l(3,35)", error.Location.ToString());
                Assert.AreEqual($"'{name}' is defined at lisp/include/helper.l(1,1), in a file read by load/require, and compiled code uses it, but it cannot be compiled: {problem}", error.Message, error.ToString());
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void ARequiredFilesOwnSectionAndARequireInsideASectionCompileItWhole()
    {
        // The required file's own section, or the require inside the main file's section: every
        // definition the file makes there is compiled, used or not.
        foreach (var (main, helper) in new[]
        {
            ("(require \"include/helper.l\")\n(compile-begin)\n(define-function scaled (x) (* x (helper)))\n(compile-end)", "(compile-begin)\n(define-function helper () 10)\n(define-function spare () 2)\n(compile-end)"),
            ("(compile-begin)\n(require \"include/helper.l\")\n(define-function scaled (x) (* x (helper)))\n(compile-end)", "(define-function helper () 10)\n(define-function spare () 2)"),
        })
        {
            var root = MakeTree(new() { ["lisp/main.l"] = main, ["lisp/include/helper.l"] = helper });
            try
            {
                var result = CompileMain(root);
                Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                CollectionAssert.AreEquivalent(new[] { "scaled", "helper", "spare" }, result.Exports.Select(e => e.MaruName).ToArray(), main);
                using var library = CompiledLibrary.Load(result);
                Assert.AreEqual(70, library.Call("scaled", 7), main);
                Assert.AreEqual(2, library.Call("spare"), main);
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void LoadReadsAgainAndErrorsPointIntoTheLoadedFile()
    {
        var root = MakeTree(new()
        {
            ["main.l"] = "(load \"counter.l\")\n(load \"counter.l\")\n(load \"bad.l\")",
            ["counter.l"] = "(println \"counted\")",
            ["bad.l"] = "(define ok 1)\n  (car 1 2)",
        });
        try
        {
            var main = Path.Combine(root, "main.l");
            var result = MaruCompiler.Compile([SourceFile.Load(main)], CompiledLibrary.Options);
            CollectionAssert.AreEqual(new[] { "counted", "counted" }, result.Messages.ToArray());
            var error = result.Diagnostics.Single(d => d.IsError);
            Assert.AreEqual(new SourceLocation(Path.Combine(root, "bad.l"), 2, 3), error.Location);
            Assert.AreEqual("'car' takes 1 argument but is called with 2", error.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void AMissingFileIsALocatedError()
    {
        var error = CompileTime.Error("\n  (require \"no/such/file.l\")");
        Assert.AreEqual(DiagnosticCode.SourceFileNotFound, error.Code);
        Assert.AreEqual(new SourceLocation("test.l", 2, 3), error.Location);
        StringAssert.StartsWith(error.Message, "cannot require 'no/such/file.l': no such file (");
    }

    [TestMethod]
    public void ReaderErrorsInALoadedFileAreReportedOnce()
    {
        var root = MakeTree(new() { ["main.l"] = "(load \"broken.l\")", ["broken.l"] = "(define x" });
        try
        {
            var result = MaruCompiler.Compile([SourceFile.Load(Path.Combine(root, "main.l"))], CompiledLibrary.Options);
            var error = result.Diagnostics.Single(d => d.IsError);
            Assert.AreEqual(DiagnosticCode.UnterminatedList, error.Code);
            Assert.AreEqual(Path.Combine(root, "broken.l"), error.Location.File);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void CompileTimeOutputReachesTheSinkLineByLine()
    {
        var lines = new List<string>();
        var options = new CompilationOptions { Target = CompiledLibrary.Options.Target, LibraryName = "test", CompileTimeOutput = lines.Add };
        const string source = """
            (println "hello " 42 " " 'sym " " '(1 "two"))
            (dump "quoted" 'x)
            (print "\n")
            (define-form noisy (x) (println "expanding noisy with " x) x)
            (define-function f () (noisy 7))
            (print "no newline at the end")
            """;
        var result = MaruCompiler.Compile([new SourceFile("test.l", source)], options);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var expected = new[] { "hello 42 sym (1 two)", "\"quoted\"x", "expanding noisy with 7", "no newline at the end" };
        CollectionAssert.AreEqual(expected, lines);
        CollectionAssert.AreEqual(expected, result.Messages.ToArray());
    }

    [TestMethod]
    public void OutputIsKeptWhenTheCompilationFails()
    {
        var result = CompiledLibrary.CompileOnly("(println \"before\")\n(error \"stop\")");
        Assert.IsFalse(result.Success);
        CollectionAssert.AreEqual(new[] { "before" }, result.Messages.ToArray());
    }

    [TestMethod]
    public void ASmallCompilationIsFast()
    {
        const string source = "(define-function f (x) (cond ((< x 0) (- x)) (else (let* ((y (* x 2))) (for (i 0 3) (incr y)) y))))";
        CompiledLibrary.CompileOnly(source); // warm up
        var best = long.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.IsTrue(CompiledLibrary.CompileOnly(source).Success);
            best = Math.Min(best, watch.ElapsedMilliseconds);
        }
        Assert.IsLessThan(50, best, $"a small compilation took {best} ms warm");
    }
}
