using Iced.Intel;
using Maru.Compiler.Interop;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.X64Disassembly;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// What O1 code looks like, checked on the real bytes of the library (decoded with Iced): leaf
/// loops keep everything in registers, comparisons feeding branches become cmp + jcc, leaf
/// functions need no frame, and only the callee-saved registers used are saved.
/// </summary>
[TestClass]
public sealed class X64CodeQualityTests
{
    private const string Sum = "(define-function sum (n) (let ((i 1) (s 0)) (while (<= i n) (set s (+ s i)) (set i (+ i 1))) s))";

    /// <remarks>Loops are not unrolled here: these tests read the selection and allocation of one loop (LoopUnrollingTests checks unrolled ones).</remarks>
    private static List<MachineInstruction> Compile(string source, string function, OptimisationLevel level = OptimisationLevel.O1)
    {
        var result = CompiledLibrary.CompileOnly(source, level: level, unroll: false);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        return Decode(result, function);
    }

    /// <summary>The instructions from the target of the (only) backward branch to that branch.</summary>
    private static List<MachineInstruction> LoopBody(List<MachineInstruction> code)
    {
        var backward = code.Single(i => i.FlowControl is FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch && i.NearBranchTarget <= i.IP);
        return code.Where(i => i.IP >= backward.NearBranchTarget && i.IP <= backward.IP).ToList();
    }

    private static bool TouchesTheStack(MachineInstruction instruction)
    {
        for (var operand = 0; operand < instruction.OpCount; operand++)
            if (instruction.GetOpKind(operand) == OpKind.Memory && instruction.MemoryBase is Register.RBP or Register.RSP)
                return true;
        return instruction.StackPointerIncrement != 0;
    }

    [TestMethod]
    public void ALeafLoopHasNoStackTrafficAtO1()
    {
        var loop = LoopBody(Compile(Sum, "sum"));
        Assert.IsFalse(loop.Any(TouchesTheStack), string.Join("\n", loop));
        Assert.IsLessThanOrEqualTo(5, loop.Count, string.Join("\n", loop));
    }

    [TestMethod]
    public void TheStackTrafficCheckSeesO0Slots()
    {
        var loop = LoopBody(Compile(Sum, "sum", OptimisationLevel.O0));
        Assert.IsTrue(loop.Any(TouchesTheStack));
    }

    [TestMethod]
    public void LoopsOverMemoryUseIndexedAddressingAndStayInRegisters()
    {
        var code = Compile("(define-function sum-words (p n) (let ((s 0) (i 0)) (while (< i n) (set s (+ s (oop-at p i))) (set i (+ i 1))) s))", "sum-words");
        var loop = LoopBody(code);
        Assert.IsFalse(loop.Any(TouchesTheStack), string.Join("\n", loop));
        Assert.IsTrue(loop.Any(i => i.GetOpKind(1) == OpKind.Memory && i.MemoryIndexScale == 8), "oop-at is one [base + index*8] operand");
    }

    [TestMethod]
    public void ACallWhoseResultIsReturnedIsAJumpAndNeedsNoFrame()
    {
        const string source = """
            (define-function ping (n) (if (= n 0) 0 (pong (- n 1))))
            (define-function pong (n) (if (= n 0) 1 (ping (- n 1))))
            (define-function keeps (n) (+ 1 (ping n)))
            (define last 0)
            (define-function local (n) (let ((cell 0)) (set cell n) (set last (address-of cell)) (ping (oop-at (address-of cell) 0))))
            """;
        var result = CompiledLibrary.CompileOnly(source, level: OptimisationLevel.O1);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        // ping (the cycle's entry) took pong in and is a loop; pong's call of ping is the sibling call.
        var pong = Decode(result, "pong");
        Assert.IsFalse(pong.Any(i => i.FlowControl == FlowControl.Call), string.Join("\n", pong));
        Assert.IsTrue(pong.Any(i => i.FlowControl == FlowControl.UnconditionalBranch && i.NearBranchTarget == Decode(result, "ping")[0].IP), string.Join("\n", pong));
        Assert.IsFalse(pong.Any(i => i.FlowControl != FlowControl.Return && TouchesTheStack(i)), "a function whose only call is a sibling call has no frame\n" + string.Join("\n", pong));
        // Not sibling calls: the result is used, or the frame holds memory whose address the callee may read.
        Assert.IsTrue(Decode(result, "keeps").Any(i => i.FlowControl == FlowControl.Call));
        Assert.IsTrue(Decode(result, "local").Any(i => i.FlowControl == FlowControl.Call));
        using var library = CompiledLibrary.Compile(source);
        Assert.AreEqual(1, library.Call("ping", 10_000_001));
        Assert.AreEqual(0, library.Call("pong", 10_000_001));
        Assert.AreEqual(8, library.Call("local", 7_000_001) + 7);
    }

