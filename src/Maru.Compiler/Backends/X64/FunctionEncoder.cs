using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// <para>
/// Iced encodes each distinct instruction once per encoder (<see cref="Template"/>): a module
/// repeats most (the same register move, load, push, the same jcc to another place), and an
/// instruction's bytes depend on its place only through its relative field, a branch's or call's
/// displacement or an IP-relative operand's. So Iced's bytes for the instruction at address 0 with
/// its target at 0 are kept, by every bit of the instruction (IP and target zeroed), and each
/// occurrence takes them with its relative field written as Iced writes it, the target less the
/// next instruction's address (where Iced's constant offsets say the field is, its reach checked
/// as Iced checks it). A warm eval.l compilation encoded about 25,000 instructions with Iced; now
/// about 1,000.
/// </para>
/// One per thread (<see cref="ForThread"/>), its arrays kept from one function and one compilation
/// to the next, and so are its templates (<see cref="_known"/>).
/// </summary>
internal sealed class FunctionEncoder
{
    [ThreadStatic] private static FunctionEncoder? t_current;

    /// <summary>This thread's encoder (a call's arrays are its own until it returns).</summary>
    public static FunctionEncoder ForThread() => t_current ??= new FunctionEncoder();

    private const int KeepLimit = 1 << 16;
    private readonly List<Instruction> _padded = new();

    /// <summary>An empty list of this thread's, for a function's instructions with the nops of its loop headers (until the next call).</summary>
    public List<Instruction> Padded()
    {
        _padded.Clear();
        if (_padded.Capacity > KeepLimit) _padded.Capacity = 0;   // a huge function's list is not kept
        return _padded;
    }

    private enum Kind : byte { Simple, Jcc, Jmp, Call, IpRelative }

    // Iced's BlockEncoder: passes over the block, and the room it first gives the far forms.
    private const int MaxPasses = 5;
    private const uint JccFarSize = 8, JmpOrCallFarSize = 6;
    private const int MaxInstructionLength = 15;

    private readonly Buffer _buffer = new();
    private readonly Buffer _simple = new();   // Iced's encodings of the templates (see _known)
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
    private int[] _simpleStart = [];   // the template's bytes (a branch's, a call's, an IP-relative operand's: its short or RIP form's)
    private ConstantOffsets[] _simpleConstants = [];
    private int[] _nearStart = [];     // an IP-relative operand's EIP form's bytes
    private ConstantOffsets[] _nearConstants = [];
    private int[] _before = [];        // per instruction: how many branches (instructions not final at first) come before it
    private int[] _branches = [];      // the branches' instruction indexes, in order
    private uint[] _offsets = [];               // the answer's offsets and constant offsets (valid until the next call)
    private ConstantOffsets[] _constants = [];
    private int[] _openAt = [], _openRank = [];   // the branches still open after the first pass: instruction, branch number
    private ulong[] _openCut = [];     // per open branch: how much it has shrunk since the first pass
    private ulong[] _openShrunk = [];  // per open branch m: what the open branches before it have shrunk since the first pass
    private ulong[] _shrunk = [];      // per branch k: what the branches before it have shrunk so far (see TryEncode)
    private readonly Dictionary<ulong, int> _labels = new();
    // Dense labels: the instruction at each, valid where its stamp is this call's.
    private int[] _labelAt = [], _labelStamp = [];
    private int _stamp;

    private void StampLabels(int size)
    {
        if (_labelAt.Length < size || _labelAt.Length > Math.Max(KeepLimit, 2 * size))
        {
            _labelAt = new int[Math.Max(size, 256)];
            _labelStamp = new int[_labelAt.Length];
            _stamp = 0;
        }
        if (_stamp == int.MaxValue)
        {
            Array.Clear(_labelStamp);
            _stamp = 0;
        }
        _stamp++;
    }

