namespace Maru.Compiler.Ir;

/// <summary>A straight-line run of instructions entered at the top and left through its terminator.</summary>
public sealed class BasicBlock(int id)
{
    public int Id { get; } = id;
    public string Name => $"@b{Id}";
    public List<Instruction> Instructions { get; } = new();

    /// <summary>Null only while the block is being built.</summary>
    public Terminator? Terminator { get; set; }

    public IEnumerable<BasicBlock> Successors => Terminator switch
    {
        Jump j => [j.Target],
        Branch b => [b.IfTrue, b.IfFalse],
        _ => [],
    };
}