    [TestMethod]
    public void ComparisonsFeedingBranchesAreFused()
    {
        var code = Compile(Sum, "sum");
        Assert.IsFalse(code.Any(i => i.Mnemonic.ToString().StartsWith("Set", StringComparison.Ordinal)), string.Join("\n", code));
        Assert.IsFalse(code.Any(i => i.Mnemonic == Mnemonic.Movzx), string.Join("\n", code));
    }

    [TestMethod]
    public void ABranchOnAValueJustComputedReadsTheFlagsOfItsOperation()
    {
        const string source = """
            (define-function down (n s) (while n (set s (+ s n)) (set n (- n 1))) s)
            (define-function bits (n c) (while (set n (& n (- n 1))) (set c (+ c 1))) c)
            """;
        foreach (var name in new[] { "down", "bits" })
        {
            var loop = LoopBody(Compile(source, name));
            Assert.IsFalse(loop.Any(i => i.Mnemonic is Mnemonic.Test or Mnemonic.Cmp), string.Join("\n", loop));
        }
        using var library = CompiledLibrary.Compile(source);
        Assert.AreEqual(5050 + 7, library.Call("down", 100, 7));
        Assert.AreEqual(0, library.Call("down", 0, 0));
        Assert.AreEqual(63, library.Call("bits", -1, 0), "one step per set bit after the lowest");
        Assert.AreEqual(2, library.Call("bits", 0b1011, 0));
    }

    [TestMethod]
    public void LeafFunctionsWithoutSpillsHaveNoFrame()
    {
        var code = Compile(Sum, "sum");
        Assert.IsFalse(code.Any(i => i.Mnemonic is Mnemonic.Push or Mnemonic.Pop or Mnemonic.Leave), string.Join("\n", code));
        Assert.AreEqual(Mnemonic.Ret, code[^1].Mnemonic);
    }

    [TestMethod]
    public void ValuesLiveAcrossCallsUseCalleeSavedRegistersAndOnlyThoseAreSaved()
    {
        var code = Compile("""
            (define-function f (x) (if (< x 1) 0 (+ 3 (f (- x 1)))))
            (define-function g (a b) (+ (f a) (+ a b)))
            """, "g");
        var pushes = code.Where(i => i.Mnemonic == Mnemonic.Push).Select(i => i.Op0Register).ToList();
        var pops = code.Where(i => i.Mnemonic == Mnemonic.Pop).Select(i => i.Op0Register).ToList();
        // One callee-saved register per value live across the call (a and b); no frame pointer.
        Assert.HasCount(2, pushes, string.Join("\n", code));
        Assert.DoesNotContain(Register.RBP, pushes);
        CollectionAssert.AreEqual(pushes.AsEnumerable().Reverse().ToList(), pops);
        Assert.IsFalse(code.Any(i => i.Mnemonic is Mnemonic.Mov && i.MemoryBase is Register.RBP or Register.RSP), "nothing spilled: " + string.Join("\n", code));
    }

    [TestMethod]
    public void DivisionByAConstantNeedsNoChecks()
    {
        var code = Compile("(define-function tenth (x) (/ x 10))", "tenth");
        Assert.IsFalse(code.Any(i => i.FlowControl == FlowControl.ConditionalBranch), string.Join("\n", code));
        var negate = Compile("(define-function minus (x) (/ x -1))", "minus");
        Assert.IsFalse(negate.Any(i => i.Mnemonic == Mnemonic.Idiv), string.Join("\n", negate));
    }

    private const string Fnv1a = """
        (define-function fnv1a (key)
          (let ((h 14695981039346656037) (i 0))
            (while (< i 8)
              (set h (* (^ h (& (>> key (* i 8)) 255)) 1099511628211))
              (set i (+ i 1)))
            h))
        """;

