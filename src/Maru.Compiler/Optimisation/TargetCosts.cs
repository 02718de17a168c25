namespace Maru.Compiler.Optimisation;

/// <summary>
/// What the middle end asks of the target instead of assuming an ISA: cost facts that change
/// which IR is cheaper. Each backend provides its own (<see cref="Backends.CodeGeneration.IBackend.Costs"/>).
/// </summary>
public interface ITargetCosts
{
    /// <summary>
    /// An instruction can take this constant as an operand at no extra cost. Otherwise it takes
    /// one or more instructions to materialise, and LICM keeps it in a register set before a loop.
    /// </summary>
    bool IsCheapConstant(long constant);

    /// <summary>
    /// A load or store of <paramref name="size"/> bytes (8 or 1) at base + index*size + displacement
    /// is still one instruction with this byte displacement (with a register index, or a constant
    /// one already counted into <paramref name="displacement"/>); <see cref="AddressFolding"/> folds
    /// only such offsets.
    /// </summary>
    bool FoldsDisplacement(int size, bool registerIndex, long displacement);
}
