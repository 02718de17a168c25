using System.Buffers.Binary;
using System.Runtime.InteropServices;
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
/// The x86-64 text section, encoded function by function: each function is one block at address 0
/// (code inside a function is position-independent), encoded by <see cref="FunctionEncoder"/> (Iced's
/// Encoder per instruction with BlockEncoder's branch relaxation, the same bytes; BlockEncoder itself
/// for what that does not handle), so no array grows with the module
/// (a whole-module block put Iced's per-instruction arrays on the large-object heap, a gen2
/// collection per compilation). What crosses functions is resolved here once every function's
/// place is known: calls and address loads have rel32 fields, patched with the distance. A
/// sibling call's jmp starts near (rel32) and becomes short (rel8, its target then a label on the
/// jmp itself until patched) where the distance allows, the function encoded again, until nothing
/// changes. Functions only shrink, so this ends. It is Iced's own relaxation inside a block, test
/// included (a forward distance is measured with the jmp still near), so the bytes are what one
/// module-wide block gave.
/// Alignment, which Iced's block encoder has no directive for: multi-byte nops before a loop header
/// (an instruction the caller names) bring it to a multiple of 16, or of 8 where that costs more
/// than 10 bytes, as gcc -O2 does; a function with a loop starts at a multiple of 16 (int3 before
/// it), others stay packed. The padding is chosen from the unpadded encoding and its nops put into
/// those bytes, every relative field over them adjusted, so a function is encoded once; only when
/// that leaves a short branch out of reach are the nops made instructions of the block (which the
/// caller never sees: offsets are reported by the caller's instruction indexes) and the function
/// encoded again, the padding checked on each encoding, a few rounds at most, since nops can
/// lengthen the branches over them. (Iced's relaxation of the padded list sometimes chose a near
/// branch where a short one reaches; the inserted nops keep the short one, so such a function is
/// now a few bytes shorter, its headers aligned the same way.)
/// Once chosen it stays when a sibling jmp shrinks (and so does the gap before each function), so
/// functions still only shrink; a header after such a jmp may then lose its alignment, never its
/// meaning: nops and int3 gaps are never on a path whose result depends on them.
/// </summary>
internal sealed class X64CodeLayout
{
    /// <summary>A branch target no instruction has: Iced encodes a rel32 to it (patched later).</summary>
    public const ulong Placeholder = 0x4000_0000;

    private const BlockEncoderOptions Options = BlockEncoderOptions.ReturnNewInstructionOffsets | BlockEncoderOptions.ReturnConstantOffsets;

    /// <summary>Functions and loop headers start at multiples of this.</summary>
    private const int Alignment = 16;

    /// <summary>A loop header this many bytes or fewer from the next multiple of 16 is padded to it, else to a multiple of 8.</summary>
    private const int MaxPadding = 10;

    /// <summary>Encodings tried while choosing a function's loop header padding.</summary>
    private const int PaddingRounds = 3;

    /// <summary>One encoded function (what <see cref="Detach"/> hands over and <see cref="Adopt"/> takes).</summary>
    internal sealed class FunctionCode
    {
        public required int FirstIndex;
        public required DataReference[] DataReferences;
        public required CrossReference[] CrossReferences;
        /// <summary>Kept only when a jmp may have to grow (the function is encoded again then).</summary>
        public Instruction[]? Instructions;
        /// <summary>Instructions (by index in the function) that start a loop, ascending, and the nop bytes before each.</summary>
        public required int[] LoopHeaders;
        public int[] Padding = [];
        public byte[] Bytes = [];
        /// <summary>Where each of the caller's instructions starts, relative to the function.</summary>
        public uint[] Offsets = [];
        /// <summary>Per cross reference: where its instruction ends (nops excluded), relative to the function.</summary>
        public int[] CrossEnds = [];
        /// <summary>Per data reference: where its displacement lies in its instruction, and the relocation's addend.</summary>
        public (int Field, int Addend)[] DataFields = [];
        public int Start;
        /// <summary>int3 bytes before the function, chosen by the first layout (see the class comment).</summary>
        public int Gap = -1;

