using System.Globalization;
using System.Text;
using Iced.Intel;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Formats generated code as an Intel-syntax listing: the final bytes are decoded again with
/// Iced's decoder (so branch targets and encodings are exactly what the library holds), and each
/// group of machine instructions is headed by the IR instruction that produced it and, when it
/// changes, the Maru source line. RIP-relative data operands are annotated with the symbol they
/// will be relocated to (the displacement is still a placeholder here).
/// </summary>
internal static class AssemblyListing
{
    public static void Write(TextWriter output, IReadOnlyList<byte> text, uint[] instructionOffsets, IReadOnlyList<ListingMark> marks,
        IReadOnlyList<DataReference> dataReferences, IReadOnlyList<SourceFile> sources)
    {
        var indexAt = new Dictionary<uint, int>(instructionOffsets.Length);
        for (var i = 0; i < instructionOffsets.Length; i++)
            if (instructionOffsets[i] != uint.MaxValue) indexAt.TryAdd(instructionOffsets[i], i);
        var dataNames = new Dictionary<int, string>();
        foreach (var reference in dataReferences)
            dataNames[reference.InstructionIndex] = reference.Name ?? $"{reference.TargetSection}+{reference.TargetOffset}";
        var functionStarts = new Dictionary<ulong, string>();
        foreach (var mark in marks)
            if (mark.Kind == ListingMarkKind.Function && mark.InstructionIndex < instructionOffsets.Length)
                functionStarts[instructionOffsets[mark.InstructionIndex]] = mark.Text;
        var lines = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var source in sources) lines[source.Path] = source.Text.Split('\n');

        var bytes = text as byte[] ?? text.ToArray();
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(bytes), 0);
        var formatter = new IntelFormatter(new FunctionNames(functionStarts));
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = null;
        formatter.Options.UppercaseHex = false;
        formatter.Options.FirstOperandCharIndex = 8;
        var formatted = new StringOutput();
        var nextMark = 0;
        (string File, int Line) lastLine = ("", 0);
        var line = new StringBuilder();

        while (decoder.IP < (ulong)bytes.Length)
        {
            var offset = (uint)decoder.IP;
            decoder.Decode(out var instruction);
            var index = indexAt.TryGetValue(offset, out var found) ? found : -1;
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

            formatter.Format(instruction, formatted);
            line.Clear();
            line.Append("    ").Append(offset.ToString("x6", CultureInfo.InvariantCulture)).Append("  ");
            for (var i = 0; i < instruction.Length; i++) line.Append(bytes[offset + i].ToString("x2", CultureInfo.InvariantCulture));
            line.Append(' ', Math.Max(1, 2 * 11 - 2 * instruction.Length));
            line.Append(formatted.ToStringAndReset());
            if (index >= 0 && dataNames.TryGetValue(index, out var name)) line.Append("    ; ").Append(name);
            output.Write(line.Append('\n').ToString());
        }
    }

    private sealed class FunctionNames(Dictionary<ulong, string> starts) : ISymbolResolver
    {
        public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize, out SymbolResult symbol)
        {
            var kind = instruction.GetOpKind(instructionOperand);
            var isTarget = kind == OpKind.NearBranch64 || (kind == OpKind.Memory && instruction.IsIPRelativeMemoryOperand && instruction.Mnemonic == Mnemonic.Lea);
            if (isTarget && starts.TryGetValue(address, out var name))
            {
                symbol = new SymbolResult(address, name);
                return true;
            }
            symbol = default;
            return false;
        }
    }
}
