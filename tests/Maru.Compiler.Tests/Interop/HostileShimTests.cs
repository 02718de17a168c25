using Maru.Compiler.Syntax;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Maru.Compiler.Tests.Interop;

/// <summary>
/// Strings from a Maru source that reach the generated C# (docstrings, names, paths) cannot
/// inject code into the consuming assembly: the shims of hostile programs are compiled with
/// Roslyn, as the consuming project would, and must hold exactly the expected methods, with
/// well-formed documentation and no absolute path.
/// </summary>
[TestClass]
public sealed class HostileShimTests
{
    private static readonly string[] LineTerminators = ["\r", "\n", "\r\n", "\u0085", "\u2028", "\u2029"];

    /// <summary>Compiles the shims; returns the generated class's method names (every diagnostic but the missing source-generated part fails).</summary>
    private static List<string> CompileShims(string shims)
    {
        var tree = CSharpSyntaxTree.ParseText(shims, new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose));
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("Shims", [tree], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        // CS8795: the [LibraryImport] source generator (not run here) writes the partial methods' bodies.
        var problems = compilation.GetDiagnostics().Where(d => d.Id != "CS8795" && d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.IsEmpty(problems, string.Join("\n", problems) + "\n--- shims\n" + shims);
        var classes = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().ToList();
        Assert.HasCount(1, classes, shims);
        Assert.IsTrue(classes[0].Members.All(m => m is MethodDeclarationSyntax), shims);
        return classes[0].Members.OfType<MethodDeclarationSyntax>().Select(m => m.Identifier.ValueText).ToList();
    }

    [TestMethod]
    public void HostileDocstringsStayInsideTheirComment()
    {
        foreach (var terminator in LineTerminators)
        {
            var doc = $"x{terminator}public static long Injected() {{ return 42; }} //</summary> <![CDATA[ & ]]> */ \\\"";
            var source = $"(define-function f () \"{Escape(doc)}\" 1)";
            var result = MaruCompiler.Compile([new SourceFile("lisp/a.l", source)], TestSupport.CompiledLibrary.Options);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            CollectionAssert.AreEqual(new[] { "F" }, CompileShims(result.CSharpShims!), $"terminator U+{(int)terminator[0]:X4}");
        }
    }

    [TestMethod]
    public void HostileNamesGiveValidIdentifiers()
    {
        // Names holding every line terminator, markup, keywords, non-ASCII letters; parameters likewise.
        var names = new[] { "a\u2028b", "c\u2029d", "e\u0085f", "<g>", "h&amp", "class", "int", "λ", "--", "**2nd", "o*/p" }; // (a symbol cannot hold CR or LF: the reader splits there)
        var functions = names.Select((name, i) =>
            $"(define-function {name} ({names[(i + 1) % names.Length]} {names[(i + 2) % names.Length]}) \"doc {Escape(name)}\" 1)");
        // A span parameter's address and length beside a parameter named like them (buf-address).
        var source = string.Join("\n", functions) + "\n(define-function spans (buf n buf-address) 1)\n(define-export spans (buf <bytes>))";
        var result = MaruCompiler.Compile([new SourceFile("a.l", source)], TestSupport.CompiledLibrary.Options);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var methods = CompileShims(result.CSharpShims!);
        Assert.HasCount(names.Length + 2, methods, string.Join(", ", methods)); // + spans and its raw import
        Assert.IsTrue(methods.All(SyntaxFacts.IsValidIdentifier), string.Join(", ", methods));
    }

    [TestMethod]
    public void ShimsCarryProjectRelativePathsOnly()
    {
        var project = Path.Combine(Path.GetTempPath(), "maru-project-root");
        var inside = Path.Combine(project, "lisp", "math.l");
        var outside = Path.Combine(Path.GetTempPath(), "elsewhere", "packages", "dep.l");
        var options = new CompilationOptions
        {
            Target = TestSupport.CompiledLibrary.Options.Target, LibraryName = "test", BaseDirectory = project,
        };
        var result = MaruCompiler.Compile(
            [new SourceFile(inside, "(define-function f () 1)"), new SourceFile(outside, "(define-function g () 2)"), new SourceFile("lisp/h.l", "(define-function h () 3)")],
            options);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var shims = result.CSharpShims!;
        StringAssert.Contains(shims, "defined at lisp/math.l(1,1)");
        StringAssert.Contains(shims, "defined at dep.l(1,1)");
        StringAssert.Contains(shims, "defined at lisp/h.l(1,1)");
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), shims);
        CompileShims(shims);
    }

    [TestMethod]
    public void EveryCharacterOfTheLibraryNameReachesTheImportAsItIs()
    {
        // Plain names are written as they are and the rest escaped: the C# compiler must read each back unchanged.
        var characters = Enumerable.Range(0, 0x100).Select(c => (char)c).Concat(['\u2028', '\u2029', 'λ', '\uffff']);
        foreach (var c in characters)
        {
            var name = $"lib{c}x";
            var options = new CompilationOptions { Target = TestSupport.CompiledLibrary.Options.Target, LibraryName = name };
            var shims = Maru.Compiler.Interop.CSharpShimGenerator.Generate(
                [new ExportedFunction("f", "f", ["n"], new Diagnostics.SourceLocation("a.l", 1, 1))], options, new Diagnostics.DiagnosticBag());
            var tree = CSharpSyntaxTree.ParseText(shims);
            Assert.IsEmpty(tree.GetDiagnostics(), $"U+{(int)c:X4}\n{shims}");
            var import = tree.GetRoot().DescendantNodes().OfType<AttributeSyntax>().Single(a => a.Name.ToString().EndsWith("LibraryImport", StringComparison.Ordinal));
            var literal = (LiteralExpressionSyntax)import.ArgumentList!.Arguments[0].Expression;
            Assert.AreEqual(name, literal.Token.ValueText, $"U+{(int)c:X4}");
        }
    }

    /// <summary>A Maru string literal's text for <paramref name="text"/>.</summary>
    private static string Escape(string text) => text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\r", "\\r").Replace("\n", "\\n");

}
