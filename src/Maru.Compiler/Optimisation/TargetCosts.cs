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

    /// <summary>
    /// A branch on a register's truth costs what a branch on a comparison costs (x86-64: test + jcc
    /// against cmp + jcc). Then a loop-invariant comparison read only by its own block's branch stays
    /// in the loop (<see cref="LoopInvariantCodeMotion"/>): hoisted, it would cost a setcc and a
    /// zero-extension before the loop and save nothing in it. AArch64 tests a register with one
    /// cbz/cbnz, so there a hoisted comparison pays once the loop turns twice.
    /// </summary>
    bool BranchOnRegisterCostsAComparison { get; }

    /// <summary>
    /// The facts about a division by a register (<see cref="Opcode.Divide"/> or <see cref="Opcode.Remainder"/>)
    /// whose absence costs this target a run-time check: x86-64 tests for a zero divisor and for
    /// -1 (idiv traps on both); AArch64's sdiv is total already, and only a remainder's msub needs
    /// its zero divisor tested. <see cref="DivisorVersioning"/> versions loops only for these.
    /// </summary>
    Ir.DivisionFacts DivisionChecks(Ir.Opcode op);
}
