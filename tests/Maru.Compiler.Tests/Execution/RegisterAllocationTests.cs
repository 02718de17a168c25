using System.Runtime.InteropServices;
using System.Text;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>
/// Programs that stress the register allocator, run natively: more live values than registers
/// across calls, many arguments, nested calls as arguments, argument permutations (parallel-move
/// cycles), division and shifts under pressure in loops, deep recursion and callbacks into C#.
/// </summary>
public abstract unsafe class RegisterAllocationTests : ExecutionTests
{
    /// <summary>(let ((v0 (+ n 0)) ... (vK (+ n K))) ...) and Σ (i+1)·vi, with a call in the middle when asked.</summary>
    private static string ManyLiveValues(string name, int count, string? middle)
    {
        var text = new StringBuilder($"(define-function {name} (n) (let (");
        for (var i = 0; i < count; i++) text.Append($"(v{i} (* n {i + 1})) ");
        text.Append(") ");
        if (middle is not null) text.Append(middle).Append(' ');
        var sum = "0";
        for (var i = count - 1; i >= 0; i--) sum = $"(+ (* {i + 1} v{i}) {sum})";
        return text.Append(sum).Append("))\n").ToString();
    }

    private static long ManyLiveValuesExpected(long n, int count)
    {
        long sum = 0;
        for (var i = 0; i < count; i++) sum += (i + 1) * (n * (i + 1));
        return sum;
    }

    [TestMethod]
    public void MoreLiveValuesThanRegistersAcrossCalls()
    {
        using var library = Compile(
            "(define counter 0)\n(define-function bump () (set counter (+ counter 1)))\n"
            + ManyLiveValues("leaf20", 20, null)
            + ManyLiveValues("across20", 20, "(bump)")
            + ManyLiveValues("across30", 30, "(bump) (leaf20 3) (bump)")
            + ManyLiveValues("across6", 6, "(bump)"));
        foreach (var n in new long[] { 0, 1, -3, 1000 })
        {
            Assert.AreEqual(ManyLiveValuesExpected(n, 20), library.Call("leaf20", n));
            Assert.AreEqual(ManyLiveValuesExpected(n, 20), library.Call("across20", n));
            Assert.AreEqual(ManyLiveValuesExpected(n, 30), library.Call("across30", n));
            Assert.AreEqual(ManyLiveValuesExpected(n, 6), library.Call("across6", n));
        }
        Assert.AreEqual(4 * 4, library.Global("counter"));
    }

    [TestMethod]
    public void HundredsOfValuesLiveAcrossACall()
    {
        // More than 4096 nodes: the interference graph keeps its edges in adjacency sets instead of a bit matrix.
        using var library = Compile("(define-function bump (x) (+ x 1))\n" + ManyLiveValues("huge", 700, "(bump 1)"));
        Assert.AreEqual(ManyLiveValuesExpected(7, 700), library.Call("huge", 7));
    }

    [TestMethod]
    public void TenArgumentsPermutedAndForwarded()
    {
        using var library = Compile("""
            (define-function weigh (a b c d e f g h i j) (+ a (+ (* 2 b) (+ (* 3 c) (+ (* 4 d) (+ (* 5 e) (+ (* 6 f) (+ (* 7 g) (+ (* 8 h) (+ (* 9 i) (* 10 j)))))))))))
            (define-function reversed (a b c d e f g h i j) (weigh j i h g f e d c b a))
            (define-function rotated (a b c d e f g h i j) (weigh b c d e f g h i j a))
            (define-function twice (a b c d e f g h i j) (+ (weigh a b c d e f g h i j) (reversed a b c d e f g h i j)))
            """);
        long Weigh(params long[] x)
        {
            long s = 0;
            for (var i = 0; i < x.Length; i++) s += (i + 1) * x[i];
            return s;
        }
        long[] args = [1, 20, 300, 4000, 50000, 600000, 7000000, 80000000, 900000000, 10000000000];
        Assert.AreEqual(Weigh([.. args]), library.Call("weigh", args));
        Assert.AreEqual(Weigh([.. args.Reverse()]), library.Call("reversed", args));
        Assert.AreEqual(Weigh([.. args.Skip(1), args[0]]), library.Call("rotated", args));
        Assert.AreEqual(Weigh([.. args]) + Weigh([.. args.Reverse()]), library.Call("twice", args));
    }

