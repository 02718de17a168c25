using Iced.Intel;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.IrTesting;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Loops with more loop-carried values than registers (a tokenizer's counters and flags) and
/// range checks (<c>c - k &lt;=u n</c>) in them: O1 keeps O0's results on x86-64 and (one qemu
/// batch) on AArch64; the allocator counts loops by the control-flow graph, not by block order;
/// and the range check's offset value is compared where it is computed, not stored and reloaded.
/// </summary>
[TestClass]
public sealed class RegisterPressureTests
{
    // scan: 14 counters and flags carried around a loop over LCG "characters", nested skip loops,
    // range checks; spread: 18 values live across a loop with a call in it.
    private const string Source = """
        (define-function scan (n seed)
          (let ((i 0) (x seed) (tokens 0) (numbers 0) (num 0) (innum 0) (ident 0) (inid 0) (idents 0)
                (depth 0) (maxdepth 0) (lines 0) (ops 0) (strings 0))
            (while (< i n)
              (set x (& (+ (* x 1103515245) 12345) 2147483647))
              (let ((c (& (>> x 16) 127)))
                (cond
                  ((and (>= c 97) (<= c 122))
                   (when innum (set numbers (+ numbers num)) (set num 0) (set innum 0) (set tokens (+ tokens 1)))
                   (set ident (& (+ (* ident 31) c) 281474976710655))
                   (set inid 1))
                  ((and (>= c 48) (<= c 57))
                   (if inid
                       (set ident (& (+ (* ident 31) c) 281474976710655))
                     (set num (& (+ (* num 10) (- c 48)) 1073741823))
                     (set innum 1)))
                  (else
                   (when innum (set numbers (+ numbers num)) (set num 0) (set innum 0) (set tokens (+ tokens 1)))
                   (when inid (set idents (^ idents ident)) (set ident 0) (set inid 0) (set tokens (+ tokens 1)))
                   (cond
                     ((= c 32))
                     ((= c 10) (set lines (+ lines 1)))
                     ((= c 40) (set depth (+ depth 1)) (when (> depth maxdepth) (set maxdepth depth)))
                     ((= c 41) (set depth (- depth 1)))
                     ((= c 59) (while (and (< (+ i 1) n) (!= (& (+ i x) 15) 0)) (set i (+ i 1))))
                     ((= c 34) (set i (+ i 1)) (while (and (< i n) (!= (& (* i x) 7) 3)) (set i (+ i 1)))
                      (set strings (+ strings 1)) (set tokens (+ tokens 1)))
                     (else (set ops (+ ops 1)) (set tokens (+ tokens 1)))))))
              (set i (+ i 1)))
            (+ (* tokens 1000003) (+ (^ numbers idents) (+ (* lines 7) (+ (* maxdepth 65537)
              (+ (* depth 257) (+ (* ops 3) (+ (* strings 11) (& x 255))))))))))

        (define-function mix (a b) (^ (* a 31) b))

        (define-function spread (n k)
          (let ((a (+ k 1)) (b (+ k 2)) (c (+ k 3)) (d (+ k 4)) (e (+ k 5)) (f (+ k 6)) (g (+ k 7)) (h (+ k 8))
                (p (* k 3)) (q (* k 5)) (r (* k 7)) (s (* k 11)) (t (* k 13)) (u (* k 17)) (v (* k 19)) (w (* k 23))
                (acc 0) (i 0))
            (while (< i n)
              (let ((m (& i 63)))
                (when (and (>= m 10) (<= m 20)) (set acc (+ acc (mix a p))))
                (when (and (>= m 30) (<= m 33)) (set acc (^ acc (+ b q))))
                (set acc (+ acc (& (+ c r) (- d s))))
                (set a (+ a (& acc 3))))
              (set i (+ i 1)))
            (+ acc (+ a (+ b (+ c (+ d (+ e (+ f (+ g (+ h (+ p (+ q (+ r (+ s (+ t (+ u (+ v w))))))))))))))))))
        """;

    private static readonly long[][] ScanArguments = [[0, 1], [1, 7], [100, 12345], [5000, 99], [20000, 2024], [777, -5]];
    private static readonly long[][] SpreadArguments = [[0, 3], [1, -1], [64, 5], [1000, 123456789], [257, long.MaxValue / 64]];

    [TestMethod]
    public void PressuredLoopsKeepTheirResultsAtO1()
    {
        AssertSameAtBothLevels(Source, "scan", ScanArguments);
        AssertSameAtBothLevels(Source, "spread", SpreadArguments);
    }

    [TestMethod]
    public void PressuredLoopsAgreeOnArm64UnderQemu() =>
        Arm64Batch.AssertSameAsX64(Source, ScanArguments.Select(a => ("scan", a)).Concat(SpreadArguments.Select(a => ("spread", a))));

    /// <summary>
    /// scan has two loop levels (the skip loops inside the main one); blocks laid out after the
    /// loop's exit that jump back into it once counted as up to 11 loops deep.
    /// </summary>
    [TestMethod]
    public void LoopDepthFollowsTheLoopsNotTheLayout()
    {
        var scan = Function(Optimise(Source), "scan");
        var depth = Liveness.Compute(scan).LoopDepth;
        for (var b = 0; b < scan.Blocks.Count; b++)
        {
            Assert.IsLessThanOrEqualTo(2, depth[b], $"{scan.Blocks[b].Name}\n{IrPrinter.Print(scan)}");
            Assert.AreEqual(InLoop(scan.Blocks[b]), depth[b] > 0, $"{scan.Blocks[b].Name} is{(InLoop(scan.Blocks[b]) ? "" : " not")} on a cycle\n{IrPrinter.Print(scan)}");
        }
        Assert.IsTrue(depth.Contains(2), IrPrinter.Print(scan));
    }

    /// <summary>
    /// Under pressure the allocator spills whole long-lived values, never a value read right after
    /// it is made: no instruction stores to a stack slot that the next instruction reads back
    /// (once, each character: <c>mov [rsp+0x28],r11; cmp qword ptr [rsp+0x28],0x19</c>).
    /// </summary>
    [TestMethod]
    public void NoValueIsStoredToTheStackAndReadBackAtOnce()
    {
        foreach (var name in new[] { "scan", "spread" })
        {
            var result = CompiledLibrary.CompileOnly(Source, unroll: false);
            Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
            var code = X64Disassembly.Decode(result, name);
            for (var i = 0; i + 1 < code.Count; i++)
                if (StackSlotWritten(code[i]) is { } slot)
                    Assert.IsFalse(ReadsStackSlot(code[i + 1], slot), $"{name}: {code[i]}; {code[i + 1]}\n{string.Join("\n", code)}");
        }
    }

    private static long? StackSlotWritten(MachineInstruction instruction) =>
        instruction.Mnemonic == Mnemonic.Mov && instruction.OpCount == 2 && instruction.Op0Kind == OpKind.Memory && instruction.MemoryBase == Register.RSP
            ? (long)instruction.MemoryDisplacement64 : null;

    private static bool ReadsStackSlot(MachineInstruction instruction, long slot)
    {
        for (var operand = 0; operand < instruction.OpCount; operand++)
            if (instruction.GetOpKind(operand) == OpKind.Memory && instruction.MemoryBase == Register.RSP && (long)instruction.MemoryDisplacement64 == slot
                && !(operand == 0 && instruction.Mnemonic == Mnemonic.Mov))
                return true;
        return false;
    }
}