        /// <summary>Where the instruction of cross reference <paramref name="reference"/> ends, relative to the function.</summary>
        public int EndOf(int reference) => CrossEnds[reference];
    }

    private readonly List<FunctionCode> _functions = new();
    private readonly List<byte> _scratch = new();
    private readonly CodeWriter _writer;

    public X64CodeLayout() => _writer = new ListWriter(_scratch);

    /// <summary>Instructions of all functions so far (the module-wide index listings use).</summary>
    public int InstructionCount { get; private set; }

    /// <summary>Encodes the function's <paramref name="instructions"/> (which the caller may then reuse).</summary>
    /// <param name="dataReferences">Its RIP-relative data operands, by module-wide instruction index.</param>
    /// <param name="loopHeaders">Its instructions (by index in the function, ascending) that start a loop: aligned.</param>
    public void Add(ReadOnlySpan<Instruction> instructions, DataReference[] dataReferences, CrossReference[] crossReferences, int[] loopHeaders)
    {
        var function = new FunctionCode { FirstIndex = InstructionCount, DataReferences = dataReferences, CrossReferences = crossReferences, LoopHeaders = loopHeaders };
        foreach (var reference in crossReferences)
            if (reference.Kind == CrossReferenceKind.Jump)
            {
                function.Instructions = instructions.ToArray();
                break;
            }
        function.Padding = new int[loopHeaders.Length];
        var constants = Encode(function, instructions);
        // The nops go into the bytes of this first encoding when every branch keeps its length (almost
        // always): one Iced encoding, not two, of a function with a loop.
        if (ChoosePadding(function) && !TryInsertPadding(function, instructions, constants))
        {
            Encode(function, instructions);
            for (var round = 2; round < PaddingRounds && ChoosePadding(function); round++) Encode(function, instructions);
        }
        InstructionCount += instructions.Length;
        _functions.Add(function);
    }

    /// <summary>
    /// Takes the one function encoded so far out of this layout, which is then empty again (a
    /// thread's layout when functions are encoded in parallel); its data references are by index
    /// in the function.
    /// </summary>
    public FunctionCode Detach()
    {
        if (_functions.Count != 1) throw new InvalidOperationException("a layout detaches exactly one function");
        var function = _functions[0];
        _functions.Clear();
        InstructionCount = 0;
        return function;
    }

    /// <summary>
    /// Appends a function another layout encoded (<see cref="Detach"/>), as if <see cref="Add"/> had
    /// encoded it here: its data references move to the module-wide instruction index.
    /// </summary>
    public void Adopt(FunctionCode function)
    {
        var first = InstructionCount;
        for (var i = 0; i < function.DataReferences.Length; i++)
        {
            var reference = function.DataReferences[i];
            function.DataReferences[i] = reference with { InstructionIndex = reference.InstructionIndex - function.FirstIndex + first };
        }
        function.FirstIndex = first;
        InstructionCount += function.Offsets.Length;
        _functions.Add(function);
    }

