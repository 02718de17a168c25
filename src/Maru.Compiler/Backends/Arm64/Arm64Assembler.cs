using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>A place in the code an <see cref="Arm64Assembler"/> branches to; bound once.</summary>
public sealed class Arm64Label
{
    internal Arm64Label(int id) => Id = id;

    internal int Id { get; }

    /// <summary>The item index the label is bound before, or -1 while unbound.</summary>
    internal int Item { get; set; } = -1;
}

/// <summary>
/// One emitted instruction with its final offset in the Text section, and the index of the
/// assembler item it came from (<see cref="Arm64Assembler.Count"/> when it was emitted; a relaxed
/// branch is several instructions of one item), for the listing.
/// </summary>
public readonly record struct Arm64PlacedInstruction(int Offset, Arm64Instruction Instruction, int Item = -1);

/// <summary>What <see cref="Arm64Assembler.Assemble"/> produced: every instruction at its offset, and where each label landed.</summary>
public sealed class Arm64Assembly(IReadOnlyList<Arm64PlacedInstruction> instructions, IReadOnlyDictionary<int, int> labelOffsets)
{
    public IReadOnlyList<Arm64PlacedInstruction> Instructions { get; } = instructions;

    /// <summary>The Text offset of a bound label.</summary>
    public int OffsetOf(Arm64Label label) => labelOffsets[label.Id];
}

/// <summary>
/// Collects instructions, labels and references to data for one block of code (a whole
/// module's functions, so calls between them are direct bl), then lays it out into an
/// <see cref="ObjectModule"/>'s Text. Branches to labels are relaxed: a b.cond, cbz/cbnz or
/// tbz/tbnz whose label is beyond its reach becomes the inverted branch over a b, and a b or bl
/// beyond +-128 MiB becomes adrp/add/br (or blr) through x16, the intra-procedure-call scratch
/// register AAPCS64 reserves for exactly this. References to data and GOT slots become
/// relocations for the shared <see cref="RelocationPatcher"/>. Operands are still checked by the
/// encoder: an instruction that cannot be encoded throws <see cref="Arm64EncodingException"/>.
/// </summary>
public sealed class Arm64Assembler
{
    private enum BranchKind { None, Jump, Call, Conditional, CompareZero, TestBit }

    /// <summary>One instruction, or one branch to a label whose form depends on the distance.</summary>
    private sealed class Item
    {
        public Arm64Instruction? Instruction;
        public (RelocationKind Kind, SectionKind Section, long Offset, long Addend)? Reference;
        /// <summary>A reference to a label's address in this block's Text (adrp/add of a function's entry).</summary>
        public (RelocationKind Kind, Arm64Label Label)? LabelReference;
        public BranchKind Branch;
        public Arm64Label? Target;
        public Condition Condition;
        public Register Register;
        public int Bit;
        public bool NonZero;
        /// <summary>0: the plain branch; 1: inverted branch over b; 2: over (or instead of b/bl) adrp/add/br.</summary>
        public int Level;

        public int Size => Branch switch
        {
            BranchKind.None => 4,
            BranchKind.Jump or BranchKind.Call => Level == 0 ? 4 : 12,
            _ => Level switch { 0 => 4, 1 => 8, _ => 16 },
        };
    }

    private static readonly Register Scratch = Register.X(16);

    private readonly List<Item> _items = [];
    private readonly List<Arm64Label> _labels = [];

    /// <summary>
    /// Tests only: a branch or call whose distance reaches this many bytes takes its longer form,
    /// as if its field were that small, so the far forms run without megabytes of code (0 makes
    /// every branch the adrp/add/br form). Null: each instruction's real reach.
    /// </summary>
    internal long? ReachLimit { get; init; }

    public Arm64Label CreateLabel()
    {
        var label = new Arm64Label(_labels.Count);
        _labels.Add(label);
        return label;
    }

    /// <summary>Binds the label to the next instruction emitted.</summary>
    public void Bind(Arm64Label label)
    {
        ArgumentNullException.ThrowIfNull(label);
        if (label.Item >= 0) throw new InvalidOperationException("label bound twice");
        label.Item = _items.Count;
    }

    /// <summary>The number of instructions and branches emitted so far (before relaxation).</summary>
    public int Count => _items.Count;

    public void Emit(Arm64Instruction instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        Arm64Encoder.Encode(instruction); // reject bad operands where they are emitted
        _items.Add(new Item { Instruction = instruction });
    }

    public void Emit(IEnumerable<Arm64Instruction> instructions)
    {
        foreach (var instruction in instructions) Emit(instruction);
    }

    /// <summary>b label.</summary>
    public void Branch(Arm64Label target) => _items.Add(new Item { Branch = BranchKind.Jump, Target = target });

    /// <summary>bl label: a call to a function of this block.</summary>
    public void Call(Arm64Label target) => _items.Add(new Item { Branch = BranchKind.Call, Target = target });

    /// <summary>b.cond label.</summary>
    public void BranchIf(Condition condition, Arm64Label target)
    {
        if (condition is Condition.Al or Condition.Nv)
        {
            Branch(target);
            return;
        }
        _items.Add(new Item { Branch = BranchKind.Conditional, Condition = condition, Target = target });
    }

