using Iced.Intel;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Generates x86-64 machine code for a whole module through Iced's assembler. All functions are
/// assembled as one block so calls between them are direct rel32 calls Iced resolves; references
/// to data are RIP-relative operands whose displacements become format-neutral relocations,
/// resolved by the object writer once it has chosen addresses.
/// </summary>
public static class X64Backend
{
    /// <param name="symbolName">Maps a Maru name to the name the library exports.</param>
    public static ObjectModule Generate(IrModule module, Func<string, string> symbolName)
    {
        var output = new ObjectModule();
        var globalOffsets = LayOutGlobals(module, output, symbolName);

        var assembler = new Assembler(64);
        var functionLabels = module.Functions.ToDictionary(f => f.Name, _ => assembler.CreateLabel(), StringComparer.Ordinal);
        var dataReferences = new List<DataReference>();
        foreach (var function in module.Functions)
        {
            var entry = functionLabels[function.Name];
            assembler.Label(ref entry);
            functionLabels[function.Name] = entry; // Label is a struct: keep the copy that knows its instruction
            new X64FunctionEmitter(assembler, function, functionLabels, globalOffsets, dataReferences).Emit();
        }
        if (module.Functions.Count == 0) return output;

        var writer = new ByteCodeWriter(output.Text);
        var result = assembler.Assemble(writer, 0, BlockEncoderOptions.ReturnNewInstructionOffsets | BlockEncoderOptions.ReturnConstantOffsets);
        var block = result.Result[0];

        foreach (var reference in dataReferences)
        {
            var instructionOffset = (int)block.NewInstructionOffsets[reference.InstructionIndex];
            var constants = block.ConstantOffsets[reference.InstructionIndex];
            // RIP-relative: the CPU adds the address of the next instruction, which lies the
            // displacement (4 bytes) plus any immediate after the field being patched.
            output.Relocations.Add(new Relocation(
                SectionKind.Text,
                instructionOffset + constants.DisplacementOffset,
                RelocationKind.PcRelative32,
                SectionKind.Data,
                reference.TargetOffset,
                Addend: -(constants.DisplacementSize + constants.ImmediateSize)));
        }

        for (var i = 0; i < module.Functions.Count; i++)
        {
            var function = module.Functions[i];
            var start = (int)result.GetLabelRIP(functionLabels[function.Name]);
            var end = i + 1 < module.Functions.Count ? (int)result.GetLabelRIP(functionLabels[module.Functions[i + 1].Name]) : output.Text.Count;
            output.Symbols.Add(new ObjectSymbol(symbolName(function.Name), SymbolKind.Function, SectionKind.Text, start, end - start, IsExported: true));
        }
        return output;
    }

    private static Dictionary<string, int> LayOutGlobals(IrModule module, ObjectModule output, Func<string, string> symbolName)
    {
        var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var global in module.Globals)
        {
            var offset = output.Data.Count;
            offsets.Add(global.Name, offset);
            var word = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(word, global.InitialValue);
            output.Data.AddRange(word);
            output.Symbols.Add(new ObjectSymbol(symbolName(global.Name), SymbolKind.Object, SectionKind.Data, offset, 8, IsExported: true));
        }
        return offsets;
    }

    private sealed class ByteCodeWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}

/// <summary>An instruction (by index in the assembler) whose RIP-relative operand addresses data.</summary>
internal readonly record struct DataReference(int InstructionIndex, long TargetOffset);