    [TestMethod]
    public void WideConstantsReadInALoopAreNotRematerialisedPerIteration()
    {
        var code = Compile(Fnv1a, "fnv1a");
        var loop = LoopBody(code);
        Assert.IsFalse(loop.Any(i => i.Code == Code.Mov_r64_imm64), string.Join("\n", loop));
        Assert.IsFalse(loop.Any(TouchesTheStack), string.Join("\n", loop));
        // The multiplier is loaded once, before the loop.
        Assert.AreEqual(1, code.Count(i => i.Code == Code.Mov_r64_imm64 && i.Immediate64 == 1099511628211UL), string.Join("\n", code));

        var lcg = LoopBody(Compile("""
            (define-function lcg (n)
              (let ((x 99) (i 0))
                (while (< i n)
                  (set x (+ (* x 6364136223846793005) 1442695040888963407))
                  (set i (+ i 1)))
                x))
            """, "lcg"));
        Assert.IsFalse(lcg.Any(i => i.Code == Code.Mov_r64_imm64), string.Join("\n", lcg));
    }

    [TestMethod]
    public void WideConstantsStayImmediatesAtO0()
    {
        var loop = LoopBody(Compile(Fnv1a, "fnv1a", OptimisationLevel.O0));
        Assert.IsTrue(loop.Any(i => i.Code == Code.Mov_r64_imm64 && i.Immediate64 == 1099511628211UL), string.Join("\n", loop));
    }

    private static bool IsRegisterCopy(MachineInstruction i) =>
        i.Mnemonic == Mnemonic.Mov && i.Op0Kind == OpKind.Register && i.Op1Kind == OpKind.Register;

    [TestMethod]
    public void TwoAddressOperationsComputeInPlace()
    {
        // x = x * C + D and h = (h ^ b) * P: imul/add/xor straight into the variable's register.
        var lcg = LoopBody(Compile("""
            (define-function lcg (n)
              (let ((x 99) (i 0))
                (while (< i n)
                  (set x (+ (* x 6364136223846793005) 1442695040888963407))
                  (set x (^ x (>> x 7)))
                  (set x (* x 1000003))
                  (set i (+ i 1)))
                x))
            """, "lcg"));
        Assert.AreEqual(1, lcg.Count(IsRegisterCopy), "only the copy of x for the shift: " + string.Join("\n", lcg));
        Assert.IsTrue(lcg.Any(i => i.Mnemonic == Mnemonic.Imul && i.OpCount == 2), string.Join("\n", lcg));

        var fnv = LoopBody(Compile(Fnv1a, "fnv1a"));
        // i*8 into rcx is one lea, key is copied into the shift's register: the xor and the imul need no copy.
        Assert.AreEqual(1, fnv.Count(IsRegisterCopy), string.Join("\n", fnv));
    }

    [TestMethod]
    public void AVariableShiftIsNotComputedInTheCountRegister()
    {
        var loop = LoopBody(Compile(Fnv1a, "fnv1a"));
        var shift = loop.Single(i => i.Mnemonic == Mnemonic.Sar);
        Assert.AreNotEqual(Register.R11, shift.Op0Register, string.Join("\n", loop));
        Assert.IsFalse(loop.Any(i => i.Op0Register == Register.R11 || (i.OpCount > 1 && i.Op1Register == Register.R11)), string.Join("\n", loop));
    }

    [TestMethod]
    public void SpillsWithoutAFramePointerAreRspRelativeAndCallsStayAligned()
    {
        // Twelve call results live across calls: some spill. No frame blocks and no stack arguments, so no
        // frame pointer (rbp may hold a value then, saved like any callee-saved register, never a frame base).
        var lets = string.Join(" ", Enumerable.Range(0, 12).Select(k => $"(v{k} (labs (* n {k + 2})))"));
        var sum = Enumerable.Range(0, 12).Aggregate("0", (total, k) => $"(+ v{k} {total})");
        var code = Compile($"(define labs (extern 'labs)) (define-function f (n) (let ({lets}) (labs n) {sum}))", "f");
        Assert.IsFalse(code.Any(i => i.Mnemonic != Mnemonic.Lea && i.MemoryBase == Register.RBP || i.Mnemonic == Mnemonic.Mov && i.Op0Register == Register.RBP && i.Op1Register == Register.RSP),
            string.Join("\n", code));
        Assert.IsTrue(code.Any(i => i.MemoryBase == Register.RSP), "something spilled: " + string.Join("\n", code));
        // Return address + pushes + sub rsp: a multiple of 16 at the call.
        var pushes = code.TakeWhile(i => i.FlowControl != FlowControl.Call).Count(i => i.Mnemonic == Mnemonic.Push);
        var sub = code.TakeWhile(i => i.FlowControl != FlowControl.Call).Where(i => i.Mnemonic == Mnemonic.Sub && i.Op0Register == Register.RSP).Sum(i => (long)i.Immediate32);
        Assert.AreEqual(0, (8 + 8 * pushes + sub) % 16, string.Join("\n", code));
    }