    /// <summary>How the encoder treats an instruction code (a pure function of the code: kept per code once asked).</summary>
    private enum Form : byte { Unknown, Jcc, Jmp, Call, Other, Refused }

    private Form[] _forms = [];

    private Form FormOf(Code code)
    {
        var at = (int)code;
        if (at < _forms.Length && _forms[at] != Form.Unknown) return _forms[at];
        var form = code.IsJccShortOrNear() ? Form.Jcc
            : code.IsJmpShortOrNear() ? Form.Jmp
            : code is Code.Call_rel32_64 ? Form.Call
            : code.FlowControl() is not (FlowControl.Next or FlowControl.Return or FlowControl.Interrupt or FlowControl.IndirectBranch or FlowControl.IndirectCall or FlowControl.Exception)
              || code is Code.Call_rel16 or Code.Call_rel32_32 or Code.Xbegin_rel16 or Code.Xbegin_rel32 ? Form.Refused
            : Form.Other;
        if (at >= _forms.Length) Array.Resize(ref _forms, at + 64);
        _forms[at] = form;
        return form;
    }

    // Template encodings so far, by the instruction's bits with its IP and relative target zeroed:
    // where their bytes start in _simple, their length and constant offsets. Kept from one
    // compilation to the next (an instruction's template is the same whatever module it is in: a
    // warm compilation finds nearly all its thousand-odd templates made by the one before), and
    // dropped (with the bytes) when a function starts with more than KnownLimit, so a thread keeps little.
    private readonly KnownTable _known = new();
    private const int KnownLimit = 1 << 12;
    private readonly record struct Known(int Start, uint Length, ConstantOffsets Constants);

    public FunctionEncoder()
    {
        _simpleEncoder = Encoder.Create(64, _simple);
        _wordsKnown = InstructionBits.Exact && InstructionBits.WordsAsExpected();
    }

    /// <summary>An instruction's next IP is its first word and a relative target its second (checked once per encoder): a template's key is then read from the instruction in place.</summary>
    private readonly bool _wordsKnown;

