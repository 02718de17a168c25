using System.Buffers.Binary;
using Iced.Intel;
using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Backends.X64;

/// <summary>How one function's code reaches another function's entry.</summary>
internal enum CrossReferenceKind { Call, Jump, Address }

/// <summary>
/// An instruction (by index in its function) that reaches another function (by position in the
/// module): a call or a lea (rel32 fields), or a sibling call's jmp (rel8 or rel32).
/// </summary>
internal readonly record struct CrossReference(int Instruction, int Target, CrossReferenceKind Kind);

/// <summary>
/// The x86-64 text section, encoded function by function: each function is one Iced block at
/// address 0 (code inside a function is position-independent), so no array grows with the module
/// (a whole-module block put Iced's per-instruction arrays on the large-object heap, a gen2
/// collection per compilation). What crosses functions is resolved here once every function's
/// place is known: calls and address loads have rel32 fields, patched with the distance. A
/// sibling call's jmp starts near (rel32) and becomes short (rel8, its target then a label on the
/// jmp itself until patched) where the distance allows, the function encoded again, until nothing
/// changes. Functions only shrink, so this ends. It is Iced's own relaxation inside a block, test
/// included (a forward distance is measured with the jmp still near), so the bytes are what one
/// module-wide block gave.
/// </summary>
internal sealed class X64CodeLayout
{
    /// <summary>A branch target no instruction has: Iced encodes a rel32 to it (patched later).</summary>
    public const ulong Placeholder = 0x4000_0000;

    private const BlockEncoderOptions Options = BlockEncoderOptions.ReturnNewInstructionOffsets | BlockEncoderOptions.ReturnConstantOffsets;

    private sealed class FunctionCode
    {
        public required int FirstIndex;
        public required List<DataReference> DataReferences;
        public required List<CrossReference> CrossReferences;
        /// <summary>Kept only when a jmp may have to grow (the function is encoded again then).</summary>
        public List<Instruction>? Instructions;
        public byte[] Bytes = [];
        public uint[] Offsets = [];
        public ConstantOffsets[] Constants = [];
        public int Start;

        /// <summary>Where instruction <paramref name="index"/> ends, relative to the function.</summary>
        public int EndOf(int index) => index + 1 < Offsets.Length ? (int)Offsets[index + 1] : Bytes.Length;
    }

    private readonly List<FunctionCode> _functions = new();
    private readonly List<byte> _scratch = new();
    private readonly CodeWriter _writer;

    public X64CodeLayout() => _writer = new ListWriter(_scratch);

    /// <summary>Instructions of all functions so far (the module-wide index listings use).</summary>
    public int InstructionCount { get; private set; }

    /// <summary>Encodes the function in <paramref name="assembler"/> (which the caller then resets).</summary>
    /// <param name="dataReferences">Its RIP-relative data operands, by module-wide instruction index.</param>
    public void Add(Assembler assembler, List<DataReference> dataReferences, List<CrossReference> crossReferences)
    {
        var function = new FunctionCode { FirstIndex = InstructionCount, DataReferences = dataReferences, CrossReferences = crossReferences };
        if (crossReferences.Exists(r => r.Kind == CrossReferenceKind.Jump)) function.Instructions = new List<Instruction>(assembler.Instructions);
        _scratch.Clear();
        var result = assembler.Assemble(_writer, 0, Options).Result[0];
        Keep(function, result);
        InstructionCount += assembler.Instructions.Count;
        _functions.Add(function);
    }

    private void Keep(FunctionCode function, BlockEncoderResult result)
    {
        function.Bytes = _scratch.ToArray();
        function.Offsets = result.NewInstructionOffsets;
        function.Constants = result.ConstantOffsets;
    }

