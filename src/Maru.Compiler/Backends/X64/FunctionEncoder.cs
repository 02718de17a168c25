using Iced.Intel;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Encodes one function's instructions (a block at address 0) with Iced's <see cref="Encoder"/>,
/// one instruction at a time into a reused buffer, choosing each branch's form by the same
/// relaxation as Iced's <see cref="BlockEncoder"/> (version 1.21), so the bytes, offsets and
/// constant offsets are the ones it gives, without its object per instruction, its dictionary of
/// labels and its second encoding of every instruction to learn its size.
/// <para>
/// The relaxation, as BlockEncoder does it: every instruction gets a first size (a jcc 8 bytes, a
/// jmp or call 6: room for the far forms; a RIP-relative operand its EIP form, one byte longer;
/// anything else its encoded length, final) and so an address; a branch target is the instruction
/// whose original IP (an assembler label) is the target, else an address outside the block
/// (several instructions with IP 0 make 0 no label). Then up to five passes from the start, each
/// placing the instructions at the sizes chosen so far: a branch not yet final takes the short
/// form when the distance, as now measured, fits 8 bits (a forward distance inside the block less
/// what this pass has already saved before the branch), else the near form, final once the
/// distance is beyond what shrinking could bring into reach; a call or RIP-relative operand takes
/// its 32-bit form and is final. A pass that shrank nothing ends it. Anything this does not handle
/// (a far form, another kind of branch) returns false: the caller encodes with BlockEncoder.
/// </para>
/// Each thread's layout owns one; it keeps its arrays between functions.
/// </summary>
internal sealed class FunctionEncoder
{
    private enum Kind : byte { Simple, Jcc, Jmp, Call, IpRelative }

    // Iced's BlockEncoder: passes over the block, and the room it first gives the far forms.
    private const int MaxPasses = 5;
    private const uint JccFarSize = 8, JmpOrCallFarSize = 6;
    private const int MaxInstructionLength = 15;

    private readonly Buffer _buffer = new();
    private readonly Buffer _simple = new();   // the position-independent instructions, encoded once
    private readonly Encoder _encoder;
    private readonly Encoder _simpleEncoder;

    private Kind[] _kind = [];
    private uint[] _size = [];
    private uint[] _shortSize = [];   // branches: the short form; IP-relative: the RIP form
    private uint[] _nearSize = [];
    private ulong[] _ip = [];
    private bool[] _done = [];
    private bool[] _short = [];
    private int[] _target = [];        // the target instruction's index, or -1 (then _address)
    private ulong[] _address = [];
    private int[] _simpleStart = [];
    private ConstantOffsets[] _simpleConstants = [];
    private readonly Dictionary<ulong, int> _labels = new();

    public FunctionEncoder()
    {
        _encoder = Encoder.Create(64, _buffer);
        _simpleEncoder = Encoder.Create(64, _simple);
    }