    [TestMethod]
    public void FramePointerOnlyWhereRspMovesOrTheCallersFrameIsRead()
    {
        var code = Compile("""
            (define snprintf (extern 'snprintf))
            (define-function k (p x) (+ (snprintf p 64 "%ld %ld %ld %ld %ld" x x x x x) x))
            """, "k");
        Assert.AreEqual(Mnemonic.Push, code[0].Mnemonic, string.Join("\n", code));
        Assert.AreEqual(Register.RBP, code[0].Op0Register, string.Join("\n", code));
    }

    // Doubly recursive like fib, but combined by '^' with a multiple of the last call, which is
    // neither one accumulating op nor affine in it, so both calls and the plain base case reach the backend.
    private const string Fib = "(define-function fib (n) (if (< n 2) n (^ (fib (- n 1)) (* 3 (fib (- n 2))))))";

    [TestMethod]
    public void FibsBaseCaseReturnsBeforeThePrologue()
    {
        var code = Compile(Fib, "fib");
        // cmp rdi, 2; jge body; mov rax, rdi; ret: the n < 2 path pushes nothing.
        var ret = code.FindIndex(i => i.Mnemonic == Mnemonic.Ret);
        var early = code.Take(ret + 1).ToList();
        Assert.IsFalse(early.Any(i => i.Mnemonic is Mnemonic.Push or Mnemonic.Pop || i.StackPointerIncrement != 0 && i.Mnemonic != Mnemonic.Ret), string.Join("\n", code));
        Assert.IsLessThanOrEqualTo(4, early.Count, string.Join("\n", code));
        Assert.AreEqual(Register.RDI, early[0].Op0Register, "tested on the argument register: " + string.Join("\n", code));
        // The body saves what it uses, without rbp.
        Assert.IsFalse(code.Any(i => i.Op0Register == Register.RBP), string.Join("\n", code));
    }

    [TestMethod]
    public void CallsTestTheCalleesEarlyExitAtTheCallSite()
    {
        var code = Compile(Fib, "fib");
        var calls = code.Select((instruction, index) => (instruction, index)).Where(x => x.instruction.Mnemonic == Mnemonic.Call).ToList();
        // How many call sites remain depends on inlining (fib carries one copy of itself); each must be guarded.
        Assert.IsNotEmpty(calls, string.Join("\n", code));
        foreach (var (call, index) in calls)
        {
            // jl past the call, with rax already holding the argument.
            var skip = code[index - 1];
            Assert.AreEqual(FlowControl.ConditionalBranch, skip.FlowControl, string.Join("\n", code));
            Assert.AreEqual(call.NextIP, skip.NearBranchTarget, string.Join("\n", code));
        }
    }

