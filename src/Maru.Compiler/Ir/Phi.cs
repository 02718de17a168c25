namespace Maru.Compiler.Ir;

/// <summary>One incoming value of a <see cref="Phi"/>: the value when control arrives from <see cref="Predecessor"/>.</summary>
public readonly record struct PhiInput(BasicBlock Predecessor, Operand Value);

/// <summary>
/// <c>dest = phi [pred: value]...</c> at the top of a block, one input per predecessor. Phis exist
/// only between SSA construction and SSA destruction inside the optimiser: the backend never sees
/// one (the verifier of the final IR insists on it).
/// </summary>
public sealed class Phi(VReg destination)
{
    public VReg Destination { get; } = destination;
    public List<PhiInput> Inputs { get; } = new();

    public Operand? ValueFrom(BasicBlock predecessor)
    {
        foreach (var input in Inputs)
            if (input.Predecessor == predecessor) return input.Value;
        return null;
    }

    public void ReplacePredecessor(BasicBlock from, BasicBlock to)
    {
        for (var i = 0; i < Inputs.Count; i++)
            if (Inputs[i].Predecessor == from) Inputs[i] = Inputs[i] with { Predecessor = to };
    }

    /// <summary>Drops the inputs from <paramref name="predecessor"/> (in place: control-flow passes call this per edge they drop).</summary>
    public void RemovePredecessor(BasicBlock predecessor) => ListCompaction.RemoveWhere(Inputs, new From(predecessor));

    private readonly struct From(BasicBlock predecessor) : IDropTest<PhiInput>
    {
        public bool Drop(PhiInput input) => input.Predecessor == predecessor;
    }

    public override string ToString() =>
        $"{Destination} = phi " + string.Join(", ", Inputs.Select(input => $"{input.Predecessor.Name} {input.Value}"));
}
