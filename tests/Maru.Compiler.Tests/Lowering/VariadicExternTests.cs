using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Ir;
using Maru.Compiler.Tests.Evaluation;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Lowering;

/// <summary>
/// Calls through externs carry where a variadic callee's "..." starts (the count of fixed
/// arguments), known by name for the C library and declared with (extern 'name N) otherwise,
/// and keep it through the optimiser's copies (inlining, loop rotation).
/// </summary>
[TestClass]
public sealed class VariadicExternTests
{
    private const string Program = """
        (define printf (extern 'printf))
        (define puts (extern 'puts))
        (define my-log (extern 'my_log 2))
        (define only-varargs (extern "only_varargs" 0))
        (define open (extern 'open))
        (define-function f (x)
          (printf "%ld %ld\n" x x)
          (puts "p")
          (my-log 1 "%d" x)
          (only-varargs x)
          (open "f" 0 420))
        (define-function g (n) (while (> n 0) (f n) (set n (- n 1))) 0)
        """;

    private static Dictionary<string, int?> FixedArgumentsByCallee(IrFunction function) =>
        function.Blocks.SelectMany(b => b.Instructions).Where(i => i.Op == Opcode.CallImport)
            .GroupBy(i => i.Symbol!).ToDictionary(g => g.Key, g => g.Select(i => i.FixedArguments).Distinct().Single());

    [TestMethod]
    public void ImportCallsCarryTheirFixedArgumentCount()
    {
        var module = IrTesting.Lower(Program);
        var calls = FixedArgumentsByCallee(module.Functions.Single(f => f.Name == "f"));
        Assert.AreEqual(1, calls["printf"]);
        Assert.IsNull(calls["puts"]);
        Assert.AreEqual(2, calls["my_log"]);
        Assert.AreEqual(0, calls["only_varargs"]);
        Assert.AreEqual(2, calls["open"]);
    }

    [TestMethod]
    public void TheCountSurvivesInliningAndLoopRotation()
    {
        var module = IrTesting.Optimise(Program);
        var g = module.Functions.Single(f => f.Name == "g");
        var calls = FixedArgumentsByCallee(g);
        Assert.IsTrue(calls.ContainsKey("printf"), "f was inlined into g: " + string.Join(", ", calls.Keys));
        Assert.AreEqual(1, calls["printf"]);
        Assert.AreEqual(2, calls["my_log"]);
        Assert.IsNull(calls["puts"]);
    }

    [TestMethod]
    public void ABadCountIsAnError()
    {
        var error = CompileTime.Error("(define bad (extern 'f -1))");
        Assert.AreEqual(DiagnosticCode.TypeError, error.Code);
        Assert.AreEqual(DiagnosticCode.WrongArgumentCount, CompileTime.Error("(define bad (extern 'f 1 2))").Code);
    }

    [TestMethod]
    public void TheKnownListMatchesTheCHeadersFixedParameters()
    {
        // Spot checks against the prototypes in <stdio.h>, <fcntl.h>, <unistd.h>.
        Assert.AreEqual(1, CVariadicFunctions.FixedParameters("printf"));
        Assert.AreEqual(3, CVariadicFunctions.FixedParameters("snprintf"));
        Assert.AreEqual(2, CVariadicFunctions.FixedParameters("fcntl"));
        Assert.AreEqual(2, CVariadicFunctions.FixedParameters("execl"));
        Assert.IsNull(CVariadicFunctions.FixedParameters("malloc"));
        Assert.IsNull(CVariadicFunctions.FixedParameters("vprintf"), "va_list functions are not variadic at the ABI level");
    }
}
