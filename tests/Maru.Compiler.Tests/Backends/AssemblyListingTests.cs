using System.Text.RegularExpressions;
using Iced.Intel;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends;

/// <summary>The assembly listing: Intel syntax, the Maru source interleaved, and exactly the bytes the library holds.</summary>
[TestClass]
public sealed partial class AssemblyListingTests
{
    private const string Source = """
        (define-function add (a b) (+ a b))
        (define counter 0)
        (define-function sum (n)
          (let ((i 1) (s 0))
            (while (<= i n)
              (set s (+ s i))
              (set i (+ i 1)))
            (set counter s)
            s))
        (define-function twice (x) (+ (sum x) (add x x)))
        (define-function down (n) (if (< n 1) 0 (- n (/ (down (- n 1)) 2))))
        """;

    private static CompilationResult CompileWithListing(OptimisationLevel level)
    {
        var result = MaruCompiler.Compile([new SourceFile("listing.l", Source)], CompiledLibrary.OptionsAt(level, listing: true));
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        Assert.IsNotNull(result.Listing);
        return result;
    }

    [TestMethod]
    [DataRow(OptimisationLevel.O0)]
    [DataRow(OptimisationLevel.O1)]
    public void ListingQuotesTheSourceLinesAndIsIntelSyntax(OptimisationLevel level)
    {
        var listing = CompileWithListing(level).Listing!;
        StringAssert.Contains(listing, "; function sum  (listing.l(3,1))");
        StringAssert.Contains(listing, "; listing.l:1: (define-function add (a b) (+ a b))");
        StringAssert.Contains(listing, "; listing.l:6: (set s (+ s i))");
        StringAssert.Contains(listing, "; listing.l:10: (define-function twice (x) (+ (sum x) (add x x)))");
        StringAssert.Contains(listing, "    ; counter", "RIP-relative data operands name their symbol");
        StringAssert.Matches(listing, new Regex(@"call\s+down\n"), "direct calls name their callee");
        StringAssert.Matches(listing, new Regex(@"\bret\n"));
        StringAssert.Matches(listing, new Regex(@"\b(mov|lea)\s+r[a-z0-9]+,"), "Intel syntax: destination first, no % sigils");
        Assert.DoesNotContain("%r", listing);
    }

    [TestMethod]
    public void AnAdditionIsOneLeaAtO1()
    {
        var listing = CompileWithListing(OptimisationLevel.O1).Listing!;
        var add = listing[listing.IndexOf("; function add", StringComparison.Ordinal)..listing.IndexOf("; function sum", StringComparison.Ordinal)];
        // int3 after the ret is the gap that aligns the next function (it has a loop): listed, as the text holds it.
        CollectionAssert.AreEqual(new[] { "lea", "ret" }, InstructionLines(add).Select(i => i.Mnemonic).Where(m => m != "int3").ToArray(), add);
        StringAssert.Matches(add, new Regex(@"lea\s+rax,\[rdi\+rsi\]"));
    }

    [TestMethod]
    [DataRow(OptimisationLevel.O0)]
    [DataRow(OptimisationLevel.O1)]
    public void TheListingIsExactlyTheLibrarysText(OptimisationLevel level)
    {
        var result = CompileWithListing(level);
        var text = new ElfImage(result.Library!).SectionBytes(".text");
        var listed = InstructionLines(result.Listing!);

        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(text), 0);
        var decoded = new List<Iced.Intel.Instruction>();
        var displacements = new List<int>();
        while (decoder.IP < (ulong)text.Length)
        {
            decoded.Add(decoder.Decode());
            displacements.Add(decoder.GetConstantOffsets(decoded[^1]).DisplacementOffset);
        }

        Assert.HasCount(decoded.Count, listed);
        for (var i = 0; i < decoded.Count; i++)
        {
            var instruction = decoded[i];
            Assert.AreEqual((int)instruction.IP, listed[i].Offset, $"instruction {i}");
            var bytes = text.AsSpan((int)instruction.IP, instruction.Length).ToArray();
            if (instruction.IsIPRelativeMemoryOperand)
            {
                // The listing shows the code before the object writer relocated the data displacement: compare around it.
                var displacement = displacements[i];
                Array.Copy(Convert.FromHexString(listed[i].Bytes), displacement, bytes, displacement, 4);
            }
            Assert.AreEqual(Convert.ToHexStringLower(bytes), listed[i].Bytes, $"instruction {i}: {instruction}");
            Assert.AreEqual(instruction.Mnemonic.ToString().ToLowerInvariant(), listed[i].Mnemonic, $"instruction {i}");
        }
    }

    [TestMethod]
    public void NoListingUnlessAskedFor()
    {
        using var library = CompiledLibrary.Compile(Source);
        Assert.IsNull(library.Result.Listing);
    }

    private readonly record struct ListedInstruction(int Offset, string Bytes, string Mnemonic);

    [GeneratedRegex(@"^    (?<offset>[0-9a-f]{6})  (?<bytes>[0-9a-f]+) +(?<mnemonic>[a-z0-9]+)", RegexOptions.Multiline)]
    private static partial Regex InstructionLine();

    private static List<ListedInstruction> InstructionLines(string listing) =>
        InstructionLine().Matches(listing)
            .Select(m => new ListedInstruction(Convert.ToInt32(m.Groups["offset"].Value, 16), m.Groups["bytes"].Value, m.Groups["mnemonic"].Value))
            .ToList();
}
