using System.Text;
using Iced.Intel;
using Maru.Compiler.Interop;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// x86-64 code is encoded function by function and what crosses functions (calls, sibling-call
/// jumps, a function's address) is resolved once all are laid out: these programs reach other
/// functions at distances on both sides of a short jump's reach, forwards and backwards, run
/// them, and decode the library to check every branch out of a function lands on a function's entry.
/// </summary>
[TestClass]
public sealed class CrossFunctionReferenceTests
{
    private static readonly int[] FillerSizes = [0, 3, 5, 6, 8, 12, 40];

    /// <summary>
    /// Per filler size n: even/odd sibling calls with a filler of n steps between them (forward
    /// and backward), a function reached through its address, and calls across the module.
    /// </summary>
    private static string Program()
    {
        var source = new StringBuilder();
        foreach (var n in FillerSizes)
        {
            var steps = string.Concat(Enumerable.Range(0, n).Select(i => $" (set r (+ (* r {i + 3}) x))"));
            source.Append($"""
                (define-function even{n} (k acc) (if (= k 0) acc (odd{n} (- k 1) (+ acc 1))))
                (define-function filler{n} (x) (let ((r 1)){steps} r))
                (define-function odd{n} (k acc) (if (= k 0) (- 0 acc) (even{n} (- k 1) (+ acc 2))))
                (define-function via{n} (f k) (f k 0))
                (define-function run{n} (k) (+ (via{n} even{n} k) (filler{n} k)))

                """);
        }
        return source.ToString();
    }

    private static long Filler(int n, long x)
    {
        long r = 1;
        for (var i = 0; i < n; i++) r = unchecked(r * (i + 3) + x);
        return r;
    }

    private static long Even(long k) => k % 2 == 0 ? k / 2 * 3 : -(k / 2 * 3 + 1);

    [TestMethod]
    public void CallsAndSiblingJumpsReachTheirFunctionAtAnyDistance()
    {
        using var library = CompiledLibrary.Compile(Program());
        foreach (var n in FillerSizes)
            foreach (var k in new long[] { 0, 1, 2, 7, 100, 1001 })
                Assert.AreEqual(Even(k) + Filler(n, k), library.Call($"run{n}", k), $"run{n}({k})");
    }

    [TestMethod]
    public void EveryBranchOutOfAFunctionLandsOnAFunctionEntry()
    {
        var result = CompiledLibrary.CompileOnly(Program());
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        var image = new ElfImage(result.Library!);
        var functions = result.Exports.Select(e => image.Symbol(e.SymbolName)).ToList();
        var entries = functions.Select(f => f.Address).ToHashSet();
        int shortJumps = 0, nearJumps = 0;
        foreach (var export in result.Exports)
        {
            var (code, address) = image.FunctionBytes(export.SymbolName);
            var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code), address);
            while (decoder.IP < address + (ulong)code.Length)
            {
                var instruction = decoder.Decode();
                var target = instruction.FlowControl is FlowControl.Call or FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch
                             && instruction.Op0Kind == OpKind.NearBranch64 ? instruction.NearBranchTarget
                    : instruction.Mnemonic == Mnemonic.Lea && instruction.IsIPRelativeMemoryOperand ? instruction.IPRelativeMemoryAddress
                    : (ulong?)null;
                if (target is not { } t || (t >= address && t < address + (ulong)code.Length)) continue;
                Assert.Contains(t, entries, $"{export.MaruName}: {instruction} leaves the function but not for an entry");
                if (instruction.Mnemonic == Mnemonic.Jmp) _ = instruction.Length == 2 ? shortJumps++ : nearJumps++;
            }
        }
        // Both forms must have been exercised for the check to mean anything.
        Assert.IsGreaterThan(0, shortJumps, "no short sibling jump between functions");
        Assert.IsGreaterThan(0, nearJumps, "no near sibling jump between functions");
    }
}