    /// <summary>
    /// The function's bytes and, per instruction, its offset and constant offsets (as
    /// BlockEncoder's ReturnNewInstructionOffsets and ReturnConstantOffsets give them; arrays of the
    /// encoder's, longer than the function maybe, valid until its next call); false when the block
    /// needs something only BlockEncoder does.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<Instruction> instructions, out byte[] bytes, out uint[] offsets, out ConstantOffsets[] constants)
    {
        bytes = [];
        offsets = [];
        constants = [];
        var count = instructions.Length;
        Grow(count);
        if (_buffer.Bytes.Length > 64 * KeepLimit) _buffer.Bytes = new byte[256];   // a huge function's bytes are not kept
        if (_known.Count > KnownLimit)
        {
            _known.Clear();
            _simple.Count = 0;
            if (_simple.Bytes.Length > 64 * KnownLimit) _simple.Bytes = new byte[256];
        }

        // First sizes and addresses.
        ulong ip = 0;
        var branchCount = 0;
        var zeroIps = 0;
        ulong highestLabel = 0;
        for (var i = 0; i < count; i++)
        {
            ref readonly var instruction = ref instructions[i];
            var label = instruction.IP;
            if (label == 0) zeroIps++;
            else if (label > highestLabel) highestLabel = label;
            var code = instruction.Code;
            var form = FormOf(code);
            if (form == Form.Other && !instruction.IsIPRelativeMemoryOperand)
            {
                // Position-independent: its template is its encoding, and its length its size, final.
                _kind[i] = Kind.Simple;
                if (!Template(instruction, relative: false, out var known)) return false;   // (not a branch, not IP-relative)
                _simpleStart[i] = known.Start;
                _simpleConstants[i] = known.Constants;
                _size[i] = known.Length;
                _ip[i] = ip;
                ip += known.Length;
                _before[i] = branchCount;
                continue;
            }
            _done[i] = false;
            _short[i] = false;
            _target[i] = -1;
            if (form == Form.Jcc)
            {
                if (instruction.OpCount != 1) return false;
                _kind[i] = Kind.Jcc;
                (_shortSize[i], _nearSize[i]) = BranchSizes(instruction);
                _size[i] = Math.Max(_nearSize[i], JccFarSize);
            }
            else if (form == Form.Jmp)
            {
                _kind[i] = Kind.Jmp;
                (_shortSize[i], _nearSize[i]) = BranchSizes(instruction);
                _size[i] = Math.Max(_nearSize[i], JmpOrCallFarSize);
            }
            else if (form == Form.Call)
            {
                _kind[i] = Kind.Call;
                if (!Template(instruction, out var call)) return false;
                _nearSize[i] = call.Length;
                _simpleStart[i] = call.Start;
                _simpleConstants[i] = call.Constants;
                _size[i] = Math.Max(_nearSize[i], JmpOrCallFarSize);
            }
            else if (form == Form.Refused)
            {
                return false;   // another kind of branch: BlockEncoder's
            }
            else if (instruction.IsIPRelativeMemoryOperand && HasMemoryOperand(instruction))
            {
                _kind[i] = Kind.IpRelative;
                var copy = instruction;
                copy.MemoryBase = Register.RIP;
                if (!Template(copy, out var rip)) return false;
                copy.MemoryBase = Register.EIP;
                if (!Template(copy, out var eip)) return false;
                _shortSize[i] = rip.Length;
                _nearSize[i] = eip.Length;
                _simpleStart[i] = rip.Start;
                _simpleConstants[i] = rip.Constants;
                _nearStart[i] = eip.Start;
                _nearConstants[i] = eip.Constants;
                _size[i] = _nearSize[i];
            }
            else
            {
                // Position-independent: its template is its encoding, and its length its size, final.
                _kind[i] = Kind.Simple;
                _done[i] = true;
                if (!Template(instruction, out var known)) return false;
                _simpleStart[i] = known.Start;
                _simpleConstants[i] = known.Constants;
                _size[i] = known.Length;
            }
            _ip[i] = ip;
            ip += _size[i];
            _before[i] = branchCount;
            if (_kind[i] != Kind.Simple) _branches[branchCount++] = i;
        }

        // Labels: an instruction's original IP names it; IP 0 only when one instruction has it.
        // Labels numbered 1, 2, 3... (Iced's assembler's, and the emitter's) index an array; others a dictionary.
        var dense = highestLabel <= 4 * (ulong)count + 64;
        if (dense) StampLabels((int)highestLabel + 1);
        else _labels.Clear();
        for (var i = 0; i < count; i++)
        {
            var label = instructions[i].IP;
            if (label == 0 && zeroIps > 1) continue;
            if (dense)
            {
                if (_labelStamp[label] == _stamp) return false;   // BlockEncoder refuses two instructions at one IP
                _labelStamp[label] = _stamp;
                _labelAt[label] = i;
            }
            else if (!_labels.TryAdd(label, i)) return false;
        }
        for (var k = 0; k < branchCount; k++)
        {
            var i = _branches[k];
            ref readonly var instruction = ref instructions[i];
            var address = _kind[i] == Kind.IpRelative ? instruction.IPRelativeMemoryAddress : instruction.NearBranchTarget;
            _address[i] = address;
            if (dense)
            {
                if (address <= highestLabel && _labelStamp[address] == _stamp) _target[i] = _labelAt[address];
            }
            else if (_labels.TryGetValue(address, out var target)) _target[i] = target;
        }

        // The relaxation walks the branches only (every instruction not final at first: jcc, jmp,
        // call, IP-relative operand), with BlockEncoder's addresses: its pass places every
        // instruction at the sizes chosen so far, and a branch reads a target behind it as this
        // pass placed it, one ahead as the last pass did. An instruction's address is its first
        // address (_ip, above) less what the branches before it have shrunk. The first pass keeps
        // that per branch (_shrunk[k]: the branches before branch k); the later ones relax only
        // the branches still open after it (the others keep their sizes), an instruction's
        // address then its address after the first pass less what the open branches before it
        // have shrunk since (_openShrunk[m]: the open branches before open branch m). In both, the
        // entries up to the branch being relaxed are this pass's, those after it the last pass's.
        var shrunk = _shrunk;
        var shrank = false;
        var open = 0;
        ulong gained = 0;
        shrunk[0] = 0;
        for (var k = 0; k < branchCount; k++)
        {
            var i = _branches[k];
            var old = _size[i];
            ulong target;
            if (_target[i] >= 0)
            {
                var j = _target[i];
                target = _before[j] <= k ? _ip[j] - shrunk[_before[j]] : _ip[j];
            }
            else target = _address[i];
            if (!Relax(i, _ip[i] - gained, target, gained)) return false;
            if (_size[i] < old)
            {
                gained += old - _size[i];
                shrank = true;
            }
            shrunk[k + 1] = gained;
            if (!_done[i])
            {
                _openAt[open] = i;
                _openRank[open] = k;
                _openCut[open++] = 0;
            }
        }
        var openCount = open;
        var openShrunk = _openShrunk;
        Array.Clear(openShrunk, 0, openCount + 1);
        for (var pass = 1; pass < MaxPasses && shrank && open > 0; pass++)   // (with every branch final, a pass would shrink nothing)
        {
            shrank = false;
            open = 0;
            gained = 0;
            for (var m = 0; m < openCount; m++)
            {
                var i = _openAt[m];
                if (!_done[i])
                {
                    var old = _size[i];
                    var target = _address[i];
                    if (_target[i] >= 0)
                    {
                        var j = _target[i];
                        target = _ip[j] - shrunk[_before[j]] - openShrunk[OpenBefore(j, openCount)];
                    }
                    if (!Relax(i, _ip[i] - shrunk[_openRank[m]] - openShrunk[m], target, gained)) return false;
                    if (_size[i] < old)
                    {
                        gained += old - _size[i];
                        _openCut[m] += old - _size[i];
                        shrank = true;
                    }
                    if (!_done[i]) open++;
                }
                openShrunk[m + 1] = openShrunk[m] + _openCut[m];
            }
        }
        // Final addresses (those the last pass placed: every size before an instruction is final when it is placed).
        ip = 0;
        for (var i = 0; i < count; i++)
        {
            _ip[i] = ip;
            ip += _size[i];
        }

        _buffer.Count = 0;
        offsets = _offsets;
        constants = _constants;
        for (var i = 0; i < count; i++)
        {
            var start = _buffer.Count;
            offsets[i] = (uint)_ip[i];
            if (_kind[i] == Kind.Simple)
            {
                _buffer.AppendShort(_simple.Bytes, _simpleStart[i], (int)_size[i]);
                constants[i] = _simpleConstants[i];
                continue;
            }
            var address = _target[i] >= 0 ? _ip[_target[i]] : _address[i];
            Known known;
            switch (_kind[i])
            {
                case Kind.Jcc:
                case Kind.Jmp:
                {
                    var instruction = instructions[i];
                    instruction.Code = _short[i] ? instruction.Code.ToShortBranch() : instruction.Code.ToNearBranch();
                    if (!Template(instruction, out known)) return false;
                    break;
                }
                case Kind.IpRelative:
                    known = _short[i] ? new Known(_simpleStart[i], _shortSize[i], _simpleConstants[i]) : new Known(_nearStart[i], _nearSize[i], _nearConstants[i]);
                    break;
                default:
                    known = new Known(_simpleStart[i], _nearSize[i], _simpleConstants[i]);
                    break;
            }
            if (known.Length != _size[i]) return false;
            _buffer.AppendShort(_simple.Bytes, known.Start, (int)known.Length);
            constants[i] = known.Constants;
            // The relative field, as Iced computes it: the target less the address of the next instruction.
            var distance = (long)(address - (_ip[i] + known.Length));
            var (field, size) = _kind[i] == Kind.IpRelative
                ? (known.Constants.DisplacementOffset, known.Constants.DisplacementSize)
                : (known.Constants.ImmediateOffset, known.Constants.ImmediateSize);
            var at = _buffer.Bytes.AsSpan(start + field);
            if (size == 1 && distance is >= sbyte.MinValue and <= sbyte.MaxValue) at[0] = (byte)(sbyte)distance;
            else if (size == 4 && (distance is >= int.MinValue and <= int.MaxValue || _kind[i] == Kind.IpRelative && !_short[i]))
                BinaryPrimitives.WriteInt32LittleEndian(at, (int)distance);   // (an EIP-relative field is the distance modulo 2^32)
            else return false;
        }
        bytes = _buffer.Bytes.AsSpan(0, _buffer.Count).ToArray();
        return true;
    }

