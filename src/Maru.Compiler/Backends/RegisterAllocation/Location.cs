namespace Maru.Compiler.Backends.RegisterAllocation;

public enum LocationKind : byte { None, Register, Slot }

/// <summary>Where a virtual register lives for its whole life: a physical register, a spill slot of the frame, or nowhere (never live).</summary>
public readonly record struct Location(LocationKind Kind, int Index)
{
    public static readonly Location None = default;

    public static Location InRegister(int register) => new(LocationKind.Register, register);

    public static Location InSlot(int slot) => new(LocationKind.Slot, slot);

    public bool IsRegister => Kind == LocationKind.Register;
    public bool IsSlot => Kind == LocationKind.Slot;

    public override string ToString() => Kind switch
    {
        LocationKind.Register => $"r{Index}",
        LocationKind.Slot => $"slot{Index}",
        _ => "-",
    };
}
