namespace Maru.Compiler.Ir;

/// <summary>A straight-line run of instructions entered at the top and left through its terminator.</summary>
public sealed class BasicBlock(int id)
{
    public int Id { get; } = id;
    public string Name => $"@b{Id}";

    /// <summary>SSA phis (optimiser only; always empty outside it).</summary>
    public List<Phi> Phis { get; } = new();

    public List<Instruction> Instructions { get; } = new();

    /// <summary>Null only while the block is being built.</summary>
    public Terminator? Terminator { get; set; }

    /// <summary>Scratch numbering for analyses: the block's position in its function, set by the optimiser's FlowGraph.</summary>
    internal int Index { get; set; }

    /// <summary>Where the terminator goes, in order (a struct: walking them allocates nothing, the code generator does it per block).</summary>
    public SuccessorList Successors => Terminator switch
    {
        Jump j => new SuccessorList(j.Target, null),
        Branch b => new SuccessorList(b.IfTrue, b.IfFalse),
        _ => default,
    };
}

/// <summary>A block's zero, one or two successors.</summary>
public readonly struct SuccessorList(BasicBlock? first, BasicBlock? second) : IEnumerable<BasicBlock>
{
    public int Count => first is null ? 0 : second is null ? 1 : 2;

    public BasicBlock this[int index] => (uint)index < (uint)Count ? (index == 0 ? first! : second!) : throw new ArgumentOutOfRangeException(nameof(index));

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<BasicBlock> IEnumerable<BasicBlock>.GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => ((IEnumerable<BasicBlock>)this).GetEnumerator();

    public struct Enumerator(SuccessorList list)
    {
        private int _index = -1;

        public readonly BasicBlock Current => list[_index];

        public bool MoveNext() => ++_index < list.Count;
    }
}