    /// <summary>
    /// Iced's encoding of the instruction at address 0 with its relative target (a branch's or call's,
    /// an IP-relative operand's) at 0, made once per distinct instruction: the bytes of the
    /// instruction anywhere, but for the relative field (<see cref="ConstantOffsets"/> says where),
    /// which the caller writes as Iced would, the target less the next instruction's address.
    /// </summary>
    private bool Template(in Instruction instruction, out Known known) =>
        Template(instruction, instruction.Op0Kind == OpKind.NearBranch64 || instruction.IsIPRelativeMemoryOperand, out known);

    /// <param name="relative">The instruction has a relative target (a near branch's, an IP-relative operand's).</param>
    private bool Template(in Instruction instruction, bool relative, out Known known)
    {
        known = default;
        if (!InstructionBits.Exact) return false;   // (never with Iced 1.21: BlockEncoder would encode the function)
        InstructionBits bits;
        if (_wordsKnown)
        {
            bits = InstructionBits.Template(instruction, relative);
            if (_known.TryGetValue(bits, out known)) return true;
        }
        var copy = instruction;
        copy.NextIP = 0;
        if (copy.Op0Kind == OpKind.NearBranch64) copy.NearBranch64 = 0;
        else if (copy.IsIPRelativeMemoryOperand) copy.MemoryDisplacement64 = 0;
        bits = InstructionBits.Of(copy);
        if (!_wordsKnown && _known.TryGetValue(bits, out known)) return true;
        var start = _simple.Count;
        if (!_simpleEncoder.TryEncode(copy, 0, out var length, out _))
        {
            _simple.Count = start;
            return false;
        }
        known = new Known(start, length, _simpleEncoder.GetConstantOffsets());
        _known.Add(bits, known);
        return true;
    }

