using System.Runtime.InteropServices;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>C functions imported with (extern 'name), called through GOT slots, variadic ones included.</summary>
public abstract unsafe class ExternTests : ExecutionTests
{
    [TestMethod]
    public void ExternsAreCalledThroughTheCLibrary()
    {
        using var library = Compile("""
            (define labs (extern 'labs))
            (define strlen (extern 'strlen))
            (define-function absolute (x) (labs x))
            (define-function text-length () (strlen "twelve chars"))
            """);
        Assert.AreEqual(5, library.Call("absolute", -5));
        Assert.AreEqual(12, library.Call("text-length"));
    }

    [TestMethod]
    public void VariadicCallsFollowTheAbi()
    {
        using var library = Compile("""
            (define snprintf (extern 'snprintf))
            (define-function format (buffer size a b)
              (snprintf buffer size "%ld|%s|%c|%ld|%ld|%ld|%ld" a "mid" ?z b 1 2 3))
            """);
        var buffer = new byte[128];
        fixed (byte* p = buffer)
        {
            var written = library.Call("format", (long)p, buffer.Length, -42, long.MaxValue);
            var text = Marshal.PtrToStringUTF8((nint)p);
            Assert.AreEqual("-42|mid|z|9223372036854775807|1|2|3", text);
            Assert.AreEqual(text!.Length, written);
        }
    }

    // A C int result is half a register on x86-64: strcmp's -1 must arrive as -1, not 0xffffffff.
    [TestMethod]
    public void IntResultsOfCFunctionsAreSignExtended()
    {
        using var library = Compile("""
            (define strcmp (extern 'strcmp))
            (define atoi (extern 'atoi))
            (define toupper (extern 'toupper))
            (define my-compare (extern 'strcmp))
            (define-function compare (a b) (strcmp a b))
            (define-function before? () (< (strcmp "apple" "banana") 0))
            (define-function aliased () (my-compare "a" "b"))
            (define-function parse () (atoi "-12345"))
            (define-function upper (c) (toupper c))
            """);
        Assert.AreEqual(1, library.Call("before?"));
        Assert.IsLessThan(0L, library.Call("aliased"));
        Assert.AreEqual(-12345, library.Call("parse"));
        Assert.AreEqual('A', library.Call("upper", 'a'));
        fixed (byte* a = "abc\0"u8, b = "abd\0"u8)
        {
            Assert.IsLessThan(0L, library.Call("compare", (long)a, (long)b));
            Assert.IsGreaterThan(0L, library.Call("compare", (long)b, (long)a));
            Assert.AreEqual(0, library.Call("compare", (long)a, (long)a));
        }
    }

    [TestMethod]
    public void MallocedMemoryWorksWithOopAt()
    {
        using var library = Compile("""
            (define malloc (extern 'malloc))
            (define free (extern 'free))
            (define-function squares-sum (n)
              (let ((p (malloc (* 8 n))) (i 0) (s 0))
                (while (< i n) (set (oop-at p i) (* i i)) (set i (+ i 1)))
                (set i 0)
                (while (< i n) (set s (+ s (oop-at p i))) (set i (+ i 1)))
                (free p)
                s))
            """);
        Assert.AreEqual(328350, library.Call("squares-sum", 100));
    }

    [TestMethod]
    public void AnExternIsAValueThatCanBeCalledIndirectly()
    {
        using var library = Compile("""
            (define labs (extern 'labs))
            (define-function get-labs () labs)
            (define-function call-it (f x) (f x))
            (define-function via-value (x) (call-it labs x))
            """);
        var libc = NativeLibrary.Load("libc.so.6");
        try
        {
            Assert.AreEqual(NativeLibrary.GetExport(libc, "labs"), (nint)library.Call("get-labs"));
        }
        finally
        {
            NativeLibrary.Free(libc);
        }
        Assert.AreEqual(9, library.Call("via-value", -9));
    }

    [TestMethod]
    public void LibrariesWithExternsPassEuElflint()
    {
        using var library = Compile("(define printf (extern 'printf))\n(define-function hello () (printf \"hello %d\\n\" 42))");
        ElfLint.AssertStrictlyValid(library.Path);
        var dynamic = ExternalTool.Run("readelf", "-dW", library.Path);
        StringAssert.Contains(dynamic.StandardOutput, "(NEEDED)");
        StringAssert.Contains(dynamic.StandardOutput, "libc.so.6");
    }
}

[TestClass]
public sealed class ExternTestsAtO0 : ExternTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class ExternTestsAtO1 : ExternTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
