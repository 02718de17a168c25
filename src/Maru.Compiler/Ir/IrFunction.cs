using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>A function: parameters arrive in the first virtual registers; the first block is the entry.</summary>
public sealed class IrFunction(string name, int parameterCount, SourceLocation location)
{
    private int _nextBlockId;

    public string Name { get; } = name;
    public int ParameterCount { get; } = parameterCount;
    public SourceLocation Location { get; } = location;
    public List<BasicBlock> Blocks { get; } = new();
    public int RegisterCount { get; private set; } = parameterCount;

    public VReg Parameter(int index) => new(index);

    public VReg NewRegister() => new(RegisterCount++);

    /// <summary>Appends a new block; block ids stay unique even after blocks are removed.</summary>
    public BasicBlock NewBlock()
    {
        var block = new BasicBlock(_nextBlockId++);
        Blocks.Add(block);
        return block;
    }

    /// <summary>A new block not yet placed in <see cref="Blocks"/> (the caller inserts it where it belongs).</summary>
    public BasicBlock NewUnplacedBlock() => new(_nextBlockId++);

    /// <summary>After registers were renumbered densely: the new count (never below the parameters).</summary>
    internal void ResetRegisterCount(int count) => RegisterCount = Math.Max(count, ParameterCount);
}