    /// <summary>Every bit of an instruction (a template: its IP and relative target zeroed), the key of its encoding.</summary>
    private readonly struct InstructionBits(ulong a, ulong b, ulong c, ulong d, ulong e) : IEquatable<InstructionBits>
    {
        private readonly ulong _a = a, _b = b, _c = c, _d = d, _e = e;

        /// <summary>An instruction is exactly these 40 bytes (Iced 1.21's layout; checked, not assumed).</summary>
        public static bool Exact => Unsafe.SizeOf<Instruction>() == Unsafe.SizeOf<InstructionBits>();

        /// <summary>
        /// The bits of the instruction's template (as <see cref="Of"/> of a copy with its next IP and
        /// relative target zeroed), read in place: valid when <see cref="WordsAsExpected"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static InstructionBits Template(in Instruction instruction, bool relative)
        {
            ref var words = ref Unsafe.As<Instruction, ulong>(ref Unsafe.AsRef(in instruction));
            return new InstructionBits(0, relative ? 0 : Unsafe.Add(ref words, 1), Unsafe.Add(ref words, 2), Unsafe.Add(ref words, 3), Unsafe.Add(ref words, 4));
        }

        /// <summary>Whether setting the next IP writes the first word only, and a branch target or an IP-relative displacement the second only.</summary>
        public static bool WordsAsExpected()
        {
            var branch = Instruction.CreateBranch(Code.Jne_rel32_64, 0x0123_4567_89AB_CDEFUL);
            branch.NextIP = 0x1122_3344_5566_7788UL;
            var memory = Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RIP, Register.None, 1, 0x7654_3210, 8));
            memory.NextIP = 0x1020_3040_5060_7080UL;
            var (branchIp, branchTarget, memoryIp, memoryDisplacement) = (branch, branch, memory, memory);
            branchIp.NextIP = 0;
            branchTarget.NearBranch64 = 0;
            memoryIp.NextIP = 0;
            memoryDisplacement.MemoryDisplacement64 = 0;
            return OnlyZeroed(branch, branchIp, 0) && OnlyZeroed(branch, branchTarget, 1)
                && OnlyZeroed(memory, memoryIp, 0) && OnlyZeroed(memory, memoryDisplacement, 1);

