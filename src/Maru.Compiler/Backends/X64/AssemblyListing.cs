using Iced.Intel;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// The x86-64 formatter of the listing: the final bytes are decoded again with Iced's decoder (so
/// branch targets and encodings are exactly what the library holds) and printed in Intel syntax;
/// RIP-relative data operands are annotated with the symbol they will be relocated to (the
/// displacement is still a placeholder here). <see cref="ListingPrinter"/> interleaves the source.
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
        var bytes = text as byte[] ?? text.ToArray();
        ListingPrinter.Write(output, Format(bytes, indexAt, dataNames, functionStarts), marks, sources);
    }

    private static IEnumerable<ListedInstruction> Format(byte[] bytes, Dictionary<uint, int> indexAt, Dictionary<int, string> dataNames, Dictionary<ulong, string> functionStarts)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(bytes), 0);
        var formatter = new IntelFormatter(new FunctionNames(functionStarts));
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = null;
        formatter.Options.UppercaseHex = false;
        formatter.Options.FirstOperandCharIndex = 8;
        var formatted = new StringOutput();
        while (decoder.IP < (ulong)bytes.Length)
        {
            var offset = (uint)decoder.IP;
            decoder.Decode(out var instruction);
            var index = indexAt.TryGetValue(offset, out var found) ? found : -1;
            formatter.Format(instruction, formatted);
            var text = formatted.ToStringAndReset();
            // Iced formats the two-byte nop 66 90 (loop alignment) as xchg ax,ax: list it as what it is.
            if (instruction.Mnemonic == Mnemonic.Nop && !text.StartsWith("nop", StringComparison.Ordinal)) text = "nop";
            if (index >= 0 && dataNames.TryGetValue(index, out var name)) text += "    ; " + name;
            yield return new ListedInstruction(index, (int)offset, bytes.AsMemory((int)offset, instruction.Length), text);
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
