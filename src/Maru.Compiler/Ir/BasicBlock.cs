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

    public IEnumerable<BasicBlock> Successors => Terminator switch
    {
        Jump j => [j.Target],
        Branch b => [b.IfTrue, b.IfFalse],
        Switch s => s.Successors,
        _ => [],
    };
}