    [TestMethod]
    public void ArgumentPermutationsNeedParallelMoves()
    {
        using var library = Compile("""
            (define-function f (a b) (- (* 10 a) b))
            (define-function g (a b) (f b a))
            (define-function f3 (a b c) (+ (* 100 a) (+ (* 10 b) c)))
            (define-function rot3 (a b c) (f3 b c a))
            (define-function swap-first (a b c) (f3 b a c))
            (define-function dup (a b c) (f3 a a b))
            (define-function f6 (a b c d e f) (+ (* 100000 a) (+ (* 10000 b) (+ (* 1000 c) (+ (* 100 d) (+ (* 10 e) f))))))
            (define-function two-cycles (a b c d e f) (f6 b a d c f e))
            (define-function six-cycle (a b c d e f) (f6 f a b c d e))
            (define-function with-constants (a b c d e f) (f6 0 a 7 b c (+ d (+ e f))))
            (define-function apply-swapped (a fn b) (fn b a))
            """);
        Assert.AreEqual(10 * 2 - 1, library.Call("g", 1, 2));
        Assert.AreEqual(231, library.Call("rot3", 1, 2, 3));
        Assert.AreEqual(213, library.Call("swap-first", 1, 2, 3));
        Assert.AreEqual(112, library.Call("dup", 1, 2, 3));
        Assert.AreEqual(214365, library.Call("two-cycles", 1, 2, 3, 4, 5, 6));
        Assert.AreEqual(612345, library.Call("six-cycle", 1, 2, 3, 4, 5, 6));
        Assert.AreEqual(17230 + 15, library.Call("with-constants", 1, 2, 3, 4, 5, 6));
        Assert.AreEqual(10 * 2 - 1, library.Call("apply-swapped", 1, (long)library.Export("f"), 2), "the callee sits in an argument register");
    }

    [TestMethod]
    public void NestedCallsAsArguments()
    {
        using var library = Compile("""
            (define-function g (a b) (- (* 3 a) b))
            (define-function h (a b) (+ (* 5 a) b))
            (define-function f (a b) (- (* 7 a) b))
            (define-function nested () (f (g 1 2) (h 3 (g 4 5))))
            (define-function nested-args (x y) (f (g x y) (h y (g x (h y x)))))
            """);
        long G(long a, long b) => 3 * a - b;
        long H(long a, long b) => 5 * a + b;
        long F(long a, long b) => 7 * a - b;
        Assert.AreEqual(F(G(1, 2), H(3, G(4, 5))), library.Call("nested"));
        Assert.AreEqual(F(G(9, -4), H(-4, G(9, H(-4, 9)))), library.Call("nested-args", 9, -4));
    }

    [TestMethod]
    public void DivisionAndShiftsInLoopsUnderPressure()
    {
        using var library = Compile("""
            (define-function mix (n k)
              (let ((i 0) (a 1) (b 2) (c 3) (d 4) (e 5) (f 6) (g 7) (h 8) (s 0))
                (while (< i n)
                  (set a (+ a (/ (* i 7919) (- k i))))
                  (set b (^ b (<< a (& i 63))))
                  (set c (+ c (% b (+ i 3))))
                  (set d (- d (>> c (% i 5))))
                  (set e (+ e (/ d (- 2 (% i 4)))))
                  (set f (+ f (% e (- i 10))))
                  (set g (+ g (<< 1 i)))
                  (set h (+ h (/ g -1)))
                  (set s (+ s (+ a (+ b (+ c (+ d (+ e (+ f (+ g h)))))))))
                  (set i (+ i 1)))
                s))
            """);
        static long Div(long x, long y) => y == 0 ? 0 : y == -1 ? unchecked(-x) : x / y;
        static long Rem(long x, long y) => y == 0 || y == -1 ? 0 : x % y;
        static long Mix(long n, long k)
        {
            long i = 0, a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, s = 0;
            unchecked
            {
                while (i < n)
                {
                    a += Div(i * 7919, k - i);
                    b ^= a << (int)(i & 63);
                    c += Rem(b, i + 3);
                    d -= c >> (int)(Rem(i, 5) & 63);
                    e += Div(d, 2 - Rem(i, 4));
                    f += Rem(e, i - 10);
                    g += 1L << (int)(i & 63);
                    h += Div(g, -1);
                    s += a + b + c + d + e + f + g + h;
                    i++;
                }
            }
            return s;
        }
        foreach (var (n, k) in new (long, long)[] { (0, 0), (1, 0), (20, 5), (100, 50), (130, -1) })
            Assert.AreEqual(Mix(n, k), library.Call("mix", n, k), $"(mix {n} {k})");
    }