    /// <summary>
    /// The function's bytes and, per instruction, its offset and constant offsets (as
    /// BlockEncoder's ReturnNewInstructionOffsets and ReturnConstantOffsets give them); false when
    /// the block needs something only BlockEncoder does.
    /// </summary>
    public bool TryEncode(IList<Instruction> instructions, out byte[] bytes, out uint[] offsets, out ConstantOffsets[] constants)
    {
        bytes = [];
        offsets = [];
        constants = [];
        var count = instructions.Count;
        Grow(count);
        _simple.Count = 0;

        // First sizes and addresses.
        ulong ip = 0;
        var zeroIps = 0;
        for (var i = 0; i < count; i++)
        {
            var instruction = instructions[i];
            if (instruction.IP == 0) zeroIps++;
            _done[i] = false;
            _short[i] = false;
            _target[i] = -1;
            var code = instruction.Code;
            if (code.IsJccShortOrNear())
            {
                if (instruction.OpCount != 1) return false;
                _kind[i] = Kind.Jcc;
                (_shortSize[i], _nearSize[i]) = BranchSizes(instruction);
                _size[i] = Math.Max(_nearSize[i], JccFarSize);
            }
            else if (code.IsJmpShortOrNear())
            {
                _kind[i] = Kind.Jmp;
                (_shortSize[i], _nearSize[i]) = BranchSizes(instruction);
                _size[i] = Math.Max(_nearSize[i], JmpOrCallFarSize);
            }
            else if (code is Code.Call_rel32_64)
            {
                _kind[i] = Kind.Call;
                _nearSize[i] = SizeOf(instruction with { NearBranch64 = 0 }, 0);
                _size[i] = Math.Max(_nearSize[i], JmpOrCallFarSize);
            }
            else if (instruction.FlowControl is not (FlowControl.Next or FlowControl.Return or FlowControl.Interrupt or FlowControl.IndirectBranch or FlowControl.IndirectCall or FlowControl.Exception)
                     || code is Code.Call_rel16 or Code.Call_rel32_32 or Code.Xbegin_rel16 or Code.Xbegin_rel32)
            {
                return false;   // another kind of branch: BlockEncoder's
            }
            else if (HasMemoryOperand(instruction) && instruction.IsIPRelativeMemoryOperand)
            {
                _kind[i] = Kind.IpRelative;
                var copy = instruction;
                copy.MemoryBase = Register.RIP;
                copy.MemoryDisplacement64 = 0;
                _shortSize[i] = SizeOf(copy, copy.IPRelativeMemoryAddress);
                copy.MemoryBase = Register.EIP;
                _nearSize[i] = SizeOf(copy, copy.IPRelativeMemoryAddress);
                _size[i] = _nearSize[i];
            }
            else
            {
                // Position-independent: encoded now, once; its length is its size.
                _kind[i] = Kind.Simple;
                _done[i] = true;
                var start = _simple.Count;
                if (!_simpleEncoder.TryEncode(instruction, ip, out var length, out _)) return false;
                _simpleStart[i] = start;
                _simpleConstants[i] = _simpleEncoder.GetConstantOffsets();
                _size[i] = length;
            }
            _ip[i] = ip;
            ip += _size[i];
        }

        // Labels: an instruction's original IP names it; IP 0 only when one instruction has it.
        _labels.Clear();
        for (var i = 0; i < count; i++)
        {
            var label = instructions[i].IP;
            if (label == 0 && zeroIps > 1) continue;
            if (!_labels.TryAdd(label, i)) return false;   // BlockEncoder refuses two instructions at one IP
        }
        for (var i = 0; i < count; i++)
        {
            if (_kind[i] == Kind.Simple) continue;
            var instruction = instructions[i];
            var address = _kind[i] == Kind.IpRelative ? instruction.IPRelativeMemoryAddress : instruction.NearBranchTarget;
            _address[i] = address;
            if (_labels.TryGetValue(address, out var target)) _target[i] = target;
        }

        for (var pass = 0; pass < MaxPasses; pass++)
        {
            var shrank = false;
            ip = 0;
            ulong gained = 0;
            for (var i = 0; i < count; i++)
            {
                _ip[i] = ip;
                if (!_done[i])
                {
                    var old = _size[i];
                    if (!Relax(i, gained)) return false;
                    if (_size[i] < old)
                    {
                        gained += old - _size[i];
                        shrank = true;
                    }
                }
                ip += _size[i];
            }
            if (!shrank) break;
        }

        _buffer.Count = 0;
        offsets = new uint[count];
        constants = new ConstantOffsets[count];
        for (var i = 0; i < count; i++)
        {
            var at = _buffer.Count;
            offsets[i] = (uint)_ip[i];
            if (_kind[i] == Kind.Simple)
            {
                _buffer.Append(_simple.Bytes.AsSpan(_simpleStart[i], (int)_size[i]));
                constants[i] = _simpleConstants[i];
                continue;
            }
            var instruction = instructions[i];
            var address = _target[i] >= 0 ? _ip[_target[i]] : _address[i];
            switch (_kind[i])
            {
                case Kind.Jcc:
                case Kind.Jmp:
                    instruction.Code = _short[i] ? instruction.Code.ToShortBranch() : instruction.Code.ToNearBranch();
                    instruction.NearBranch64 = address;
                    break;
                case Kind.Call:
                    instruction.NearBranch64 = address;
                    break;
                default:
                    instruction.MemoryBase = _short[i] ? Register.RIP : Register.EIP;
                    instruction.MemoryDisplacement64 = address;
                    break;
            }
            if (!_encoder.TryEncode(instruction, _ip[i], out var length, out _) || length != _size[i]) return false;
            constants[i] = _encoder.GetConstantOffsets();
        }
        bytes = _buffer.Bytes.AsSpan(0, _buffer.Count).ToArray();
        return true;
    }

