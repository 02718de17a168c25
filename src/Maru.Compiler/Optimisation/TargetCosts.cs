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
}
