using System.Globalization;
using System.Text;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// One machine instruction as an ISA's formatter printed it: where the machine emitter was when
/// it emitted it (<see cref="MachineEmitter.Position"/>, -1 when unknown), its offset in the
/// text, its bytes and its text (operands and any annotation).
/// </summary>
internal readonly record struct ListedInstruction(int Position, int Offset, ReadOnlyMemory<byte> Bytes, string Text);

/// <summary>
/// The listing, for every ISA: each group of machine instructions headed by the IR instruction
/// that produced it and, when it changes, the Maru source line; functions and blocks labelled.
/// The instructions come from the ISA's formatter (x86-64: Iced; AArch64: ours), the marks from
/// the shared <see cref="FunctionEmitter"/>.
/// </summary>
internal static class ListingPrinter
{
    public static void Write(TextWriter output, IEnumerable<ListedInstruction> instructions, IReadOnlyList<ListingMark> marks, IReadOnlyList<SourceFile> sources)
    {
        var lines = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var source in sources) lines[source.Path] = source.Text.Split('\n');
        var nextMark = 0;
        (string File, int Line) lastLine = ("", 0);
        var line = new StringBuilder();
        foreach (var instruction in instructions)
        {
            var index = instruction.Position;
            while (index >= 0 && nextMark < marks.Count && marks[nextMark].InstructionIndex <= index)
            {
                var mark = marks[nextMark++];
                // An IR instruction that produced nothing (a removed copy) is not worth a line.
                var producedCode = nextMark >= marks.Count || marks[nextMark].InstructionIndex > mark.InstructionIndex;
                switch (mark.Kind)
                {
                    case ListingMarkKind.Function:
                        output.Write('\n');
                        output.Write($"; function {mark.Text}");
                        if (!mark.Location.IsNone) output.Write($"  ({mark.Location})");
                        output.Write('\n');
                        output.Write($"{mark.Text}:\n");
                        lastLine = ("", 0);
                        break;
                    case ListingMarkKind.Block:
                        output.Write($"  {mark.Text}:\n");
                        break;
                    default:
                        if (!producedCode) break;
                        if (!mark.Location.IsNone && (mark.Location.File, mark.Location.Line) != lastLine)
                        {
                            lastLine = (mark.Location.File, mark.Location.Line);
                            var sourceText = lines.TryGetValue(mark.Location.File, out var fileLines) && mark.Location.Line - 1 < fileLines.Length
                                ? fileLines[mark.Location.Line - 1].TrimEnd('\r').Trim()
                                : "";
                            output.Write($"                                        ; {mark.Location.File}:{mark.Location.Line}: {sourceText}\n");
                        }
                        output.Write($"                                        ;   {mark.Text}\n");
                        break;
                }
            }
            line.Clear();
            line.Append("    ").Append(instruction.Offset.ToString("x6", CultureInfo.InvariantCulture)).Append("  ");
            foreach (var b in instruction.Bytes.Span) line.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            line.Append(' ', Math.Max(1, 2 * 11 - 2 * instruction.Bytes.Length));
            line.Append(instruction.Text);
            output.Write(line.Append('\n').ToString());
        }
    }
}
