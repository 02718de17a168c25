using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The AArch64 formatter of the listing: every placed instruction of the assembly printed by
/// <see cref="Arm64Formatter"/> (as llvm-objdump prints the same word), at its Text offset with
/// its bytes. Fields that a relocation fills (adrp pages, lo12 offsets) are still zero here, as
/// in the bytes shown; such instructions are annotated with what they will refer to (a function
/// of the module, or a section + offset). <see cref="ListingPrinter"/> interleaves the source.
/// </summary>
internal static class Arm64Listing
{
    public static void Write(TextWriter output, Arm64Assembly assembly, ObjectModule module, IReadOnlyDictionary<int, string> functionStarts,
        IReadOnlyList<ListingMark> marks, IReadOnlyList<SourceFile> sources)
    {
        var references = new Dictionary<int, Relocation>();
        foreach (var relocation in module.Relocations)
            if (relocation.Section == SectionKind.Text) references[relocation.Offset] = relocation;
        ListingPrinter.Write(output, Format(assembly, module.Text, references, functionStarts), marks, sources);
    }

    private static IEnumerable<ListedInstruction> Format(Arm64Assembly assembly, List<byte> text, Dictionary<int, Relocation> references,
        IReadOnlyDictionary<int, string> functionStarts)
    {
        foreach (var placed in assembly.Instructions)
        {
            var line = Arm64Formatter.Format(placed.Instruction, (ulong)placed.Offset);
            if (references.TryGetValue(placed.Offset, out var reference))
            {
                var target = reference.TargetSection == SectionKind.Text && functionStarts.TryGetValue((int)reference.TargetOffset, out var name)
                    ? name
                    : $"{reference.TargetSection}+0x{reference.TargetOffset:x}";
                line += "    ; " + target;
            }
            var bytes = new byte[4];
            text.CopyTo(placed.Offset, bytes, 0, 4);
            yield return new ListedInstruction(placed.Item, placed.Offset, bytes, line);
        }
    }
}
