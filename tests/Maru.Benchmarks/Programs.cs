using System.Runtime.InteropServices;
using Maru.Benchmarks.Programs;

namespace Maru.Benchmarks;

/// <summary>
/// One benchmark program: programs/&lt;Name&gt;/&lt;Name&gt;.l and .c, and the C# twin whose
/// <c>Bench</c> the unmanaged entry point here wraps. <see cref="N"/> is chosen so that gcc -O2
/// takes roughly 50-300 ms; <see cref="WarmupN"/> is a small input for the C# tier-up calls.
/// </summary>
internal sealed unsafe record BenchmarkProgram(string Name, long N, long WarmupN, nint CSharpEntry, string Description)
{
    public delegate* unmanaged<long, long> CSharp => (delegate* unmanaged<long, long>)CSharpEntry;
}

internal static unsafe class ProgramList
{
    public static IReadOnlyList<BenchmarkProgram> All { get; } =
    [
        new("fib", 38, 20, (nint)(delegate* unmanaged<long, long>)&FibEntry, "naive doubly recursive fib(n)"),
        new("collatz", 500_000, 2_000, (nint)(delegate* unmanaged<long, long>)&CollatzEntry, "total Collatz steps of 1..n (% and / by 2, a data-dependent branch)"),
        new("sieve", 2_000_000, 20_000, (nint)(delegate* unmanaged<long, long>)&SieveEntry, "sieve of Eratosthenes over malloc'd words, 10 limits near n"),
        new("bytes", 48 << 20, 1 << 20, (nint)(delegate* unmanaged<long, long>)&BytesEntry, "LCG-filled byte buffer: byte frequencies and a strlen-style scan, n bytes"),
        new("tree", 16 * 65536, 65536, (nint)(delegate* unmanaged<long, long>)&TreeEntry, "binary search tree of define-structure nodes, built and walked, n nodes"),
        new("fnptr", 20_000_000, 10_000, (nint)(delegate* unmanaged<long, long>)&FnptrEntry, "n calls through a table of 4 function pointers"),
        new("sort", 1_000_000, 10_000, (nint)(delegate* unmanaged<long, long>)&SortEntry, "quicksort of n LCG words, then a hash of the result"),
        new("hash", 10_000_000, 10_000, (nint)(delegate* unmanaged<long, long>)&HashEntry, "open-addressing hash table counting n keys, FNV-1a over 8 bytes"),
        new("trib", 28, 15, (nint)(delegate* unmanaged<long, long>)&TribEntry, "triply recursive trib(n), the calls in a differently nested sum"),
        new("lexer", 8 << 20, 1 << 20, (nint)(delegate* unmanaged<long, long>)&LexerEntry, "tokenizer over 1 MiB of pseudo-text, a switch-like cond per byte, n bytes"),
        new("lru", 2_000_000, 10_000, (nint)(delegate* unmanaged<long, long>)&LruEntry, "LRU cache of define-structure entries: chained hash (% 4093) and doubly linked list, n lookups"),
        new("vm", 700_000, 1_000, (nint)(delegate* unmanaged<long, long>)&VmEntry, "stack-machine interpreter, a cond dispatch per instruction, a loop of n iterations"),
        new("matmul", 100, 2, (nint)(delegate* unmanaged<long, long>)&MatmulEntry, "n products of 120 x 120 row-major word matrices (indexes multiply a counter by a run-time size)"),
        new("mutual", 150_000, 1_000, (nint)(delegate* unmanaged<long, long>)&MutualEntry, "mutual recursion returning the callee's result (is-even/is-odd) and Ackermann, n rounds"),
    ];

    // Every variant, the C# one included, is called through the same unmanaged function pointer
    // type by the same harness code; these entry points forward to the ordinary managed methods,
    // which tier up like any other code.
    [UnmanagedCallersOnly] private static long FibEntry(long n) => Fib.Bench(n);
    [UnmanagedCallersOnly] private static long CollatzEntry(long n) => Collatz.Bench(n);
    [UnmanagedCallersOnly] private static long SieveEntry(long n) => Sieve.Bench(n);
    [UnmanagedCallersOnly] private static long BytesEntry(long n) => Bytes.Bench(n);
    [UnmanagedCallersOnly] private static long TreeEntry(long n) => Tree.Bench(n);
    [UnmanagedCallersOnly] private static long FnptrEntry(long n) => Fnptr.Bench(n);
    [UnmanagedCallersOnly] private static long SortEntry(long n) => Sort.Bench(n);
    [UnmanagedCallersOnly] private static long HashEntry(long n) => Hash.Bench(n);
    [UnmanagedCallersOnly] private static long TribEntry(long n) => Trib.Bench(n);
    [UnmanagedCallersOnly] private static long LexerEntry(long n) => Lexer.Bench(n);
    [UnmanagedCallersOnly] private static long LruEntry(long n) => Lru.Bench(n);
    [UnmanagedCallersOnly] private static long VmEntry(long n) => Vm.Bench(n);
    [UnmanagedCallersOnly] private static long MatmulEntry(long n) => Matmul.Bench(n);
    [UnmanagedCallersOnly] private static long MutualEntry(long n) => Mutual.Bench(n);
}