    [TestMethod]
    public void DeepRecursionWithValuesLiveAcrossTheCall()
    {
        using var library = Compile("""
            (define-function walk (n a b c)
              (if (= n 0)
                  (+ a (+ b c))
                  (let ((x (+ a 1)) (y (* b 3)) (z (- c n)))
                    (+ (walk (- n 1) y z x) (+ x (+ y z))))))
            """);
        static long Walk(long n, long a, long b, long c)
        {
            if (n == 0) return unchecked(a + b + c);
            long x = a + 1, y = unchecked(b * 3), z = c - n;
            return unchecked(Walk(n - 1, y, z, x) + x + y + z);
        }
        long result = 0;
        var thread = new Thread(() => result = library.Call("walk", 50_000, 1, 2, 3), maxStackSize: 256 * 1024 * 1024);
        thread.Start();
        thread.Join();
        long expected = 0;
        var reference = new Thread(() => expected = Walk(50_000, 1, 2, 3), maxStackSize: 256 * 1024 * 1024);
        reference.Start();
        reference.Join();
        Assert.AreEqual(expected, result);
    }

    [UnmanagedCallersOnly]
    private static long Combine(long a, long b, long c, long d, long e, long f, long g, long h) =>
        a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;

    [UnmanagedCallersOnly]
    private static long Square(long x) => x * x;

    [TestMethod]
    public void CallbacksIntoCSharpWithStackArgumentsAndLiveValues()
    {
        using var library = Compile("""
            (define-function drive (cb sq n)
              (let ((i 0) (s 0) (t 1))
                (while (< i n)
                  (set t (+ t (sq i)))
                  (set s (+ s (cb i (+ i 1) (+ i 2) t (sq t) 6 7 (+ s 1))))
                  (set i (+ i 1)))
                (+ s t)))
            """);
        delegate* unmanaged<long, long, long, long, long, long, long, long, long> combine = &Combine;
        delegate* unmanaged<long, long> square = &Square;
        static long Drive(long n)
        {
            long i = 0, s = 0, t = 1;
            unchecked
            {
                while (i < n)
                {
                    t += i * i;
                    s += i + 2 * (i + 1) + 3 * (i + 2) + 4 * t + 5 * (t * t) + 6 * 6 + 7 * 7 + 8 * (s + 1);
                    i++;
                }
            }
            return unchecked(s + t);
        }
        Assert.AreEqual(Drive(10), library.Call("drive", (long)combine, (long)square, 10));
    }

    [TestMethod]
    public void VariadicImportsGetAlZeroAndValuesSurviveThem()
    {
        using var library = Compile("""
            (define snprintf (extern 'snprintf))
            (define labs (extern 'labs))
            (define-function show (buf a b)
              (let ((x (* a 2)) (y (+ b 1)) (n (snprintf buf 64 "%ld/%ld/%ld" a b (labs (- 0 a)))))
                (+ n (* 1000 (+ x y)))))
            """);
        var buffer = new byte[64];
        fixed (byte* p = buffer)
        {
            var result = library.Call("show", (long)p, -12, 345);
            var text = Marshal.PtrToStringUTF8((nint)p)!;
            Assert.AreEqual("-12/345/12", text);
            Assert.AreEqual(text.Length + 1000 * (-24 + 346), result);
        }
    }

    private static long Fnv1a(long key)
    {
        var h = unchecked((long)14695981039346656037UL);
        for (var i = 0; i < 8; i++) h = unchecked((h ^ ((key >> (i * 8)) & 255)) * 1099511628211L);
        return h;
    }

