using Iced.Intel;
using Maru.Compiler.Ir;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Generates x86-64 machine code for a whole module: the shared <see cref="FunctionEmitter"/>
/// over <see cref="X64MachineEmitter"/>, all functions assembled by Iced as one block so calls
/// between them are direct rel32 calls Iced resolves; references to data are RIP-relative
/// operands whose displacements become format-neutral relocations, resolved by the object writer
/// once it has chosen addresses.
/// </summary>
public sealed class X64Backend : IBackend
{
    public TargetArchitecture Architecture => TargetArchitecture.X64;

    public bool Supports(TargetPlatform target) => target.Architecture == TargetArchitecture.X64 && target.Abi == TargetAbi.SystemV;

    public Optimisation.ITargetCosts Costs { get; } = new X64Costs();

    /// <summary>ALU, compare and memory operands take a sign-extended imm32; anything wider is a mov r, imm64.</summary>
    private sealed class X64Costs : Optimisation.ITargetCosts
    {
        public bool IsCheapConstant(long constant) => constant is >= int.MinValue and <= int.MaxValue;
    }

    public ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request)
    {
        var (symbolName, level, listing, sources) = request;
        var output = new ObjectModule();
        var data = DataLayout.LayOut(module, output, symbolName);

        var assembler = new Assembler(64);
        var dataReferences = new List<DataReference>();
        var machine = new X64MachineEmitter(assembler, dataReferences);
        var recorder = listing is null ? null : new ListingRecorder();
        var functionLabels = FunctionEmitter.EmitModule(machine, module, data, recorder, level, request.CheckBudget);
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
                reference.TargetSection,
                reference.TargetOffset,
                Addend: -(constants.DisplacementSize + constants.ImmediateSize)));
        }

        for (var i = 0; i < module.Functions.Count; i++)
        {
            var function = module.Functions[i];
            var start = (int)result.GetLabelRIP(machine.LabelOf(functionLabels[i]));
            var end = i + 1 < module.Functions.Count ? (int)result.GetLabelRIP(machine.LabelOf(functionLabels[i + 1])) : output.Text.Count;
            output.Symbols.Add(new ObjectSymbol(symbolName(function.Name), SymbolKind.Function, SectionKind.Text, start, end - start, IsExported: true));
        }
        if (listing is not null)
            AssemblyListing.Write(listing, output.Text, block.NewInstructionOffsets, recorder!.Marks, dataReferences, sources ?? []);
        return output;
    }

    private sealed class ByteCodeWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}

/// <summary>An instruction (by index in the assembler) whose RIP-relative operand addresses data, a string or a GOT slot.</summary>
internal readonly record struct DataReference(int InstructionIndex, SectionKind TargetSection, long TargetOffset, string? Name = null);