    /// <summary>
    /// Sets each loop header's padding from where the last encoding put it, each header moved by
    /// what the padding before it changed by (branch lengths assumed unchanged: the next encoding
    /// checks); true if any changed.
    /// </summary>
    private static bool ChoosePadding(FunctionCode function)
    {
        var changed = false;
        var moved = 0;
        for (var k = 0; k < function.LoopHeaders.Length; k++)
        {
            var start = (int)function.Offsets[function.LoopHeaders[k]] - function.Padding[k] + moved;   // where its nops begin
            var wanted = -start & (Alignment - 1);
            if (wanted > MaxPadding) wanted -= Alignment / 2;
            if (wanted == function.Padding[k]) continue;
            moved += wanted - function.Padding[k];
            function.Padding[k] = wanted;
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// Puts the chosen padding into the unpadded encoding of <paramref name="instructions"/>: the
    /// bytes move apart at each loop header, and every relative field whose span now holds nops
    /// (a branch to an instruction of the function, measured from its end; a RIP-relative operand or
    /// a branch outside, whose target address stays) grows by their length. False, with the function
    /// untouched, when a short branch would no longer reach or the encoding is not one this reads
    /// (the caller then encodes the padded list, as Iced relaxes branches).
    /// </summary>
    /// <param name="constants">The unpadded encoding's constant offsets, by instruction.</param>
    private static bool TryInsertPadding(FunctionCode function, ReadOnlySpan<Instruction> instructions, ReadOnlySpan<ConstantOffsets> constants)
    {
        var headers = function.LoopHeaders;
        var padding = function.Padding;
        var offsets = function.Offsets;
        var old = function.Bytes;
        var count = instructions.Length;
        if (offsets.Length != count) return false;
        // Nops at each header's old offset: an old position at or after it moves by its padding.
        var at = new int[headers.Length];
        var total = 0;
        for (var k = 0; k < headers.Length; k++)
        {
            at[k] = (int)offsets[headers[k]];
            if (at[k] < 0 || k > 0 && at[k] <= at[k - 1]) return false;
            total += padding[k];
        }
        var bytes = new byte[old.Length + total];
        var newOffsets = new uint[count];
        var copied = 0;
        var written = 0;
        for (var k = 0; k < headers.Length; k++)
        {
            old.AsSpan(copied, at[k] - copied).CopyTo(bytes.AsSpan(written));
            written += at[k] - copied;
            copied = at[k];
            Nops(padding[k]).CopyTo(bytes.AsSpan(written));
            written += padding[k];
        }
        old.AsSpan(copied).CopyTo(bytes.AsSpan(written));
        // Nops before each header's, for a branch target's shift (a binary search: targets come in any order).
        var before = new int[headers.Length + 1];
        for (var k = 0; k < headers.Length; k++) before[k + 1] = before[k] + padding[k];
        var passed = 0;
        var shift = 0;
        for (var i = 0; i < count; i++)
        {
            if (offsets[i] == uint.MaxValue) return false;
            var start = (int)offsets[i];
            for (; passed < at.Length && at[passed] <= start; passed++) shift += padding[passed];   // instructions come in offset order
            var moved = shift;
            newOffsets[i] = (uint)(start + moved);
            ref readonly var instruction = ref instructions[i];
            int field, size, target;
            if (instruction.IsIPRelativeMemoryOperand)
            {
                // An address (data, or another function's entry): it stays where it is.
                (field, size, target) = (constants[i].DisplacementOffset, constants[i].DisplacementSize, 0);
            }
            else if (instruction.Op0Kind == OpKind.NearBranch64)
            {
                (field, size) = (constants[i].ImmediateOffset, constants[i].ImmediateSize);
                if (size is not (1 or 4)) return false;
                var end = i + 1 < count ? (int)offsets[i + 1] : old.Length;   // (unpadded: the next instruction's start)
                // Another function's entry (patched later) stays put; an instruction of this one moves with its nops.
                target = instruction.NearBranch64 == Placeholder ? 0 : Shift(at, before, end + Read(old, start + field, size));
            }
            else continue;
            var delta = target - moved;
            if (delta == 0) continue;
            if (size == 4) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(start + moved + field), checked(Read(old, start + field, 4) + delta));
            else if (size == 1 && FitsRel8(Read(old, start + field, 1) + (long)delta)) bytes[start + moved + field] = (byte)(sbyte)(Read(old, start + field, 1) + delta);
            else return false;
        }
        for (var r = 0; r < function.CrossReferences.Length; r++)
        {
            var instruction = function.CrossReferences[r].Instruction;
            function.CrossEnds[r] += (int)(newOffsets[instruction] - offsets[instruction]);
        }
        function.Bytes = bytes;
        function.Offsets = newOffsets;
        return true;
    }


    /// <summary>How far an instruction that started at <paramref name="position"/> in the unpadded encoding moves: the nops at or before it (<paramref name="before"/>[k]: the nops before header k).</summary>
    private static int Shift(int[] at, int[] before, int position)
    {
        int low = 0, high = at.Length;   // the number of headers at or before the position
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (at[middle] <= position) low = middle + 1;
            else high = middle;
        }
        return before[low];
    }