            static bool OnlyZeroed(Instruction before, Instruction after, int word)
            {
                var (was, now) = (Of(before), Of(after));
                for (var w = 0; w < 5; w++)
                    if (w == word ? was.Word(w) == 0 || now.Word(w) != 0 : was.Word(w) != now.Word(w)) return false;
                return true;
            }
        }

        private ulong Word(int w) => w switch { 0 => _a, 1 => _b, 2 => _c, 3 => _d, _ => _e };

        public static InstructionBits Of(Instruction instruction)
        {
            ref var words = ref Unsafe.As<Instruction, ulong>(ref instruction);
            return new InstructionBits(words, Unsafe.Add(ref words, 1), Unsafe.Add(ref words, 2), Unsafe.Add(ref words, 3), Unsafe.Add(ref words, 4));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Equals(InstructionBits other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d && _e == other._e;

        public override bool Equals(object? obj) => obj is InstructionBits other && Equals(other);

        /// <summary>Mixed so that the high bits depend on every word (a table indexes by them).</summary>
        public ulong Hash() => ((_a * 0x9E3779B97F4A7C15UL ^ _b) * 0xC2B2AE3D27D4EB4FUL ^ _c ^ _d * 0x165667B19E3779F9UL ^ _e) * 0x9E3779B97F4A7C15UL;

        public override int GetHashCode()
        {
            var h = (_a ^ _b * 0x9E3779B97F4A7C15UL) * 0xC2B2AE3D27D4EB4FUL ^ (_c ^ _d * 0x165667B19E3779F9UL ^ _e) * 0x9E3779B97F4A7C15UL;
            return (int)(h ^ h >> 29);
        }
    }

    /// <summary>
    /// The template encodings by instruction bits: open addressing with linear probing (a lookup per
    /// instruction encoded: the general dictionary's comparer calls and entry copies cost more than
    /// the hashing). Never removes one entry, only clears all.
    /// </summary>
    private sealed class KnownTable
    {
        private InstructionBits[] _keys = new InstructionBits[256];
        private Known[] _values = new Known[256];
        private bool[] _used = new bool[256];
        private int _shift = 64 - 8;   // index: the hash's top log2(length) bits

        public int Count { get; private set; }

        public bool TryGetValue(in InstructionBits key, out Known value)
        {
            var mask = _keys.Length - 1;
            for (var i = (int)(key.Hash() >> _shift); _used[i]; i = (i + 1) & mask)
                if (_keys[i].Equals(key))
                {
                    value = _values[i];
                    return true;
                }
            value = default;
            return false;
        }

        public void Add(in InstructionBits key, Known value)
        {
            if (2 * (Count + 1) > _keys.Length) Resize(2 * _keys.Length);
            var mask = _keys.Length - 1;
            var i = (int)(key.Hash() >> _shift);
            while (_used[i]) i = (i + 1) & mask;
            _used[i] = true;
            _keys[i] = key;
            _values[i] = value;
            Count++;
        }

        public void Clear()
        {
            Count = 0;
            if (_keys.Length <= 4 * KnownLimit)
            {
                Array.Clear(_used);
                return;
            }
            // A huge function's table is not kept.
            _keys = new InstructionBits[256];
            _values = new Known[256];
            _used = new bool[256];
            _shift = 64 - 8;
        }

        private void Resize(int size)
        {
            var (keys, values, used) = (_keys, _values, _used);
            _keys = new InstructionBits[size];
            _values = new Known[size];
            _used = new bool[size];
            _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
            Count = 0;
            for (var i = 0; i < keys.Length; i++)
                if (used[i]) Add(keys[i], values[i]);
        }
    }

    /// <summary>One relaxation step of instruction <paramref name="i"/> (not final); false for a far form.</summary>
    /// <param name="at">The instruction's address in this pass.</param>
    /// <param name="target">Its target's address (in the block: behind it, as this pass placed it; ahead, as the last pass did).</param>
    private bool Relax(int i, ulong at, ulong target, ulong gained)
    {
        var inBlock = _target[i] >= 0;
        switch (_kind[i])
        {
            case Kind.Jcc:
            case Kind.Jmp:
            {
                var distance = Corrected(inBlock, (long)(target - (at + _shortSize[i])), gained);
                if (distance is >= sbyte.MinValue and <= sbyte.MaxValue)
                {
                    _short[i] = true;
                    _size[i] = _shortSize[i];
                    _done[i] = true;
                    return true;
                }
                if (!inBlock)
                {
                    distance = Corrected(inBlock, (long)(target - (at + _nearSize[i])), gained);
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
                    var distance = Corrected(inBlock, (long)(target - (at + _nearSize[i])), gained);
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
                    var distance = Corrected(inBlock, (long)(target - (at + _shortSize[i])), gained);
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

    /// <summary>How many of the first <paramref name="openCount"/> open branches come before instruction <paramref name="index"/>.</summary>
    private int OpenBefore(int index, int openCount)
    {
        int low = 0, high = openCount;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_openAt[middle] < index) low = middle + 1;
            else high = middle;
        }
        return low;
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
        if (_kind.Length >= count && _kind.Length <= Math.Max(KeepLimit, 2 * count)) return;
        var size = _kind.Length >= count ? Math.Max(count, 256) : Math.Max(count, _kind.Length * 2);   // (smaller again after a huge function)
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
        _nearStart = new int[size];
        _nearConstants = new ConstantOffsets[size];
        _before = new int[size];
        _branches = new int[size];
        _offsets = new uint[size];
        _constants = new ConstantOffsets[size];
        _openAt = new int[size];
        _openRank = new int[size];
        _openCut = new ulong[size];
        _openShrunk = new ulong[size + 1];
        _shrunk = new ulong[size + 1];
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

        /// <summary>Appends <paramref name="length"/> (at most 16) bytes of <paramref name="source"/> from <paramref name="start"/> (one instruction's): copied as 16 where both arrays have the room.</summary>
        public void AppendShort(byte[] source, int start, int length)
        {
            if (Count + 16 > Bytes.Length) Array.Resize(ref Bytes, Math.Max(Bytes.Length * 2, Count + 16));
            if ((uint)length <= 16 && (uint)start + 16 <= (uint)source.Length)
                Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(source), (nuint)start)
                    .StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(Bytes), (nuint)Count);   // (bytes past the instruction's are written over next)
            else source.AsSpan(start, length).CopyTo(Bytes.AsSpan(Count));
            Count += length;
        }
    }
}
