using System.Text;
using Iced.Intel;
using Maru.Compiler.Interop;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.X64Disassembly;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Stack-clash safety: a frame larger than a page is reserved page by page, each page touched as
/// rsp reaches it, so no prologue jumps over a guard page. Checked on the real bytes (decoded with
/// Iced) and by running the code.
/// </summary>
[TestClass]
public sealed class StackProbeTests
{
    /// <summary>A function with <paramref name="locals"/> let-bound values: at O0 each has its own stack slot.</summary>
    private static string ManyLocals(int locals)
    {
        var source = new StringBuilder("(define-function big (x) (let (");
        for (var i = 0; i < locals; i++) source.Append($"(v{i} (+ x {i})) ");
        source.Append($") (+ v0 v{locals - 1})))\n(define-function small (x) (let ((a (+ x 1))) (* a 2)))");
        return source.ToString();
    }

    private static bool IsSubRsp(MachineInstruction i) => i.Mnemonic == Mnemonic.Sub && i.Op0Kind == OpKind.Register && i.Op0Register == Register.RSP;

    private static bool IsProbe(MachineInstruction i) =>
        i.Mnemonic == Mnemonic.Or && i.Op0Kind == OpKind.Memory && i.MemoryBase == Register.RSP && i.MemoryDisplacement64 == 0
        && i.MemoryIndex == Register.None && i.Immediate32 == 0;

    [TestMethod]
    public void AFrameOfThousandsOfLocalsIsProbedPageByPageInALoopAndRuns()
    {
        var result = CompiledLibrary.CompileOnly(ManyLocals(8000), level: OptimisationLevel.O0);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var code = Decode(result, "big");
        var listing = string.Join("\n", code.Select(i => i.ToString()));

        // Never more than a page at once.
        var reservations = code.Where(IsSubRsp).ToList();
        Assert.IsTrue(reservations.All(i => i.Op1Kind is OpKind.Immediate8to64 or OpKind.Immediate32to64 && (long)i.GetImmediate(1) <= 4096), listing);
        // Every page-sized step is followed by a touch of the new top of the stack.
        for (var i = 0; i < code.Count; i++)
            if (IsSubRsp(code[i]) && (long)code[i].GetImmediate(1) == 4096)
                Assert.IsTrue(i + 1 < code.Count && IsProbe(code[i + 1]), $"sub rsp, 4096 at {i} is not followed by a probe\n{listing}");

        // The reserved total covers the 8,000 slots: unrolled pages, plus the loop's count of pages, plus the rest.
        var loopCount = code.FirstOrDefault(i => i.Mnemonic == Mnemonic.Mov && i.Op0Register == Register.R11D);
        var pagesInLoop = loopCount.Mnemonic == Mnemonic.Mov ? (long)loopCount.GetImmediate(1) : 0;
        var unrolledPages = reservations.Count(i => (long)i.GetImmediate(1) == 4096) - (pagesInLoop > 0 ? 1 : 0);
        var rest = reservations.Where(i => (long)i.GetImmediate(1) < 4096).Sum(i => (long)i.GetImmediate(1));
        Assert.IsGreaterThanOrEqualTo(8000L * 8, 4096 * (unrolledPages + pagesInLoop) + rest, listing);
        Assert.IsGreaterThan(0L, pagesInLoop, "a frame this large probes in a loop\n" + listing);

        // A small frame keeps its single sub.
        var small = Decode(result, "small");
        Assert.IsFalse(small.Any(IsProbe), string.Join("\n", small));

        using var library = CompiledLibrary.Load(result);
        Assert.AreEqual(5 + 5 + 7999, library.Call("big", 5));
        Assert.AreEqual(12, library.Call("small", 5));
        // On a thread whose stack is not much larger than the frame, the probes walk it page by page.
        long onSmallStack = 0;
        var thread = new Thread(() => onSmallStack = library.Call("big", 7), 512 * 1024);
        thread.Start();
        thread.Join();
        Assert.AreEqual(7 + 7 + 7999, onSmallStack);
    }

    [TestMethod]
    public void AFrameOfAFewPagesIsProbedWithoutALoop()
    {
        var result = CompiledLibrary.CompileOnly(ManyLocals(1500), level: OptimisationLevel.O0);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var code = Decode(result, "big");
        var listing = string.Join("\n", code.Select(i => i.ToString()));
        Assert.IsFalse(code.Any(i => i.Mnemonic == Mnemonic.Dec && i.Op0Register == Register.R11), listing);
        Assert.IsGreaterThanOrEqualTo(2, code.Count(IsProbe), listing);
        using var library = CompiledLibrary.Load(result);
        Assert.AreEqual(1 + 1 + 1499, library.Call("big", 1));
    }
}