    /// <summary>One relaxation step of instruction <paramref name="i"/> (not final); false for a far form.</summary>
    private bool Relax(int i, ulong gained)
    {
        var inBlock = _target[i] >= 0;
        var target = inBlock ? _ip[_target[i]] : _address[i];
        switch (_kind[i])
        {
            case Kind.Jcc:
            case Kind.Jmp:
            {
                var distance = Corrected(inBlock, (long)(target - (_ip[i] + _shortSize[i])), gained);
                if (distance is >= sbyte.MinValue and <= sbyte.MaxValue)
                {
                    _short[i] = true;
                    _size[i] = _shortSize[i];
                    _done[i] = true;
                    return true;
                }
                if (!inBlock)
                {
                    distance = Corrected(inBlock, (long)(target - (_ip[i] + _nearSize[i])), gained);
                    if (distance is < int.MinValue or > int.MaxValue) return false;
                }
                // Beyond what the longest instructions shrinking to nothing could bring into reach.
                if (distance < (long)MaxInstructionLength * sbyte.MinValue || distance > (long)MaxInstructionLength * sbyte.MaxValue)
                    _done[i] = true;
                _size[i] = _nearSize[i];
                return true;
            }
            case Kind.Call:
            {
                if (!inBlock)
                {
                    var distance = Corrected(inBlock, (long)(target - (_ip[i] + _nearSize[i])), gained);
                    if (distance is < int.MinValue or > int.MaxValue) return false;
                }
                _size[i] = _nearSize[i];
                _done[i] = true;
                return true;
            }
            default:
            {
                var useRip = inBlock;
                if (!useRip)
                {
                    var distance = Corrected(inBlock, (long)(target - (_ip[i] + _shortSize[i])), gained);
                    useRip = distance is >= int.MinValue and <= int.MaxValue;
                }
                if (useRip)
                {
                    _short[i] = true;
                    _size[i] = _shortSize[i];
                }
                else if (target <= uint.MaxValue) _size[i] = _nearSize[i];
                else return false;
                _done[i] = true;
                return true;
            }
        }
    }

    /// <summary>A forward distance inside the block measured to where the target was before this pass, less what the pass has saved before the branch.</summary>
    private static long Corrected(bool inBlock, long distance, ulong gained) => inBlock && distance >= 0 ? distance - (long)gained : distance;

    private static bool HasMemoryOperand(in Instruction instruction)
    {
        for (var k = 0; k < instruction.OpCount; k++)
            if (instruction.GetOpKind(k) == OpKind.Memory) return true;
        return false;
    }

    private uint SizeOf(in Instruction instruction, ulong ip)
    {
        var start = _simple.Count;
        var length = _simpleEncoder.TryEncode(instruction, ip, out var size, out _) ? size : (uint)MaxInstructionLength;
        _simple.Count = start;
        return length;
    }

    // The short and near forms' lengths of a branch without prefixes, by its code (0: not yet known).
    private ushort[] _branchSizes = [];

    /// <summary>The short and near forms' lengths (for a branch without prefixes, as ours are, computed once per code).</summary>
    private (uint Short, uint Near) BranchSizes(in Instruction instruction)
    {
        var code = (int)instruction.Code;
        var plain = !(instruction.HasRepPrefix || instruction.HasRepnePrefix || instruction.HasLockPrefix || instruction.SegmentPrefix != Register.None);
        if (plain && code < _branchSizes.Length && _branchSizes[code] is var known and not 0) return ((uint)(known & 0xFF), (uint)(known >> 8));
        var sizes = Measure(instruction);
        if (!plain) return sizes;
        if (code >= _branchSizes.Length) Array.Resize(ref _branchSizes, code + 64);
        _branchSizes[code] = (ushort)(sizes.Short | sizes.Near << 8);
        return sizes;
    }

    private (uint Short, uint Near) Measure(in Instruction instruction)
    {
        var copy = instruction;
        copy.NearBranch64 = 0;
        copy.Code = instruction.Code.ToShortBranch();
        var shortSize = SizeOf(copy, 0);
        copy.Code = instruction.Code.ToNearBranch();
        return (shortSize, SizeOf(copy, 0));
    }

    private void Grow(int count)
    {
        if (_kind.Length >= count) return;
        var size = Math.Max(count, _kind.Length * 2);
        _kind = new Kind[size];
        _size = new uint[size];
        _shortSize = new uint[size];
        _nearSize = new uint[size];
        _ip = new ulong[size];
        _done = new bool[size];
        _short = new bool[size];
        _target = new int[size];
        _address = new ulong[size];
        _simpleStart = new int[size];
        _simpleConstants = new ConstantOffsets[size];
    }

    private sealed class Buffer : CodeWriter
    {
        public byte[] Bytes = new byte[256];
        public int Count;

        public override void WriteByte(byte value)
        {
            if (Count == Bytes.Length) Array.Resize(ref Bytes, Bytes.Length * 2);
            Bytes[Count++] = value;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (Count + bytes.Length > Bytes.Length) Array.Resize(ref Bytes, Math.Max(Bytes.Length * 2, Count + bytes.Length));
            bytes.CopyTo(Bytes.AsSpan(Count));
            Count += bytes.Length;
        }
    }
}
