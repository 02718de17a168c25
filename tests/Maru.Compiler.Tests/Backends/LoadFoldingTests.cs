using Iced.Intel;
using Maru.Compiler.Interop;
using Maru.Compiler.Tests.TestSupport;
using static Maru.Compiler.Tests.TestSupport.X64Disassembly;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// x86-64 takes a load read only by the next instruction as that instruction's memory operand
/// (<c>cmp qword [m], 0</c>, <c>sub r, [m]</c>, <c>cmp byte [m], 32</c>): every use of a loaded word
/// and the byte uses whose meaning the 8-bit operand keeps give the same results at O0 (nothing
/// folded) and O1, also where the instruction's destination is the load's own index register,
/// where the load reads what a store through another pointer to the same memory just wrote, and
/// for bytes of 128 and above (a byte compared by sign or used in arithmetic is not folded); a word or
/// byte loaded, changed by add/sub/and/or/xor and stored back is one read-modify-write instruction.
/// </summary>
[TestClass]
public sealed class LoadFoldingTests
{
    private const string Source = """
        (define malloc (extern 'malloc))
        (define free (extern 'free))

        ;; i = k - a[i]: the new i is the folded load's own index register
        (define-function chain (n k steps)
          (let ((a (malloc (* 8 n))) (i 0) (s 0))
            (for (j 0 n) (set-oop-at a j (- k (% (+ (* j 7) 3) n))))
            (for (t 0 steps)
              (set i (- k (oop-at a i)))
              (set s (+ (* s 3) i)))
            (free a)
            s))

        ;; i = a[i] + k, a[i] * k, a[i] ^ k...: the load on either side of a commutative operation
        (define-function chain2 (n k steps)
          (let ((a (malloc (* 8 n))) (i 0) (s 0))
            (for (j 0 n) (set-oop-at a j (% (+ (* j 5) 1) n)))
            (for (t 0 steps)
              (set i (+ k (oop-at a i)))
              (set i (- i k))
              (set i (& (oop-at a i) 1023))
              (set i (| 0 (oop-at a i)))
              (set i (^ (oop-at a i) 0))
              (set i (* (oop-at a i) 1))
              (set s (+ (* s 5) i)))
            (free a)
            s))

        ;; every use of a loaded word, each load a different word (no two are one value)
        (define-function words (n)
          (let ((a (malloc (* 8 (+ n 16)))) (s 1) (c 0))
            (for (j 0 (+ n 16)) (set-oop-at a j (- (* (* j j) 37) (* 500 (& j 3)))))
            (for (j 0 n)
              (set s (+ s (oop-at a j)))
              (set s (- s (oop-at a (+ j 1))))
              (set s (^ s (oop-at a (+ j 2))))
              (set s (| (& s (oop-at a (+ j 3))) (oop-at a (+ j 4))))
              (set s (* s (oop-at a (+ j 5))))
              (set s (- (oop-at a (+ j 6)) s))
              (when (< (oop-at a (+ j 7)) s) (set c (+ c 1)))
              (when (>= s (oop-at a (+ j 8))) (set c (+ c 2)))
              (when (oop-at a (+ j 9)) (set c (+ c 4)))
              (when (not (oop-at a (+ j 10))) (set c (+ c 8)))
              (when (& (oop-at a (+ j 11)) 6) (set c (+ c 16)))
              (when (& (oop-at a (+ j 12)) 4096) (set c (+ c 32)))
              (when (& s (oop-at a (+ j 13))) (set c (+ c 64)))
              (set c (+ c (= (oop-at a (+ j 14)) 4)))
              (set c (+ c (> s (oop-at a (+ j 15))))))
            (free a)
            (+ s c)))

        ;; bytes 0-255: equality and bit tests against small constants fold, order and arithmetic do not
        (define-function bytes (n)
          (let ((b (malloc (+ n 8))) (c 0) (h 0))
            (for (j 0 (+ n 8)) (set-string-at b j (% (* j 29) 256)))
            (for (j 0 n)
              (when (= (string-at b j) 32) (set c (+ c 1)))
              (when (!= (string-at b (+ j 1)) 255) (set c (+ c 2)))
              (when (string-at b (+ j 2)) (set c (+ c 4)))
              (when (not (string-at b (+ j 3))) (set c (+ c 8)))
              (when (& (string-at b (+ j 4)) 129) (set c (+ c 16)))
              (set h (+ (* h 31) (string-at b (+ j 5))))
              (when (< (string-at b (+ j 6)) 200) (set c (+ c 32)))
              (when (= (string-at b (+ j 7)) 300) (set c (+ c 64)))
              (set c (+ c (= (string-at b j) 203))))
            (free b)
            (+ (* h 1000) c)))

        ;; a store through q, then a folded load through p: p and q are the same memory
        (define-function aliased (p q n)
          (let ((c 0))
            (for (j 0 n)
              (set-oop-at q j (- j 2))
              (when (< (oop-at p j) 0) (set c (+ c 1)))
              (set-string-at q (* 8 j) (& j 1))
              (when (string-at p (* 8 j)) (set c (+ c 10)))
              (set c (+ c (oop-at p j))))
            c))
        (define-function alias (n)
          (let ((a (malloc (* 8 (+ n 1)))) (r 0))
            (set r (aliased a a n))
            (free a)
            r))

        ;; read-modify-write: a[k] op= v for every op, words and bytes (bytes wrap), constants narrow and wide
        (define-function rmw (n)
          (let ((a (malloc (* 8 16))) (b (malloc 16)) (h 0))
            (for (j 0 16) (set-oop-at a j j) (set-string-at b j (* j 17)))
            (for (j 0 n)
              (let ((k (& (* j 7) 15)) (v (- (* j 13) 50)))
                (set-oop-at a k (+ (oop-at a k) 1))
                (set-oop-at a (& (+ k 1) 15) (- (oop-at a (& (+ k 1) 15)) v))
                (set-oop-at a (& (+ k 2) 15) (^ v (oop-at a (& (+ k 2) 15))))
                (set-oop-at a (& (+ k 3) 15) (| (oop-at a (& (+ k 3) 15)) 81985529216486895))
                (set-oop-at a (& (+ k 4) 15) (& (oop-at a (& (+ k 4) 15)) -4097))
                (set-oop-at a (+ k 0) (+ (oop-at a k) v))
                (set-string-at b k (+ (string-at b k) 200))
                (set-string-at b (& (+ k 5) 15) (- (string-at b (& (+ k 5) 15)) v))
                (set-string-at b (& (+ k 6) 15) (^ (string-at b (& (+ k 6) 15)) 165))))
            (for (j 0 16) (set h (+ (* h 31) (+ (oop-at a j) (string-at b j)))))
            (free a)
            (free b)
            h))

        ;; the sieve's test of a flag and a lexer's test of a character
        (define-function flags (p n) (let ((c 0)) (for (i 0 n) (when (oop-at p i) (set c (+ c i)))) c))
        (define-function spaces (s n) (let ((c 0)) (for (i 0 n) (when (= (string-at s i) 32) (set c (+ c 1)))) c))
        """;