    /// <summary>cbz (or cbnz when <paramref name="nonZero"/>) label.</summary>
    public void CompareBranch(bool nonZero, Register register, Arm64Label target) =>
        _items.Add(new Item { Branch = BranchKind.CompareZero, NonZero = nonZero, Register = register, Target = target });

    /// <summary>tbz (or tbnz when <paramref name="nonZero"/>) label.</summary>
    public void TestBranch(bool nonZero, Register register, int bit, Arm64Label target)
    {
        Arm64Encoder.Encode(new TestBranchInstruction(nonZero, register, bit, 0)); // check the bit number now
        _items.Add(new Item { Branch = BranchKind.TestBit, NonZero = nonZero, Register = register, Bit = bit, Target = target });
    }

    /// <summary>
    /// An instruction whose immediate field refers to <paramref name="section"/> + <paramref name="offset"/>:
    /// emitted with a zero field, patched at link time by the relocation of <paramref name="kind"/>.
    /// </summary>
    public void EmitReference(Arm64Instruction instruction, RelocationKind kind, SectionKind section, long offset, long addend = 0)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        if (!RelocationPatcher.IsArm64Instruction(kind))
            throw new ArgumentException($"{kind} does not patch an AArch64 instruction", nameof(kind));
        Arm64Encoder.Encode(instruction);
        _items.Add(new Item { Instruction = instruction, Reference = (kind, section, offset, addend) });
    }

    /// <summary>rd = the address of section + offset (adrp + add; reaches +-4 GiB).</summary>
    public void AddressOf(Register rd, SectionKind section, long offset)
    {
        EmitReference(new AddressInstruction(true, rd, 0), RelocationKind.Arm64Page21, section, offset);
        EmitReference(new AddSubImmediateInstruction(false, rd, rd, AddSubImmediate.Create(0, false)), RelocationKind.Arm64AddLo12, section, offset);
    }

    /// <summary>rd = the address of a label of this block (adrp + add: a function's entry, for a function pointer).</summary>
    public void AddressOf(Register rd, Arm64Label label)
    {
        ArgumentNullException.ThrowIfNull(label);
        _items.Add(new Item { Instruction = new AddressInstruction(true, rd, 0), LabelReference = (RelocationKind.Arm64Page21, label) });
        _items.Add(new Item { Instruction = new AddSubImmediateInstruction(false, rd, rd, AddSubImmediate.Create(0, false)), LabelReference = (RelocationKind.Arm64AddLo12, label) });
    }

    /// <summary>
    /// A load of <paramref name="size"/> bytes from section + offset (adrp into the x view of
    /// <paramref name="rt"/>, then the load with the low 12 bits): offset must be a multiple of the size.
    /// </summary>
    public void Load(MemoryOperation operation, int size, Register rt, SectionKind section, long offset)
    {
        if (operation == MemoryOperation.Store) throw new ArgumentException("use Store for stores", nameof(operation));
        var @base = rt.As64;
        EmitReference(new AddressInstruction(true, @base, 0), RelocationKind.Arm64Page21, section, offset);
        EmitReference(new LoadStoreInstruction(operation, size, rt, @base, 0), LowKind(size), section, offset);
    }

    /// <summary>A store of <paramref name="size"/> bytes of rt to section + offset, through <paramref name="scratch"/> for the page address.</summary>
    public void Store(int size, Register rt, SectionKind section, long offset, Register scratch)
    {
        EmitReference(new AddressInstruction(true, scratch.As64, 0), RelocationKind.Arm64Page21, section, offset);
        EmitReference(new LoadStoreInstruction(MemoryOperation.Store, size, rt, scratch.As64, 0), LowKind(size), section, offset);
    }

    /// <summary>A call through GOT slot <paramref name="slot"/> of the module's imports: adrp/ldr into x16, blr x16.</summary>
    public void CallImport(int slot)
    {
        Load(MemoryOperation.Load, 8, Scratch, SectionKind.Got, (long)slot * ObjectModule.GotSlotSize);
        Emit(new BranchRegisterInstruction(BranchRegisterOperation.Blr, Scratch));
    }

    private static RelocationKind LowKind(int size) => size switch
    {
        1 => RelocationKind.Arm64LoadStore8Lo12,
        2 => RelocationKind.Arm64LoadStore16Lo12,
        4 => RelocationKind.Arm64LoadStore32Lo12,
        8 => RelocationKind.Arm64LoadStore64Lo12,
        _ => throw new Arm64EncodingException($"no single load or store of {size} bytes"),
    };

    /// <summary>
    /// Lays the block out at the end of <paramref name="module"/>'s Text (which must hold whole
    /// instructions), relaxing branches until every one reaches its label, and records the
    /// relocations of data references.
    /// </summary>
    public Arm64Assembly Assemble(ObjectModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        // A label may be made and never used (a block the code generator threaded away); one that is used must be bound.
        foreach (var item in _items)
            if ((item.Target ?? item.LabelReference?.Label) is { Item: < 0 } unbound)
                throw new InvalidOperationException($"label {unbound.Id} is used but never bound");
        var start = module.Text.Count;
        if (start % 4 != 0) throw new InvalidOperationException("Text does not end on an instruction boundary");

        // Relax: sizes only grow, so this reaches a fixed point.
        int[] offsets;
        while (true)
        {
            offsets = Offsets();
            var changed = false;
            foreach (var (item, index) in _items.Select((item, index) => (item, index)))
            {
                if (item.Branch == BranchKind.None || item.Level == 2) continue;
                var distance = (long)offsets[item.Target!.Item] - offsets[index];
                var reach = item.Level == 1 ? 1L << 27 : item.Branch switch
                {
                    BranchKind.Jump or BranchKind.Call => 1L << 27,
                    BranchKind.TestBit => 1L << 15,
                    _ => 1L << 20,
                };
                if (ReachLimit is { } limit) reach = Math.Min(reach, limit);
                // At level 1 the b sits 4 bytes after the branch: measure from there.
                if (item.Level == 1) distance -= 4;
                if (distance >= -reach && distance < reach) continue;
                item.Level = item.Branch is BranchKind.Jump or BranchKind.Call || item.Level == 1 ? 2 : 1;
                changed = true;
            }
            if (!changed) break;
        }

        var placed = new List<Arm64PlacedInstruction>(_items.Count);
        var itemIndex = -1;
        void Put(int offset, Arm64Instruction instruction)
        {
            Arm64Encoder.Encode(instruction, module.Text);
            placed.Add(new Arm64PlacedInstruction(start + offset, instruction, itemIndex));
        }
        void Reference(int offset, RelocationKind kind, SectionKind section, long target, long addend) =>
            module.Relocations.Add(new Relocation(SectionKind.Text, start + offset, kind, section, target, addend));

        for (var index = 0; index < _items.Count; index++)
        {
            itemIndex = index;
            var current = _items[index];
            var at = offsets[index];
            if (current.Branch == BranchKind.None)
            {
                if (current.Reference is { } r) Reference(at, r.Kind, r.Section, r.Offset, r.Addend);
                if (current.LabelReference is { } l) Reference(at, l.Kind, SectionKind.Text, start + offsets[l.Label.Item], 0);
                Put(at, current.Instruction!);
                continue;
            }
            var label = offsets[current.Target!.Item];
            if (current.Level == 0)
            {
                var offset = (long)label - at;
                Put(at, current.Branch switch
                {
                    BranchKind.Jump => new BranchInstruction(false, offset),
                    BranchKind.Call => new BranchInstruction(true, offset),
                    BranchKind.Conditional => new ConditionalBranchInstruction(current.Condition, offset),
                    BranchKind.CompareZero => new CompareBranchInstruction(current.NonZero, current.Register, offset),
                    _ => new TestBranchInstruction(current.NonZero, current.Register, current.Bit, offset),
                });
                continue;
            }
            var cursor = at;
            if (current.Branch is not (BranchKind.Jump or BranchKind.Call))
            {
                // The inverted test skips the far jump that follows it.
                var skip = current.Level == 1 ? 8 : 16;
                Put(cursor, current.Branch switch
                {
                    BranchKind.Conditional => new ConditionalBranchInstruction(current.Condition.Invert(), skip),
                    BranchKind.CompareZero => new CompareBranchInstruction(!current.NonZero, current.Register, skip),
                    _ => new TestBranchInstruction(!current.NonZero, current.Register, current.Bit, skip),
                });
                cursor += 4;
            }
            if (current.Level == 1)
            {
                Put(cursor, new BranchInstruction(false, (long)label - cursor));
                continue;
            }
            // Beyond b's reach: the label's address through x16 (the patcher checks +-4 GiB).
            Reference(cursor, RelocationKind.Arm64Page21, SectionKind.Text, start + label, 0);
            Put(cursor, new AddressInstruction(true, Scratch, 0));
            Reference(cursor + 4, RelocationKind.Arm64AddLo12, SectionKind.Text, start + label, 0);
            Put(cursor + 4, new AddSubImmediateInstruction(false, Scratch, Scratch, AddSubImmediate.Create(0, false)));
            Put(cursor + 8, new BranchRegisterInstruction(current.Branch == BranchKind.Call ? BranchRegisterOperation.Blr : BranchRegisterOperation.Br, Scratch));
        }

        var labelOffsets = _labels.Where(l => l.Item >= 0).ToDictionary(l => l.Id, l => start + offsets[l.Item]);
        return new Arm64Assembly(placed, labelOffsets);
    }

    /// <summary>The offset of every item at the current relaxation, plus the end (index Count, where a label may be bound).</summary>
    private int[] Offsets()
    {
        var offsets = new int[_items.Count + 1];
        var offset = 0;
        for (var i = 0; i < _items.Count; i++)
        {
            offsets[i] = offset;
            offset = checked(offset + _items[i].Size);
        }
        offsets[_items.Count] = offset;
        return offsets;
    }
}
