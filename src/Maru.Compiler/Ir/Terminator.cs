namespace Maru.Compiler.Ir;

/// <summary>How a basic block ends: exactly one of these per block.</summary>
public abstract record Terminator;

public sealed record Jump(BasicBlock Target) : Terminator
{
    public override string ToString() => $"jmp {Target.Name}";
}

/// <summary>Go to <see cref="IfTrue"/> when the condition is non-zero, else to <see cref="IfFalse"/>.</summary>
public sealed record Branch(Operand Condition, BasicBlock IfTrue, BasicBlock IfFalse) : Terminator
{
    public override string ToString() => $"br {Condition}, {IfTrue.Name}, {IfFalse.Name}";
}

public sealed record Return(Operand Value) : Terminator
{
    public override string ToString() => $"ret {Value}";
}

/// <summary>
/// A jump table: an <see cref="Index"/> in [0, Targets.Count) (compared unsigned) goes to
/// <c>Targets[Index]</c>, every other value to <see cref="Default"/>, so the terminator is total.
/// Made only by <c>SwitchLowering</c> after SSA destruction: it never meets a phi, and
/// <c>Inlining</c> copies it back into a chain of range tests (the caller lowers it again).
/// </summary>
public sealed record Switch : Terminator
{
    public Switch(Operand index, IReadOnlyList<BasicBlock> targets, BasicBlock @default)
    {
        if (targets.Count == 0) throw new ArgumentException("a jump table has at least one entry", nameof(targets));
        Index = index;
        Targets = targets;
        Default = @default;
        var distinct = new List<BasicBlock> { @default };
        foreach (var target in targets)
            if (!distinct.Contains(target)) distinct.Add(target);
        Successors = [.. distinct];
    }

    public Operand Index { get; init; }

    public IReadOnlyList<BasicBlock> Targets { get; }

    public BasicBlock Default { get; }

    /// <summary>Each successor once: the default first, then the targets in table order.</summary>
    public BasicBlock[] Successors { get; }

    /// <summary>The same table with every block replaced by <paramref name="map"/> of it.</summary>
    public Switch Map(Func<BasicBlock, BasicBlock> map)
    {
        var targets = new BasicBlock[Targets.Count];
        for (var i = 0; i < targets.Length; i++) targets[i] = map(Targets[i]);
        return new Switch(Index, targets, map(Default));
    }

    public override string ToString() => $"switch {Index}, [{string.Join(", ", Targets.Select(t => t.Name))}], {Default.Name}";
}
