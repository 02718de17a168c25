using Iced.Intel;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// Loop alignment pads with nops before a loop's top, where only entries from outside the loop
/// pass them. Checked on x86-64 code decoded by Iced: when an instruction falls into padding, the
/// code after the padding never leads back to that instruction, so no trip through a loop runs it. The shapes place blocks of a loop
/// above its header (a merge loop whose test sits in the middle, a list walk's and-condition,
/// nested loops); the functions still compute the same at O0 and O1, on x86-64 and arm64.
/// </summary>
[TestClass]
public sealed class LoopAlignmentTests
{
    private const string Source = """
        (define-structure <node> (next key))
        (define-function merge (a b)
          (let ((head 0) (tail 0))
            (while (and a b)
              (let ((m 0))
                (if (<= (<node>-key a) (<node>-key b))
                    (let () (set m a) (set a (<node>-next a)))
                  (set m b) (set b (<node>-next b)))
                (if tail (set (<node>-next tail) m) (set head m))
                (set tail m)))
            (let ((rest (if a a b)))
              (if tail (set (<node>-next tail) rest) (set head rest)))
            head))
        (define-function msort (list)
          (if (or (= list 0) (= (<node>-next list) 0))
              list
            (let ((slow list) (fast (<node>-next list)))
              (while (and fast (<node>-next fast))
                (set slow (<node>-next slow))
                (set fast (<node>-next (<node>-next fast))))
              (let ((back (<node>-next slow)))
                (set (<node>-next slow) 0)
                (merge (msort list) (msort back))))))
        (define-function sorted (pool n seed)
          (let ((list 0) (x seed) (h 0) (i 0))
            (while (< i n)
              (set x (+ (* x 6364136223846793005) 1442695040888963407))
              (let ((e (+ pool (* i 16))))
                (set (<node>-key e) (& (>> x 30) 1023))
                (set (<node>-next e) list)
                (set list e))
              (set i (+ i 1)))
            (set list (msort list))
            (while list
              (set h (+ (* h 31) (<node>-key list)))
              (set list (<node>-next list)))
            h))
        (define-function grid (n)
          (let ((s 0) (i 0))
            (while (< i n)
              (let ((j 0))
                (while (and (< j i) (!= (& (* i j) 7) 5))
                  (set s (+ s (^ i j)))
                  (set j (+ j 1))))
              (set i (+ i 1)))
            s))
        """;

    private const string Memory = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function run (n seed) (let ((p (malloc (* 16 (+ n 1)))) (h 0)) (set h (sorted p n seed)) (free p) h))
        """;

    [TestMethod]
    public void NoPaddingIsReachedFromInsideALoop()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsNotNull(result.Library, string.Join("\n", result.Diagnostics));
        var elf = new ElfImage(result.Library);
        foreach (var function in new[] { "merge", "msort", "sorted", "grid" })
        {
            var (code, address) = elf.FunctionBytes(Maru.Compiler.Interop.SymbolNames.ToSymbolName(function));
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
            decoder.IP = address;
            var instructions = new List<Instruction>();
            while (decoder.IP < address + (ulong)code.Length) instructions.Add(decoder.Decode());
            var at = new Dictionary<ulong, int>();
            for (var k = 0; k < instructions.Count; k++) at[instructions[k].IP] = k;
            for (var k = 1; k < instructions.Count; k++)
            {
                if (!IsNop(instructions[k]) || IsNop(instructions[k - 1])) continue;
                var before = instructions[k - 1];
                if (!FallsThrough(before)) continue;
                var header = k;
                while (header < instructions.Count && IsNop(instructions[header])) header++;
                // The padding is run from inside a loop when the code after it leads back to the instruction falling into it.
                Assert.IsFalse(Reaches(instructions, at, header, k - 1),
                    $"{function}: padding at 0x{instructions[k].IP:x} is fallen into by {before} at 0x{before.IP:x}, inside the loop it precedes");
            }
        }
        long[][] runs = [[0, 1], [1, 5], [2, 9], [50, 3], [333, -7]];
        long[][] grids = [[0], [1], [9], [40]];
        var calls = runs.Select(a => ("run", a)).Concat(grids.Select(a => ("grid", a))).ToList();
        CompiledLibrary.AssertCallsAtO0AndO1(Memory + Source, calls.Select(c => (c.Item1, c.Item2, Reference(c.Item1, c.Item2))));
        Arm64Batch.AssertSameAsX64(Memory + Source, calls);
    }

    private static bool IsNop(Instruction i) =>
        i.Mnemonic == Mnemonic.Nop || i.Mnemonic == Mnemonic.Xchg && i.Op0Register == Register.AX && i.Op1Register == Register.AX;

    private static bool FallsThrough(Instruction i) => i.FlowControl is not (FlowControl.UnconditionalBranch or FlowControl.Return or FlowControl.Interrupt);

    /// <summary>Whether control can get from instruction <paramref name="from"/> to instruction <paramref name="to"/> (fall-through and near branches).</summary>
    private static bool Reaches(List<Instruction> instructions, Dictionary<ulong, int> at, int from, int to)
    {
        var seen = new bool[instructions.Count];
        var stack = new Stack<int>([from]);
        while (stack.Count > 0)
        {
            var k = stack.Pop();
            if (k == to) return true;
            if (k >= instructions.Count || seen[k]) continue;
            seen[k] = true;
            var i = instructions[k];
            if (FallsThrough(i)) stack.Push(k + 1);
            if (i.FlowControl is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch && at.TryGetValue(i.NearBranchTarget, out var target)) stack.Push(target);
        }
        return false;
    }

    /// <summary>The sorted keys' polynomial hash, and grid's sum, computed in C#.</summary>
    private static long Reference(string function, long[] a)
    {
        unchecked
        {
            if (function == "grid")
            {
                long s = 0;
                for (long i = 0; i < a[0]; i++)
                    for (long j = 0; j < i && ((i * j) & 7) != 5; j++) s += i ^ j;
                return s;
            }
            var keys = new List<long>();
            var x = a[1];
            for (var i = 0; i < a[0]; i++)
            {
                x = x * 6364136223846793005 + 1442695040888963407;
                keys.Add((x >> 30) & 1023);
            }
            keys.Sort();
            long h = 0;
            foreach (var key in keys) h = h * 31 + key;
            return h;
        }
    }
}
