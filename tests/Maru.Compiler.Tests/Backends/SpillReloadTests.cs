using Iced.Intel;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.X64Disassembly;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Spilled values reached again (x86-64 <c>FrameCopies</c>): a frame word a register still holds
/// (reloaded for the instruction before, or just stored from it) is not read from memory again
/// within straight-line code. Checked on the library's bytes with Iced's own instruction info
/// (no frame word loaded into a register that already holds it), and on results: shapes with
/// more values live across calls than callee-saved registers (a backtracking counter whose row
/// and column indexes are spilled, eight accumulators threaded through calls of C's labs), at O0 and O1,
/// x86-64 and arm64, against a C# model, with wrap-around and negative arguments.
/// </summary>
[TestClass]
public sealed class SpillReloadTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function place (grid rows cols pos k count)
          (if (>= pos (* k k))
              (+ count 1)
            (let* ((r (/ pos k)) (c (% pos k)) (used (| (oop-at rows r) (oop-at cols c))) (d 0))
              (while (< d k)
                (let ((bit (<< 1 d)))
                  (unless (& used bit)
                    (set-oop-at rows r (| (oop-at rows r) bit))
                    (set-oop-at cols c (| (oop-at cols c) bit))
                    (set-string-at grid pos d)
                    (set count (place grid rows cols (+ pos 1) k count))
                    (set-oop-at rows r (^ (oop-at rows r) bit))
                    (set-oop-at cols c (^ (oop-at cols c) bit))))
                (set d (+ d 1)))
              count)))
        (define-function latin (k)
          (let ((grid (malloc 64)) (rows (malloc 64)) (cols (malloc 64)))
            (for (i 0 8) (set-oop-at rows i 0) (set-oop-at cols i 0))
            (let ((n (if (> k 4) -1 (place grid rows cols 0 k 0))))
              (free grid) (free rows) (free cols)
              n)))
        (define labs (extern 'labs))
        (define-function twist (a b) (+ (* a 31) (^ b (labs (>> a 3)))))
        (define-function juggle (n seed)
          (let ((a seed) (b (+ seed 1)) (c (* seed 3)) (d (- seed 7)) (e (^ seed 12345)) (f (>> seed 2)) (g (<< seed 1)) (h (& seed 255)) (s 0))
            (for (i 0 n)
              (set s (+ s (twist a i)))
              (set a (+ a (twist b s)))
              (set b (- b (twist c a)))
              (set c (^ c (twist d b)))
              (set d (+ d (twist e c)))
              (set e (- e (twist f d)))
              (set f (+ f (twist g e)))
              (set g (^ g (twist h f)))
              (set h (+ h (twist s g))))
            (+ s (^ a (+ b (^ c (+ d (^ e (+ f (^ g h))))))))))
        """;

    private static long Place(long[] rows, long[] cols, long pos, long k, long count)
    {
        unchecked
        {
            if (pos >= k * k) return count + 1;
            long r = k == 0 ? 0 : k == -1 ? -pos : pos / k, c = k is 0 or -1 ? 0 : pos % k;
            var used = rows[r] | cols[c];
            for (var d = 0; d < k; d++)
            {
                var bit = 1L << d;
                if ((used & bit) != 0) continue;
                rows[r] |= bit;
                cols[c] |= bit;
                count = Place(rows, cols, pos + 1, k, count);
                rows[r] ^= bit;
                cols[c] ^= bit;
            }
            return count;
        }
    }

    private static long Twist(long a, long b) => unchecked(a * 31 + (b ^ Math.Abs(a >> 3)));   // a >> 3 is never MIN

    private static long Reference(string function, long[] x)
    {
        unchecked
        {
            switch (function)
            {
                case "latin": return x[0] > 4 ? -1 : Place(new long[8], new long[8], 0, x[0], 0);
                case "juggle":
                {
                    long seed = x[1], a = seed, b = seed + 1, c = seed * 3, d = seed - 7, e = seed ^ 12345, f = seed >> 2, g = seed << 1, h = seed & 255, s = 0;
                    for (long i = 0; i < x[0]; i++)
                    {
                        s += Twist(a, i);
                        a += Twist(b, s);
                        b -= Twist(c, a);
                        c ^= Twist(d, b);
                        d += Twist(e, c);
                        e -= Twist(f, d);
                        f += Twist(g, e);
                        g ^= Twist(h, f);
                        h += Twist(s, g);
                    }
                    return s + (a ^ (b + (c ^ (d + (e ^ (f + (g ^ h)))))));
                }
                default: throw new ArgumentException(function);
            }
        }
    }

    private static IEnumerable<(string Function, long[] Arguments)> Calls()
    {
        foreach (var k in new long[] { -2, 0, 1, 2, 3, 4, 5 }) yield return ("latin", [k]);
        foreach (var n in new long[] { -1, 0, 1, 3, 50 })
            foreach (var seed in new long[] { 0, 1, -1, 12345, -98765, long.MaxValue, long.MinValue, int.MinValue })
                yield return ("juggle", [n, seed]);
    }

    /// <summary>The addresses of the function's blocks (the listing's <c>@bN:</c> labels: where control may join).</summary>
    private static HashSet<ulong> BlockStarts(string listing, string function, ulong address)
    {
        var starts = new HashSet<ulong>();
        var lines = listing.Split('\n');
        var at = Array.FindIndex(lines, l => l == function + ":");
        Assert.IsGreaterThanOrEqualTo(0, at, listing);
        long first = -1;
        var label = false;
        for (var i = at + 1; i < lines.Length && !System.Text.RegularExpressions.Regex.IsMatch(lines[i], @"^\S.*:$"); i++)
        {
            if (System.Text.RegularExpressions.Regex.IsMatch(lines[i], @"^\s*@b\d+:")) { label = true; continue; }
            var m = System.Text.RegularExpressions.Regex.Match(lines[i], @"^\s+([0-9a-f]{6})\s");
            if (!m.Success) continue;
            var offset = Convert.ToInt64(m.Groups[1].Value, 16);
            if (first < 0) first = offset;
            if (label) starts.Add(address + (ulong)(offset - first));
            label = false;
        }
        return starts;
    }

    /// <summary>Loads of a frame word into a register that holds it already: nothing since the last load or store of it wrote the register or the word, no block start between.</summary>
    private static List<string> RedundantReloads(List<MachineInstruction> code, HashSet<ulong> targets)
    {
        var info = new InstructionInfoFactory();
        var holds = new Dictionary<Register, (Register Base, long Displacement)>();
        var found = new List<string>();
        foreach (var instruction in code)
        {
            if (targets.Contains(instruction.IP) || instruction.FlowControl is FlowControl.Call or FlowControl.IndirectCall) holds.Clear();
            var isFrameLoad = instruction.Code == Code.Mov_r64_rm64 && instruction.Op1Kind == OpKind.Memory
                && instruction.MemoryBase is Register.RSP or Register.RBP && instruction.MemoryIndex == Register.None;
            if (isFrameLoad && holds.TryGetValue(instruction.Op0Register, out var held)
                && held == (instruction.MemoryBase, (long)instruction.MemoryDisplacement64))
                found.Add($"{instruction.IP:x}: {instruction}");
            var used = info.GetInfo(instruction);
            foreach (var memory in used.GetUsedMemory())
                if (memory.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite)
                    foreach (var (r, slot) in holds.ToList())
                        if (slot.Base != memory.Base || Math.Abs(slot.Displacement - (long)memory.Displacement) < 8) holds.Remove(r);
            foreach (var register in used.GetUsedRegisters())
                if (register.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite)
                    holds.Remove(register.Register.GetFullRegister());
            if (isFrameLoad) holds[instruction.Op0Register] = (instruction.MemoryBase, (long)instruction.MemoryDisplacement64);
            if (instruction.Code == Code.Mov_rm64_r64 && instruction.MemoryBase is Register.RSP or Register.RBP && instruction.MemoryIndex == Register.None)
                holds[instruction.Op1Register] = (instruction.MemoryBase, (long)instruction.MemoryDisplacement64);
            if (instruction.FlowControl is FlowControl.UnconditionalBranch or FlowControl.Return) holds.Clear();
        }
        return found;
    }

    [TestMethod]
    public void AFrameWordARegisterHoldsIsNotReadAgain()
    {
        var result = MaruCompiler.Compile([new Maru.Compiler.Syntax.SourceFile("test.l", Source)], CompiledLibrary.OptionsAt(OptimisationLevel.O1, listing: true));
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        foreach (var function in new[] { "place", "juggle" })
        {
            var code = Decode(result, function);
            var starts = BlockStarts(result.Listing!, function, code[0].IP);
            Assert.IsGreaterThan(1, starts.Count, function);
            // The shapes do spill: the check is not vacuous.
            Assert.IsTrue(code.Any(i => i.Code == Code.Mov_rm64_r64 && i.MemoryBase is Register.RSP or Register.RBP), function);
            var redundant = RedundantReloads(code, starts);
            Assert.AreEqual(0, redundant.Count, $"{function}:\n{string.Join("\n", redundant)}");
        }
    }

    [TestMethod]
    public void SpillingShapesAgreeWithTheModelOnX64() =>
        CompiledLibrary.AssertCallsAtO0AndO1(Source, Calls().Select(c => (c.Function, c.Arguments, Reference(c.Function, c.Arguments))));

    [TestMethod]
    public void SpillingShapesAgreeWithTheModelOnArm64() =>
        Arm64Batch.AssertCalls(Source, Calls().Select(c => new Arm64Case(c.Function, c.Arguments, Reference(c.Function, c.Arguments))).ToList());
}