    private static readonly (string Function, long[] Arguments)[] Calls =
    [
        .. new (long N, long K, long Steps)[] { (1, 0, 5), (7, 100, 50), (13, long.MaxValue, 40), (5, long.MinValue, 33), (11, -9, 100) }
            .SelectMany(c => new[] { ("chain", new[] { c.N, c.K, c.Steps }), ("chain2", new[] { c.N, c.K, c.Steps }) }),
        .. new long[] { 0, 1, 2, 9, 40 }.SelectMany(n => new[] { ("words", new[] { n }), ("bytes", new[] { n }), ("alias", new[] { n }), ("rmw", new[] { n }) }),
    ];

    [TestMethod]
    public void SameResultsAtO0AndO1()
    {
        CompiledLibrary.AssertO1AgreesWithO0(Source, Calls, [
            ("chain", [13, long.MaxValue, 40], Chain(13, long.MaxValue, 40)),
            ("alias", [40], Alias(40)),
            ("rmw", [40], Rmw(40)),
        ]);
    }

    [TestMethod]
    public void ATestedLoadIsTheCompareOperand()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var flags = Decode(result, "flags");
        Assert.IsTrue(flags.Any(i => i.Mnemonic == Mnemonic.Cmp && i.Op0Kind == OpKind.Memory && i.MemoryIndexScale == 8 && i.Immediate64 == 0), string.Join("\n", flags));
        Assert.IsFalse(flags.Any(i => i.Mnemonic == Mnemonic.Mov && i.Op1Kind == OpKind.Memory), string.Join("\n", flags));
        var spaces = Decode(result, "spaces");
        Assert.IsTrue(spaces.Any(i => i.Mnemonic == Mnemonic.Cmp && i.Op0Kind == OpKind.Memory && i.MemorySize == MemorySize.UInt8 && i.Immediate8 == 32), string.Join("\n", spaces));
        // (a conditional count is the comparison's setcc and movzx added: no movzx reads memory)
        Assert.IsFalse(spaces.Any(i => i.Mnemonic == Mnemonic.Movzx && i.Op1Kind == OpKind.Memory), string.Join("\n", spaces));
    }

    [TestMethod]
    public void AnUpdatedWordIsOneReadModifyWrite()
    {
        var result = CompiledLibrary.CompileOnly(Source);
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var rmw = Decode(result, "rmw");
        foreach (var mnemonic in new[] { Mnemonic.Add, Mnemonic.Sub, Mnemonic.Xor, Mnemonic.Or, Mnemonic.And })
            Assert.IsTrue(rmw.Any(i => i.Mnemonic == mnemonic && i.Op0Kind == OpKind.Memory && i.MemorySize == MemorySize.UInt64), $"{mnemonic}\n{string.Join("\n", rmw)}");
        Assert.IsTrue(rmw.Any(i => i.Mnemonic == Mnemonic.Add && i.Op0Kind == OpKind.Memory && i.MemorySize == MemorySize.UInt8), string.Join("\n", rmw));
    }

    private static long Chain(long n, long k, long steps)
    {
        var a = new long[n];
        for (long j = 0; j < n; j++) a[j] = unchecked(k - (j * 7 + 3) % n);
        long i = 0, s = 0;
        for (long t = 0; t < steps; t++)
        {
            i = unchecked(k - a[i]);
            s = unchecked(s * 3 + i);
        }
        return s;
    }

    private static long Rmw(long n)
    {
        var a = new long[16];
        var b = new byte[16];
        for (var j = 0; j < 16; j++) (a[j], b[j]) = (j, (byte)(j * 17));
        for (long j = 0; j < n; j++)
        {
            var k = (j * 7) & 15;
            var v = j * 13 - 50;
            a[k] += 1;
            a[(k + 1) & 15] -= v;
            a[(k + 2) & 15] ^= v;
            a[(k + 3) & 15] |= 81985529216486895;
            a[(k + 4) & 15] &= -4097;
            a[k] += v;
            b[k] = (byte)(b[k] + 200);
            b[(k + 5) & 15] = (byte)(b[(k + 5) & 15] - v);
            b[(k + 6) & 15] ^= 165;
        }
        long h = 0;
        for (var j = 0; j < 16; j++) h = unchecked(h * 31 + a[j] + b[j]);
        return h;
    }

    private static long Alias(long n)
    {
        long c = 0;
        for (long j = 0; j < n; j++)
        {
            long word = j - 2;
            if (word < 0) c++;
            word = (word & ~0xffL) | (j & 1);
            if ((word & 0xff) != 0) c += 10;
            c += word;
        }
        return c;
    }
}