    private static int Read(byte[] bytes, int offset, int size) =>
        size == 1 ? (sbyte)bytes[offset] : BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));

    /// <summary>The bytes Iced gives the nops of <see cref="AddNops"/> for each length up to <see cref="Alignment"/>.</summary>
    private static readonly byte[][] s_nops = EncodeNops();

    private static ReadOnlySpan<byte> Nops(int bytes) => s_nops[bytes];

    private static byte[][] EncodeNops()
    {
        var nops = new byte[Alignment][];
        for (var length = 0; length < Alignment; length++)
        {
            var list = new List<Instruction>();
            AddNops(list, length);
            var bytes = new List<byte>();
            if (!BlockEncoder.TryEncode(64, new InstructionBlock(new ListWriter(bytes), list, 0), out var error, out _))
                throw new InvalidOperationException(error);
            nops[length] = [.. bytes];
        }
        return nops;
    }

    /// <summary>
    /// Encodes the instructions with the function's current padding and keeps the bytes, the offsets
    /// of the caller's instructions, where its cross references end and where its data references' fields are.
    /// </summary>
    /// <returns>The constant offsets of the encoded instructions (the encoder's: valid until this thread's next encoding), by position in the padded list.</returns>
    private ConstantOffsets[] Encode(FunctionCode function, ReadOnlySpan<Instruction> instructions)
    {
        var headers = function.LoopHeaders;
        var encoder = FunctionEncoder.ForThread();
        var padded = instructions;
        int[]? position = null;   // where each of the caller's instructions is in the padded list
        if (function.Padding.AsSpan().ContainsAnyExcept(0))
        {
            var list = encoder.Padded();
            position = new int[instructions.Length];
            for (int i = 0, k = 0; i < instructions.Length; i++)
            {
                for (; k < headers.Length && headers[k] == i; k++) AddNops(list, function.Padding[k]);
                position[i] = list.Count;
                list.Add(instructions[i]);
            }
            padded = CollectionsMarshal.AsSpan(list);
        }
        // Our own loop over Iced's Encoder, with BlockEncoder's relaxation (FunctionEncoder); BlockEncoder itself for what that does not handle.
        if (encoder.TryEncode(padded, out var encoded, out var offsets, out var constants))
        {
            function.Bytes = encoded;
        }
        else
        {
            _scratch.Clear();
            if (!BlockEncoder.TryEncode(64, new InstructionBlock(_writer, padded.ToArray(), 0), out var error, out var result, Options))
                throw new InvalidOperationException(error);
            function.Bytes = _scratch.ToArray();
            offsets = result.NewInstructionOffsets;
            constants = result.ConstantOffsets;
        }
        var count = instructions.Length;
        var encodedCount = padded.Length;
        var starts = function.Offsets = new uint[count];
        for (var i = 0; i < count; i++) starts[i] = offsets[position is null ? i : position[i]];
        // The next encoded instruction starts where one ends (a nop's start, when padding follows).
        var crossReferences = function.CrossReferences;
        if (function.CrossEnds.Length != crossReferences.Length) function.CrossEnds = new int[crossReferences.Length];
        for (var r = 0; r < crossReferences.Length; r++)
        {
            var at = position is null ? crossReferences[r].Instruction : position[crossReferences[r].Instruction];
            function.CrossEnds[r] = at + 1 < encodedCount ? (int)offsets[at + 1] : function.Bytes.Length;
        }
        // RIP-relative: the CPU adds the address of the next instruction, which lies the
        // displacement (4 bytes) plus any immediate after the field being patched.
        var dataReferences = function.DataReferences;
        if (function.DataFields.Length != dataReferences.Length) function.DataFields = new (int, int)[dataReferences.Length];
        for (var r = 0; r < dataReferences.Length; r++)
        {
            var index = dataReferences[r].InstructionIndex - function.FirstIndex;
            var constant = constants[position is null ? index : position[index]];
            function.DataFields[r] = (constant.DisplacementOffset, -(constant.DisplacementSize + constant.ImmediateSize));
        }
        return constants;
    }

    /// <summary>Recommended multi-byte nops (0F 1F /0 with 66 prefixes): the fewest instructions that fill <paramref name="bytes"/>.</summary>
    private static void AddNops(List<Instruction> list, int bytes)
    {
        while (bytes > 0)
        {
            var size = Math.Min(bytes, 8);
            list.Add(Nop(size));
            bytes -= size;
        }
    }

    private static Instruction Nop(int size) => size switch
    {
        1 => Instruction.Create(Code.Nopd),
        2 => Instruction.Create(Code.Nopw),
        3 => Instruction.Create(Code.Nop_rm32, new MemoryOperand(Register.RAX)),
        4 => Instruction.Create(Code.Nop_rm32, new MemoryOperand(Register.RAX, Register.None, 1, 0, 1)),
        5 => Instruction.Create(Code.Nop_rm32, new MemoryOperand(Register.RAX, Register.RAX, 1, 0, 1)),
        6 => Instruction.Create(Code.Nop_rm16, new MemoryOperand(Register.RAX, Register.RAX, 1, 0, 1)),
        7 => Instruction.Create(Code.Nop_rm32, new MemoryOperand(Register.RAX, Register.None, 1, 0, 8)),
        _ => Instruction.Create(Code.Nop_rm32, new MemoryOperand(Register.RAX, Register.RAX, 1, 0, 8)),
    };

    /// <summary>Lays the functions out, resolves what crosses them and writes the text and the data relocations.</summary>
    /// <returns>Each function's start in the text and its length (without the gap after it), in module order.</returns>
    public (int Start, int Length)[] WriteTo(ObjectModule output)
    {
        LayOut();
        while (ShrinkJumpsInReach()) LayOut();

        var text = output.Text;
        if (_functions.Count > 0) text.EnsureCapacity(text.Count + _functions[^1].Start + _functions[^1].Bytes.Length);   // (one array, not a doubling series)
        foreach (var function in _functions)
        {
            for (var r = 0; r < function.CrossReferences.Length; r++) Patch(function, r);
            for (var i = 0; i < function.Gap; i++) text.Add(0xCC);
            text.AddRange(function.Bytes);
        }
        foreach (var function in _functions)
            for (var r = 0; r < function.DataReferences.Length; r++)
            {
                var reference = function.DataReferences[r];
                var (field, addend) = function.DataFields[r];
                output.Relocations.Add(new Relocation(
                    SectionKind.Text,
                    function.Start + (int)function.Offsets[reference.InstructionIndex - function.FirstIndex] + field,
                    RelocationKind.PcRelative32,
                    reference.TargetSection,
                    reference.TargetOffset,
                    Addend: addend));
            }
        return [.. _functions.Select(f => (f.Start, f.Bytes.Length))];
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
            // Only a function with a loop: packing small ones together measured faster (calls through
            // a table of four tiny functions ran 1.8x slower when each started at a multiple of 16,
            // on gcc's code too), and only a loop's position needs the start aligned.
            if (function.Gap < 0) function.Gap = function.LoopHeaders.Length > 0 ? -start & (Alignment - 1) : 0;
            start += function.Gap;
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
            Encode(function, function.Instructions);   // the padding as chosen: the function only shrinks
            shrank = true;
        }
        return shrank;
    }

    private static bool FitsRel8(long displacement) => displacement is >= sbyte.MinValue and <= sbyte.MaxValue;

    /// <summary>Writes the distance from the end of cross reference <paramref name="r"/>'s instruction to its target's entry into the instruction's last field (rel32, or rel8 of a short jmp).</summary>
    private void Patch(FunctionCode function, int r)
    {
        var reference = function.CrossReferences[r];
        var end = function.EndOf(r);
        var displacement = _functions[reference.Target].Start - (long)(function.Start + end);
        if (reference.Kind == CrossReferenceKind.Jump && end - (int)function.Offsets[reference.Instruction] == 2)   // a short jmp
        {
            if (!FitsRel8(displacement)) throw new InvalidOperationException("a short jmp out of reach after relaxation"); // layouts only shrink: cannot happen
            function.Bytes[end - 1] = (byte)(sbyte)displacement;
            return;
        }
        BinaryPrimitives.WriteInt32LittleEndian(function.Bytes.AsSpan(end - 4), checked((int)displacement));
    }

    private sealed class ListWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