    [TestMethod]
    public void WideConstantsInLoops()
    {
        // 64-bit constants read in loops (O1 keeps them in registers defined before the loop):
        // multiplications, additions, comparisons, stores, shifted counts and divisors that stay
        // constants, nested and consecutive loops, a loop entered from another loop's exit, and a
        // call inside the loop (the constants live across it).
        using var library = Compile("""
            (define-function fnv1a (key)
              (let ((h 14695981039346656037) (i 0))
                (while (< i 8)
                  (set h (* (^ h (& (>> key (* i 8)) 255)) 1099511628211))
                  (set i (+ i 1)))
                h))
            (define-function lcg-sum (n)
              (let ((x 99) (s 0) (i 0))
                (while (< i n)
                  (set x (+ (* x 6364136223846793005) 1442695040888963407))
                  (set s (+ s (fnv1a (& x 65535))))
                  (set s (^ s (/ 81985529216486895 (+ 1 (& x 7)))))
                  (set s (+ s (% x 4294967297)))
                  (set s (+ s (<< x 40)))
                  (when (< x 4611686018427387904) (set s (+ s 1)))
                  (set i (+ i 1)))
                (let ((j 0))
                  (while (< j n)
                    (set s (& (+ s 1442695040888963407) 9223372036854775807))
                    (set j (+ j 1))))
                s))
            (define-function fill (p n)
              (let ((i 0))
                (while (< i n)
                  (set-oop-at p i 81985529216486895)
                  (set-string-at p (+ 1 (* 8 i)) 81985529216486895)
                  (set i (+ i 1)))
                (oop-at p (- n 1))))
            """);
        foreach (var key in new long[] { 0, 1, 12345, -1, long.MaxValue })
            Assert.AreEqual(Fnv1a(key), library.Call("fnv1a", key), $"fnv1a {key}");
        foreach (var n in new long[] { 0, 1, 2, 100 })
        {
            long x = 99, s = 0;
            for (var i = 0; i < n; i++)
                unchecked
                {
                    x = x * 6364136223846793005 + 1442695040888963407;
                    s += Fnv1a(x & 65535);
                    s ^= 81985529216486895 / (1 + (x & 7));
                    s += x % 4294967297;
                    s += x << 40;
                    if (x < 4611686018427387904) s += 1;
                }
            for (var j = 0; j < n; j++) s = unchecked(s + 1442695040888963407) & long.MaxValue;
            Assert.AreEqual(s, library.Call("lcg-sum", n), $"lcg-sum {n}");
        }
        var words = new long[4];
        fixed (long* p = words)
        {
            var expected = BitConverter.ToInt64(BitConverter.GetBytes(81985529216486895L).Select((b, i) => i == 1 ? (byte)0xef : b).ToArray());
            Assert.AreEqual(expected, library.Call("fill", (long)p, 4));
            Assert.AreEqual(expected, words[0]);
        }
    }

    [TestMethod]
    public void MoreWideConstantsInALoopThanRegisters()
    {
        // Twenty distinct 64-bit constants read in one loop that also calls: most must spill.
        var constants = Enumerable.Range(0, 20).Select(k => unchecked(0x0123456789ABCDEFL * (k + 3) + (1L << 40))).ToArray();
        var body = new StringBuilder();
        foreach (var c in constants) body.Append($"(set s (^ (* s {c}) (+ x {c}))) ");
        using var library = Compile($"""
            (define-function id (x) x)
            (define-function mix (n)
              (let ((s 1) (x 0))
                (while (< x n)
                  {body}
                  (set s (id s))
                  (set x (+ x 1)))
                s))
            """);
        foreach (var n in new long[] { 0, 1, 5 })
        {
            long s = 1;
            for (long x = 0; x < n; x++)
                foreach (var c in constants) s = unchecked((s * c) ^ (x + c));
            Assert.AreEqual(s, library.Call("mix", n), $"mix {n}");
        }
    }

