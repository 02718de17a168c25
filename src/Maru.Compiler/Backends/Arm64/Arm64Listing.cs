using System.Globalization;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The AArch64 side of the listing: one line per instruction word (position = word index).
/// Until an AArch64 instruction formatter exists the text is the raw word (<c>.inst 0x...</c>),
/// which llvm-objdump-15 or llvm-mc-15 --disassemble decode; the source interleaving is the shared one.
/// </summary>
internal static class Arm64Listing
{
    public static void Write(TextWriter output, IReadOnlyList<uint> words, IReadOnlyList<ListingMark> marks, IReadOnlyList<SourceFile> sources) =>
        ListingPrinter.Write(output, Format(words), marks, sources);

    private static IEnumerable<ListedInstruction> Format(IReadOnlyList<uint> words)
    {
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            var bytes = new[] { (byte)word, (byte)(word >> 8), (byte)(word >> 16), (byte)(word >> 24) };
            yield return new ListedInstruction(i, 4 * i, bytes, ".inst   0x" + word.ToString("x8", CultureInfo.InvariantCulture));
        }
    }
}
