using Iced.Intel;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// A load whose value a later Add/Subtract/And/Or/Xor reads, stored back to the same address
/// right after, moves down to the operation (ReadModifyWriteSinking): on x86-64 the three are one
/// instruction on memory (Iced decodes an or/add/sub to memory in the compiled functions, which
/// return 0: a stored value that is also returned needs its register). Results
/// are the same at O0 and O1 and on arm64, also when a store between the load and the operation
/// may write the loaded word (the load then stays above it) or the loaded value is subtracted from.
/// </summary>
[TestClass]
public sealed class ReadModifyWriteSinkingTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))
        (define-function setbit (bits i) (set-oop-at bits (>> i 6) (| (oop-at bits (>> i 6)) (<< 1 (& i 63)))) 0)
        (define-function addw (h k w x) (set-oop-at h k (+ (oop-at h k) (* w x))) 0)
        (define-function subb (s i v) (set-string-at s i (- (string-at s i) (& (* v 3) 15))) 0)
        (define-function rsub (h k v) (set-oop-at h k (- (* v 5) (oop-at h k))))
        (define-function aliased (h k j v) (set-oop-at h k (+ (oop-at h k) (let ((t (* v 7))) (set-oop-at h j t) t))))
        (define-function run (n seed)
          (let ((p (malloc 256)) (x seed) (h 0) (i 0))
            (while (< i 32) (set-oop-at p i 0) (set i (+ i 1)))
            (set i 0)
            (while (< i n)
              (set x (+ (* x 6364136223846793005) 1442695040888963407))
              (setbit p (& (>> x 20) 1023))
              (addw p (& (>> x 30) 15) (>> x 40) i)
              (subb p (+ 128 (& (>> x 10) 127)) x)
              (rsub p (& (>> x 14) 31) i)
              (aliased p (& (>> x 24) 31) (& (>> x 27) 31) x)
              (set i (+ i 1)))
            (set i 0)
            (while (< i 32) (set h (+ (* h 31) (oop-at p i))) (set i (+ i 1)))
            (free p)
            h))
        """;

    [TestMethod]
    public void ALoadModifiedAndStoredBackIsOneInstructionOnMemory()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsNotNull(result.Library, string.Join("\n", result.Diagnostics));
        var elf = new ElfImage(result.Library);
        foreach (var (function, mnemonic) in new[] { ("setbit", Mnemonic.Or), ("addw", Mnemonic.Add), ("subb", Mnemonic.Sub) })
        {
            var (code, address) = elf.FunctionBytes(Maru.Compiler.Interop.SymbolNames.ToSymbolName(function));
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
            decoder.IP = address;
            var found = false;
            while (decoder.IP < address + (ulong)code.Length)
            {
                var instruction = decoder.Decode();
                found |= instruction.Mnemonic == mnemonic && instruction.Op0Kind == OpKind.Memory;
            }
            Assert.IsTrue(found, $"{function}: no {mnemonic} to memory");
        }
        long[][] runs = [[0, 1], [1, 2], [7, -3], [100, 12345], [1000, long.MinValue]];
        CompiledLibrary.AssertCallsAtO0AndO1(Source, runs.Select(a => ("run", a, Reference(a[0], a[1]))));
        Arm64Batch.AssertSameAsX64(Source, runs.Select(a => ("run", a)));
    }

    private static long Reference(long n, long seed)
    {
        unchecked
        {
            var memory = new byte[256];
            long Word(long k) => BitConverter.ToInt64(memory, (int)(8 * k));
            void Store(long k, long v) => BitConverter.TryWriteBytes(memory.AsSpan((int)(8 * k)), v);
            var x = seed;
            for (long i = 0; i < n; i++)
            {
                x = x * 6364136223846793005 + 1442695040888963407;
                var bit = (x >> 20) & 1023;
                Store(bit >> 6, Word(bit >> 6) | (1L << (int)(bit & 63)));
                var k = (x >> 30) & 15;
                Store(k, Word(k) + (x >> 40) * i);
                var b = 128 + ((x >> 10) & 127);
                memory[b] = (byte)(memory[b] - ((x * 3) & 15));
                k = (x >> 14) & 31;
                Store(k, i * 5 - Word(k));
                k = (x >> 24) & 31;
                var old = Word(k);
                var t = x * 7;
                Store((x >> 27) & 31, t);
                Store(k, old + t);
            }
            long h = 0;
            for (var k = 0; k < 32; k++) h = h * 31 + Word(k);
            return h;
        }
    }
}