    [TestMethod]
    public void CallResultsSpilledAcrossCallsWithoutAFramePointer()
    {
        // Twelve C call results live across further calls (more than the callee-saved registers),
        // a frame without rbp at O1: spill slots off rsp, rsp aligned for every call (snprintf of
        // a long would fault or misprint otherwise).
        var lets = string.Join(" ", Enumerable.Range(0, 12).Select(k => $"(v{k} (labs (* n {k + 2})))"));
        var sum = Enumerable.Range(0, 12).Aggregate("0", (total, k) => $"(+ (* {k + 1} v{k}) {total})");
        using var library = Compile($$"""
            (define labs (extern 'labs))
            (define snprintf (extern 'snprintf))
            (define-function f (buf n) (let ({{lets}}) (snprintf buf 32 "%ld" (labs n)) {{sum}}))
            """);
        var buffer = new byte[32];
        fixed (byte* p = buffer)
            foreach (var n in new long[] { 0, 5, -7 })
            {
                var expected = Enumerable.Range(0, 12).Sum(k => (k + 1) * Math.Abs(n * (k + 2)));
                Assert.AreEqual(expected, library.Call("f", (long)p, n));
                Assert.AreEqual(Math.Abs(n).ToString(System.Globalization.CultureInfo.InvariantCulture), Marshal.PtrToStringUTF8((nint)p));
            }
    }

    [TestMethod]
    public void EarlyExitsBeforeThePrologueAndAtCallSites()
    {
        // Functions whose entry compares parameters and on one outcome returns a parameter or a
        // constant: tested before their prologue and at every direct call site (O1). Both branch
        // directions, constants on either side, (not x), wide constants, an exit returning another
        // parameter, eight parameters, and callers keeping values live across those calls.
        using var library = Compile("""
            (define-function fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
            (define-function down (n) (if (> n 0) (+ 1 (down (- n 1))) 0))
            (define-function left (n) (if (< 3 n) (+ n (left (- n 2))) 7))
            (define-function zero (x y) (if (not x) y (+ (zero (- x 1) (+ y x)) 1)))
            (define-function wide (x) (if (>= x 5000000000) -5 (* 2 (wide (+ x 1000000000)))))
            (define-function eight (a b c d e f g h) (if (= a 0) h (+ b (eight (- a 1) b c d e f g (+ h a)))))
            (define-function other (a b) (if (< a b) b (- (other (- a 1) (+ b 1)) 1)))
            (define-function keep (n) (let ((x (* n 3)) (y (+ n 5))) (+ (fib n) (+ (down x) (+ (left y) (* x y))))))
            """);
        long Fib(long n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
        long Down(long n) => n > 0 ? 1 + Down(n - 1) : 0;
        long Left(long n) => 3 < n ? n + Left(n - 2) : 7;
        long Zero(long x, long y) => x == 0 ? y : Zero(x - 1, y + x) + 1;
        long Wide(long x) => x >= 5000000000 ? -5 : 2 * Wide(x + 1000000000);
        long Eight(long a, long b, long h) => a == 0 ? h : b + Eight(a - 1, b, h + a);
        long Other(long a, long b) => a < b ? b : Other(a - 1, b + 1) - 1;
        foreach (var n in new long[] { -3, 0, 1, 2, 3, 10 })
        {
            Assert.AreEqual(Fib(n), library.Call("fib", n), $"fib {n}");
            Assert.AreEqual(Down(n), library.Call("down", n), $"down {n}");
            Assert.AreEqual(Left(n), library.Call("left", n), $"left {n}");
            if (n >= 0) Assert.AreEqual(Zero(n, 4), library.Call("zero", n, 4), $"zero {n}");
            Assert.AreEqual(Wide(n * 1000000000), library.Call("wide", n * 1000000000), $"wide {n}");
            if (n >= 0) Assert.AreEqual(Eight(n, 2, 9), library.Call("eight", n, 2, 0, 0, 0, 0, 0, 9), $"eight {n}");
            Assert.AreEqual(Other(n, 2), library.Call("other", n, 2), $"other {n}");
            if (n >= 0) Assert.AreEqual(Fib(n) + Down(n * 3) + Left(n + 5) + n * 3 * (n + 5), library.Call("keep", n), $"keep {n}");
        }
    }
}

[TestClass]
public sealed class RegisterAllocationTestsAtO0 : RegisterAllocationTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class RegisterAllocationTestsAtO1 : RegisterAllocationTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
