using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Interop;

/// <summary>(define-export ...) declarations: the C# signatures they produce and every way they can be wrong.</summary>
[TestClass]
public sealed class ExportDeclarationTests
{
    private const string Functions = """
        (define-function checksum (data size) "Adds up the bytes of DATA." (let ((s 0) (i 0)) (while (< i size) (set s (+ s (string-at data i))) (set i (+ i 1))) s))
        (define-function greet (name) (string-at name 0))
        (define-function apply (f x) (f x))
        (define-function here () "here")
        """;

    private static ExportedFunction Export(string declarations, string name)
    {
        var result = CompiledLibrary.CompileOnly(Functions + "\n" + declarations);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        return result.Exports.Single(e => e.MaruName == name);
    }

    [TestMethod]
    public void UndeclaredExportsAreAllLong()
    {
        var export = Export("", "apply");
        Assert.IsTrue(export.Signature.IsAllLong);
        CollectionAssert.AreEqual(new[] { "f", "x" }, export.Signature.Parameters.Select(p => p.MaruName).ToArray());
    }

    [TestMethod]
    public void SpanParametersTakeTheFollowingMaruParameterAsTheirLength()
    {
        var export = Export("(define-export checksum (data <bytes>))", "checksum");
        Assert.HasCount(1, export.Signature.Parameters);
        Assert.AreEqual(InteropType.Bytes, export.Signature.Parameters[0].Type);
        Assert.AreEqual("Adds up the bytes of DATA.", export.Documentation);
    }

    [TestMethod]
    public void StringsPointersAndCallbacks()
    {
        Assert.AreEqual(InteropType.String, Export("(define-export greet (name <string>))", "greet").Signature.Parameters[0].Type);
        Assert.AreEqual(InteropType.Pointer, Export("(define-export here <pointer>)", "here").Signature.Result);
        var callback = Export("(define-export apply (f (<callback> <long>)))", "apply").Signature.Parameters[0];
        Assert.AreEqual(InteropType.Callback, callback.Type);
        CollectionAssert.AreEqual(new[] { InteropType.Long }, callback.CallbackParameters.ToArray());
    }

    [TestMethod]
    public void ShimsUseTheDeclaredCSharpTypes()
    {
        var result = CompiledLibrary.CompileOnly(Functions + "\n" + """
            (define-export checksum (data <mutable-bytes>))
            (define-export greet (name <string>))
            (define-export apply (f (<callback> <long>)))
            (define-export here <pointer>)
            """);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var shims = result.CSharpShims!;
        StringAssert.Contains(shims, "internal static long Checksum(global::System.Span<byte> data)");
        StringAssert.Contains(shims, "fixed (byte* __data = data)");
        StringAssert.Contains(shims, "return Checksum__Native(__data, data.Length);");
        StringAssert.Contains(shims, "private static partial long Checksum__Native(byte* data__Address, long data__Length);");
        StringAssert.Contains(shims, "StringMarshalling = global::System.Runtime.InteropServices.StringMarshalling.Utf8)]");
        StringAssert.Contains(shims, "internal static partial long Greet(string name);");
        StringAssert.Contains(shims, "internal static partial long Apply(delegate* unmanaged<long, long> f, long x);");
        StringAssert.Contains(shims, "internal static partial nint Here();");
        StringAssert.Contains(shims, "/// <summary>Adds up the bytes of DATA. (Maru function <c>checksum</c> defined at test.l(1,1).)</summary>");
    }

    private static void AssertError(string declarations, DiagnosticCode code, int line, int column, string message)
    {
        var errors = CompiledLibrary.Errors(Functions + "\n" + declarations);
        Assert.HasCount(1, errors, string.Join("\n", errors));
        Assert.AreEqual(code, errors[0].Code, errors[0].ToString());
        Assert.AreEqual(new SourceLocation("test.l", line, column), errors[0].Location, errors[0].ToString());
        Assert.AreEqual(message, errors[0].Message);
    }

    [TestMethod]
    public void UnknownType() =>
        AssertError("(define-export greet (name <text>))", DiagnosticCode.UnknownInteropType, 5, 28,
            "unknown interop type <text>: use <long>, <pointer>, <bool>, <string>, <bytes>, <mutable-bytes> or (<callback> type...)");

    [TestMethod]
    public void MalformedDeclaration() =>
        AssertError("(define-export greet name)", DiagnosticCode.UnknownInteropType, 5, 22,
            "unknown interop type name: use <long>, <pointer>, <bool>, <string>, <bytes>, <mutable-bytes> or (<callback> type...)");

    [TestMethod]
    public void MalformedParameterAnnotation() =>
        AssertError("(define-export greet (name) <long>)", DiagnosticCode.MalformedExportDeclaration, 5, 22,
            "malformed define-export: expected (parameter type), e.g. (name <string>)");

    [TestMethod]
    public void UnknownParameter() =>
        AssertError("(define-export greet (who <string>))", DiagnosticCode.ExportDeclarationMismatch, 5, 23,
            "'greet' has no parameter 'who' (its parameters are: name)");

    [TestMethod]
    public void SpanWithoutALengthParameter() =>
        AssertError("(define-export greet (name <bytes>))", DiagnosticCode.ExportDeclarationMismatch, 5, 23,
            "span parameter 'name' of 'greet' needs a following parameter to receive its length");

    [TestMethod]
    public void TypedLengthParameter() =>
        AssertError("(define-export checksum (data <bytes>) (size <long>))", DiagnosticCode.ExportDeclarationMismatch, 5, 41,
            "parameter 'size' of 'checksum' receives the length of 'data' and cannot have a type of its own");

    [TestMethod]
    public void DeclarationOfSomethingThatIsNotAFunction() =>
        AssertError("(define-export nothing)", DiagnosticCode.ExportDeclarationMismatch, 5, 1,
            "define-export names 'nothing', which is not a compiled function");

    [TestMethod]
    public void DuplicateDeclaration() =>
        AssertError("(define-export greet)\n(define-export greet)", DiagnosticCode.DuplicateExportDeclaration, 6, 1,
            "'greet' already has an export declaration at test.l(5,1)");

    [TestMethod]
    public void StringResultsAreNotAllowed() =>
        AssertError("(define-export here <string>)", DiagnosticCode.UnknownInteropType, 5, 21,
            "an export returns <long>, <pointer> or <bool>, not <string>");
}