    /// <summary>
    /// Thirteen values live through a loop (n, i and eleven accumulators), the same in a function
    /// that reads stack parameters (rbp is its frame pointer there), and a caller that passes stack
    /// arguments from such a loop.
    /// </summary>
    private const string Pressure = """
        (define-function churn (n a b c d e)
          (let ((x1 a) (x2 b) (x3 c) (x4 d) (x5 e) (x6 (+ a b)) (x7 (^ b c)) (x8 (+ c d)) (x9 (^ d e)) (x10 (+ e a)) (x11 (* a 3)) (i 0))
            (while (< i n)
              (set x1 (+ x1 x2)) (set x2 (^ x2 x3)) (set x3 (+ x3 x4)) (set x4 (^ x4 x5)) (set x5 (+ x5 x6))
              (set x6 (^ x6 x7)) (set x7 (+ x7 x8)) (set x8 (^ x8 x9)) (set x9 (+ x9 x10)) (set x10 (^ x10 x11)) (set x11 (+ x11 i))
              (set i (+ i 1)))
            (^ x1 (+ x2 (^ x3 (+ x4 (^ x5 (+ x6 (^ x7 (+ x8 (^ x9 (+ x10 x11))))))))))))
        (define-function wide (n a b c d e f g)
          (let ((x1 a) (x2 b) (x3 c) (x4 d) (x5 e) (x6 f) (x7 g) (x8 (+ c d)) (x9 (^ d e)) (x10 (+ e a)) (x11 (* a 3)) (i 0))
            (while (< i n)
              (set x1 (+ x1 x2)) (set x2 (^ x2 x3)) (set x3 (+ x3 x4)) (set x4 (^ x4 x5)) (set x5 (+ x5 x6))
              (set x6 (^ x6 x7)) (set x7 (+ x7 x8)) (set x8 (^ x8 x9)) (set x9 (+ x9 x10)) (set x10 (^ x10 x11)) (set x11 (+ x11 i))
              (set i (+ i 1)))
            (^ x1 (+ x2 (^ x3 (+ x4 (^ x5 (+ x6 (^ x7 (+ x8 (^ x9 (+ x10 x11))))))))))))
        (define-function caller (n a)
          (let ((x1 a) (x2 (+ a 1)) (x3 (+ a 2)) (x4 (+ a 3)) (x5 (+ a 4)) (x6 (+ a 5)) (x7 (+ a 6)) (x8 (+ a 7)) (x9 (+ a 8)) (x10 (+ a 9)) (x11 (+ a 10)) (i 0))
            (while (< i n)
              (set x1 (+ x1 (wide 3 x2 x3 x4 x5 x6 x7 x8)))
              (set x2 (^ x2 x3)) (set x3 (+ x3 x4)) (set x4 (^ x4 x5)) (set x5 (+ x5 x6))
              (set x6 (^ x6 x7)) (set x7 (+ x7 x8)) (set x8 (^ x8 x9)) (set x9 (+ x9 x10)) (set x10 (^ x10 x11)) (set x11 (+ x11 i))
              (set i (+ i 1)))
            (^ x1 (+ x2 (^ x3 (+ x4 (^ x5 (+ x6 (^ x7 (+ x8 (^ x9 (+ x10 x11))))))))))))
        (define-function shifts (a n)
          (let ((s 0) (i 0))
            (while (< i n)
              (set s (+ s (+ (<< i 3) (+ (<< (- a i) 2) (<< a 1)))))
              (set i (+ i 1)))
            (+ s a)))
        """;

    [TestMethod]
    public void ThirteenValuesLiveThroughALoopStayInRegisters()
    {
        var loop = LoopBody(Compile(Pressure, "churn"));
        Assert.IsFalse(loop.Any(i => Enumerable.Range(0, i.OpCount).Any(o => i.GetOpKind(o) == OpKind.Memory)), string.Join("\n", loop));
        IrTesting.AssertSameAtBothLevels(Pressure, "churn", [0, 1, 2, 3, 4, 5], [1, -1, 2, -3, 4, -5], [1000, 7, long.MaxValue, 9, long.MinValue, 11]);
        IrTesting.AssertSameAtBothLevels(Pressure, "wide", [0, 1, 2, 3, 4, 5, 6, 7], [1, -1, 2, -3, 4, -5, 6, -7], [1000, 7, long.MaxValue, 9, long.MinValue, 11, 12, 13]);
        IrTesting.AssertSameAtBothLevels(Pressure, "caller", [0, 5], [1, -1], [200, long.MaxValue]);
    }

    [TestMethod]
    public void ShiftsLeftByOneToThreeIntoAnotherRegisterAreOneLea()
    {
        var code = Compile(Pressure, "shifts");
        // A shift in place stays a shl; one into another register is never a mov then a shl.
        for (var k = 1; k < code.Count; k++)
            Assert.IsFalse(code[k].Mnemonic == Mnemonic.Shl && code[k - 1].Mnemonic == Mnemonic.Mov && code[k - 1].Op0Register == code[k].Op0Register,
                string.Join("\n", code));
        Assert.IsTrue(code.Any(i => i.Mnemonic == Mnemonic.Lea && i.MemoryIndexScale is 4 or 8 && i.MemoryBase == Register.None), string.Join("\n", code));
        IrTesting.AssertSameAtBothLevels(Pressure, "shifts", [0, 0], [1, 10], [-5, 100], [long.MaxValue, 3], [long.MinValue, 2], [1L << 61, 4]);
    }
}
