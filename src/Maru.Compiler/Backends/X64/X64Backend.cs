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
    /// <param name="level">O0: every virtual register in a stack slot; O1: register allocation and instruction selection.</param>
    /// <param name="listing">When given, receives the assembly listing (Intel syntax, source lines interleaved).</param>
    /// <param name="sources">The source texts the listing quotes.</param>
    public static ObjectModule Generate(IrModule module, Func<string, string> symbolName, OptimisationLevel level = OptimisationLevel.O1,
        TextWriter? listing = null, IReadOnlyList<Syntax.SourceFile>? sources = null)
    {
        var output = new ObjectModule();
        var strings = LayOutStrings(module, output);
        var globalOffsets = LayOutGlobals(module, output, strings, symbolName);
        output.Imports.AddRange(module.Imports);
        var data = new DataLayout(globalOffsets, strings, module.Imports);

        var assembler = new Assembler(64);
        var functionLabels = module.Functions.ToDictionary(f => f.Name, _ => assembler.CreateLabel(), StringComparer.Ordinal);
        var dataReferences = new List<DataReference>();
        var recorder = listing is null ? null : new ListingRecorder();
        var earlyExits = new Dictionary<string, EarlyExit>(StringComparer.Ordinal);
        if (level != OptimisationLevel.O0)
            foreach (var function in module.Functions)
                if (EarlyExit.Find(function, SystemVAbi.ArgumentRegisters.Length) is { } exit) earlyExits.Add(function.Name, exit);
        foreach (var function in module.Functions)
        {
            var entry = functionLabels[function.Name];
            if (level == OptimisationLevel.O0)
            {
                recorder?.Mark(assembler.Instructions.Count, ListingMarkKind.Function, function.Name, function.Location);
                assembler.Label(ref entry);
                new X64FunctionEmitter(assembler, function, functionLabels, data, dataReferences, recorder).Emit();
            }
            else
            {
                entry = new X64AllocatedFunctionEmitter(assembler, function, functionLabels, data, dataReferences, recorder, earlyExits).Emit(entry);
            }
            functionLabels[function.Name] = entry; // Label is a struct: keep the copy that knows its instruction
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
                reference.TargetSection,
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
        if (listing is not null)
            AssemblyListing.Write(listing, output.Text, block.NewInstructionOffsets, recorder!.Marks, dataReferences, sources ?? []);
        return output;
    }

    /// <summary>String constants go to read-only data as NUL-terminated UTF-8.</summary>
    private static Dictionary<string, int> LayOutStrings(IrModule module, ObjectModule output)
    {
        var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var constant in module.Strings)
        {
            offsets.Add(constant.Name, output.ReadOnlyData.Count);
            output.ReadOnlyData.AddRange(System.Text.Encoding.UTF8.GetBytes(constant.Value));
            output.ReadOnlyData.Add(0);
        }
        return offsets;
    }

    /// <summary>Each global is one exported word of writable data; a string global holds a pointer, relocated at load.</summary>
    private static Dictionary<string, int> LayOutGlobals(IrModule module, ObjectModule output, Dictionary<string, int> strings, Func<string, string> symbolName)
    {
        var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
        void AddWord(string name, long value)
        {
            var offset = output.Data.Count;
            offsets.Add(name, offset);
            var word = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(word, value);
            output.Data.AddRange(word);
            output.Symbols.Add(new ObjectSymbol(symbolName(name), SymbolKind.Object, SectionKind.Data, offset, 8, IsExported: true));
        }
        foreach (var global in module.Globals)
            AddWord(global.Name, global.InitialValue);
        foreach (var global in module.StringGlobals)
        {
            AddWord(global.Name, 0);
            output.Relocations.Add(new Relocation(SectionKind.Data, offsets[global.Name], RelocationKind.Absolute64,
                SectionKind.ReadOnlyData, strings[global.StringConstant], Addend: 0));
        }
        return offsets;
    }

    private sealed class ByteCodeWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}

/// <summary>An instruction (by index in the assembler) whose RIP-relative operand addresses data, a string or a GOT slot.</summary>
internal readonly record struct DataReference(int InstructionIndex, SectionKind TargetSection, long TargetOffset, string? Name = null);

/// <summary>Where the module's data lives: globals in Data, string constants in ReadOnlyData, import slots in the GOT.</summary>
internal sealed class DataLayout(IReadOnlyDictionary<string, int> globals, IReadOnlyDictionary<string, int> strings, IReadOnlyList<string> imports)
{
    public (SectionKind Section, long Offset) Global(string name) => (SectionKind.Data, globals[name]);

    public (SectionKind Section, long Offset) String(string name) => (SectionKind.ReadOnlyData, strings[name]);

    private readonly Dictionary<string, int> _importSlots = imports.Select((name, index) => (name, index)).ToDictionary(x => x.name, x => x.index, StringComparer.Ordinal);

    public (SectionKind Section, long Offset) ImportSlot(string name) =>
        _importSlots.TryGetValue(name, out var index)
            ? (SectionKind.Got, 8L * index)
            : throw new InvalidOperationException($"import '{name}' was not declared");
}
