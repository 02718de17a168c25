using System.Runtime.InteropServices;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>oop-at, string-at, their setters, address-of and string constants, run natively on real memory.</summary>
public abstract unsafe class MemoryTests : ExecutionTests
{
    [TestMethod]
    public void OopAtReadsAndWritesEightByteWords()
    {
        using var library = Compile("""
            (define-function sum-words (p n) (let ((s 0) (i 0)) (while (< i n) (set s (+ s (oop-at p i))) (set i (+ i 1))) s))
            (define-function fill-squares (p n) (let ((i 0)) (while (< i n) (set-oop-at p i (* i i)) (set i (+ i 1))) n))
            (define-function poke (p i v) (set (oop-at p i) v))
            """);
        var words = new long[] { 5, -7, long.MaxValue, 1, 0, 0, 0, 0 };
        fixed (long* p = words)
        {
            Assert.AreEqual(unchecked(5 - 7 + long.MaxValue + 1), library.Call("sum-words", (long)p, 4));
            Assert.AreEqual(8, library.Call("fill-squares", (long)p, 8));
            CollectionAssert.AreEqual(new long[] { 0, 1, 4, 9, 16, 25, 36, 49 }, words);
            Assert.AreEqual(-3, library.Call("poke", (long)p, 6, -3), "set through an accessor yields the value");
            Assert.AreEqual(-3, words[6]);
        }
    }

    [TestMethod]
    public void StringAtReadsUnsignedBytesAndSetStringAtStoresTheLowByte()
    {
        using var library = Compile("""
            (define-function byte (p i) (string-at p i))
            (define-function put (p i v) (set-string-at p i v))
            """);
        var bytes = new byte[] { 0xFF, 0x80, 0x01, 0x00 };
        fixed (byte* p = bytes)
        {
            Assert.AreEqual(255, library.Call("byte", (long)p, 0));
            Assert.AreEqual(128, library.Call("byte", (long)p, 1));
            Assert.AreEqual(300, library.Call("put", (long)p, 3, 300));
            Assert.AreEqual(44, bytes[3]);
            Assert.AreEqual(0x80, bytes[1], "neighbours untouched");
        }
    }

    [TestMethod]
    public void StringLiteralsAreReadOnlyNulTerminatedUtf8()
    {
        using var library = Compile("""
            (define-function greeting () "héllo, Maru\n")
            (define-function length (s) (let ((n 0)) (while (string-at s n) (set n (+ n 1))) n))
            (define-function greeting-length () (length "héllo, Maru\n"))
            (define-function same () (= "abc" "abc"))
            """);
        Assert.AreEqual("héllo, Maru\n", Marshal.PtrToStringUTF8((nint)library.Call("greeting")));
        Assert.AreEqual(13, library.Call("greeting-length"), "é is two UTF-8 bytes");
        Assert.AreEqual(1, library.Call("same"), "equal literals share one constant");
    }

    [TestMethod]
    public void StringGlobalsPointAtTheirText()
    {
        using var library = Compile("""
            (define name "Maru")
            (define-function name-char (i) (string-at name i))
            (define-function rename () (set name "Lisp") 0)
            """);
        Assert.AreEqual('a', (char)library.Call("name-char", 1));
        Assert.AreEqual("Maru", Marshal.PtrToStringUTF8((nint)library.Global("name")));
        library.Call("rename");
        Assert.AreEqual("Lisp", Marshal.PtrToStringUTF8((nint)library.Global("name")));
    }

    [TestMethod]
    public void AddressOfLocalsParametersAndGlobals()
    {
        using var library = Compile("""
            (define counter 3)
            (define-function through-local () (let ((x 5)) (set-oop-at (address-of x) 0 9) x))
            (define-function through-parameter (x) (let ((p (address-of x))) (set-oop-at p 0 (+ (oop-at p 0) 1)) (set x (* x 2)) (oop-at p 0)))
            (define-function through-global () (set-oop-at (address-of counter) 0 (+ 1 (oop-at (address-of counter) 0))) counter)
            (define-function in-loop (n) (let ((i 0) (s 0)) (while (< i n) (let ((x i)) (set s (+ s (oop-at (address-of x) 0)))) (set i (+ i 1))) s))
            """);
        Assert.AreEqual(9, library.Call("through-local"));
        Assert.AreEqual(22, library.Call("through-parameter", 10));
        Assert.AreEqual(4, library.Call("through-global"));
        Assert.AreEqual(4, library.Global("counter"));
        Assert.AreEqual(4950, library.Call("in-loop", 100));
    }

    [TestMethod]
    public void FunctionsAreValuesAndCallsGoThroughAnyExpression()
    {
        using var library = Compile("""
            (define handler 0)
            (define-function inc (x) (+ x 1))
            (define-function dec (x) (- x 1))
            (define-function apply2 (f x) (f (f x)))
            (define-function twice-inc (x) (apply2 inc x))
            (define-function pick (up) (if up inc dec))
            (define-function computed (up x) ((pick up) x))
            (define-function install () (set handler dec) 0)
            (define-function run-handler (x) (handler x))
            (define-function address-of-inc () inc)
            """);
        Assert.AreEqual(43, library.Call("twice-inc", 41));
        Assert.AreEqual(6, library.Call("computed", 1, 5));
        Assert.AreEqual(4, library.Call("computed", 0, 5));
        library.Call("install");
        Assert.AreEqual(9, library.Call("run-handler", 10));
        Assert.AreEqual(library.Export("inc"), (nint)library.Call("address-of-inc"));
    }

    [UnmanagedCallersOnly]
    private static long TimesTen(long x) => x * 10;

    [TestMethod]
    public void MaruCallsBackIntoCSharpThroughAFunctionPointer()
    {
        using var library = Compile("(define-function map-sum (f n) (let ((s 0) (i 1)) (while (<= i n) (set s (+ s (f i))) (set i (+ i 1))) s))");
        delegate* unmanaged<long, long> callback = &TimesTen;
        Assert.AreEqual(550, library.Call("map-sum", (long)callback, 10));
    }
}

[TestClass]
public sealed class MemoryTestsAtO0 : MemoryTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class MemoryTestsAtO1 : MemoryTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
