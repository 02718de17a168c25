using Iced.Intel;
using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Builds the .text of an <see cref="ObjectModule"/> from x86-64 instructions encoded by Iced:
/// functions become symbols, and RIP-relative references to other sections become
/// PcRelative32 relocations at the displacement Iced reports. Never hand-write machine bytes.
/// </summary>
public sealed class X64CodeBuilder
{
    private readonly Assembler _assembler = new(64);
    private readonly List<(string Name, Label Label, bool Exported)> _functions = [];
    private readonly List<(int Instruction, SectionKind Target, long TargetOffset)> _references = [];

    /// <summary>The assembler, to emit the instructions of the current function.</summary>
    public Assembler Asm => _assembler;

    /// <summary>Starts a function: the next instruction is its entry. Returns its label (for calls).</summary>
    public Label Function(string name, bool exported = true)
    {
        var label = _assembler.CreateLabel(name);
        _assembler.Label(ref label);
        _functions.Add((name, label, exported));
        return label;
    }

    /// <summary>
    /// Emits <paramref name="code"/> with one operand <c>[rip + X]</c> where X is byte
    /// <paramref name="targetOffset"/> of <paramref name="target"/>; the writer fills in the displacement.
    /// </summary>
    public void RipRelative(Code code, SectionKind target, long targetOffset, Register register = Register.None)
    {
        var memory = new MemoryOperand(Register.RIP, 0L);
        var instruction = register == Register.None
            ? Instruction.Create(code, memory)
            : Instruction.Create(code, register, memory);
        _references.Add((_assembler.Instructions.Count, target, targetOffset));
        _assembler.AddInstruction(instruction);
    }

    /// <summary>Encodes everything at address 0 and appends code, symbols and relocations to <paramref name="module"/>.</summary>
    public void EmitInto(ObjectModule module)
    {
        if (module.Text.Count != 0)
            throw new InvalidOperationException("EmitInto expects an empty .text");
        var writer = new ByteListCodeWriter();
        var result = _assembler.Assemble(writer, 0, BlockEncoderOptions.ReturnConstantOffsets | BlockEncoderOptions.ReturnNewInstructionOffsets);
        var block = result.Result[0];
        module.Text.AddRange(writer.Bytes);

        var starts = _functions.Select(f => (int)result.GetLabelRIP(f.Label)).ToList();
        for (var i = 0; i < _functions.Count; i++)
        {
            var end = i + 1 < _functions.Count ? starts[i + 1] : writer.Bytes.Count;
            module.Symbols.Add(new ObjectSymbol(_functions[i].Name, SymbolKind.Function, SectionKind.Text, starts[i], end - starts[i], _functions[i].Exported));
        }

        foreach (var (index, target, targetOffset) in _references)
        {
            var start = (int)block.NewInstructionOffsets[index];
            var end = index + 1 < block.NewInstructionOffsets.Length ? (int)block.NewInstructionOffsets[index + 1] : writer.Bytes.Count;
            var offsets = block.ConstantOffsets[index];
            if (!offsets.HasDisplacement || offsets.DisplacementSize != 4)
                throw new InvalidOperationException($"instruction {index} has no 32-bit displacement");
            var field = start + offsets.DisplacementOffset;
            // The CPU adds the displacement to the address of the next instruction, not of the field.
            module.Relocations.Add(new Relocation(SectionKind.Text, field, RelocationKind.PcRelative32, target, targetOffset, -(end - field)));
        }
    }

    private sealed class ByteListCodeWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