    /// <summary>Lays the functions out, resolves what crosses them and writes the text and the data relocations.</summary>
    /// <returns>Each function's start in the text, in module order.</returns>
    public int[] WriteTo(ObjectModule output)
    {
        LayOut();
        while (ShrinkJumpsInReach()) LayOut();

        var text = output.Text;
        foreach (var function in _functions)
        {
            foreach (var reference in function.CrossReferences) Patch(function, reference);
            text.AddRange(function.Bytes);
        }
        foreach (var function in _functions)
            foreach (var reference in function.DataReferences)
            {
                var index = reference.InstructionIndex - function.FirstIndex;
                var constants = function.Constants[index];
                // RIP-relative: the CPU adds the address of the next instruction, which lies the
                // displacement (4 bytes) plus any immediate after the field being patched.
                output.Relocations.Add(new Relocation(
                    SectionKind.Text,
                    function.Start + (int)function.Offsets[index] + constants.DisplacementOffset,
                    RelocationKind.PcRelative32,
                    reference.TargetSection,
                    reference.TargetOffset,
                    Addend: -(constants.DisplacementSize + constants.ImmediateSize)));
            }
        return [.. _functions.Select(f => f.Start)];
    }

    /// <summary>Module-wide instruction index → offset in the text (uint.MaxValue where Iced rewrote one), for the listing.</summary>
    public uint[] InstructionOffsets()
    {
        var offsets = new uint[InstructionCount];
        foreach (var function in _functions)
            for (var i = 0; i < function.Offsets.Length; i++)
                offsets[function.FirstIndex + i] = function.Offsets[i] == uint.MaxValue ? uint.MaxValue : (uint)function.Start + function.Offsets[i];
        return offsets;
    }

    /// <summary>Every function's data operands, in module order (for the listing).</summary>
    public IReadOnlyList<DataReference> DataReferences() => [.. _functions.SelectMany(f => f.DataReferences)];

    private void LayOut()
    {
        var start = 0;
        foreach (var function in _functions)
        {
            function.Start = start;
            start += function.Bytes.Length;
        }
    }

    /// <summary>Makes every near cross-function jmp whose target is within rel8 reach short; true if any was.</summary>
    private bool ShrinkJumpsInReach()
    {
        var shrank = false;
        foreach (var function in _functions)
        {
            if (function.Instructions is null) continue;
            var changed = false;
            foreach (var reference in function.CrossReferences)
            {
                if (reference.Kind != CrossReferenceKind.Jump) continue;
                var instruction = function.Instructions[reference.Instruction];
                if (instruction.Code != Code.Jmp_rel32_64) continue;
                // Measured from the end of a short jmp, with this one and everything else as now (Iced's test).
                var distance = _functions[reference.Target].Start - (long)(function.Start + function.Offsets[reference.Instruction] + 2);
                if (!FitsRel8(distance)) continue;
                instruction.Code = Code.Jmp_rel8_64;
                instruction.NearBranch64 = instruction.IP; // its own label: in reach whatever the layout, patched at the end
                function.Instructions[reference.Instruction] = instruction;
                changed = true;
            }
            if (!changed) continue;
            _scratch.Clear();
            if (!BlockEncoder.TryEncode(64, new InstructionBlock(_writer, function.Instructions, 0), out var error, out var result, Options))
                throw new InvalidOperationException(error);
            Keep(function, result);
            shrank = true;
        }
        return shrank;
    }

    private static bool FitsRel8(long displacement) => displacement is >= sbyte.MinValue and <= sbyte.MaxValue;

    /// <summary>The distance from the end of the referring instruction to the target's entry.</summary>
    private long Displacement(FunctionCode function, CrossReference reference) =>
        _functions[reference.Target].Start - (long)(function.Start + function.EndOf(reference.Instruction));

    /// <summary>Writes the distance into the instruction's last field (rel32, or rel8 of a short jmp).</summary>
    private void Patch(FunctionCode function, CrossReference reference)
    {
        var displacement = Displacement(function, reference);
        var end = function.EndOf(reference.Instruction);
        if (reference.Kind == CrossReferenceKind.Jump && IsShort(function, reference))
        {
            if (!FitsRel8(displacement)) throw new InvalidOperationException("a short jmp out of reach after relaxation"); // layouts only shrink: cannot happen
            function.Bytes[end - 1] = (byte)(sbyte)displacement;
            return;
        }
        BinaryPrimitives.WriteInt32LittleEndian(function.Bytes.AsSpan(end - 4), checked((int)displacement));
    }

    private static bool IsShort(FunctionCode function, CrossReference reference) =>
        function.EndOf(reference.Instruction) - (int)function.Offsets[reference.Instruction] == 2;

    private sealed class ListWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
