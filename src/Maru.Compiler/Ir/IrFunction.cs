using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Ir;

/// <summary>A function: parameters arrive in the first virtual registers; the first block is the entry.</summary>
public sealed class IrFunction(string name, int parameterCount, SourceLocation location)
{
    public string Name { get; } = name;
    public int ParameterCount { get; } = parameterCount;
    public SourceLocation Location { get; } = location;
    public List<BasicBlock> Blocks { get; } = new();
    public int RegisterCount { get; private set; } = parameterCount;

    public VReg Parameter(int index) => new(index);

    public VReg NewRegister() => new(RegisterCount++);

    public BasicBlock NewBlock()
    {
        var block = new BasicBlock(Blocks.Count);
        Blocks.Add(block);
        return block;
    }
}
