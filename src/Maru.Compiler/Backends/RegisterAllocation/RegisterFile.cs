using System.Numerics;

namespace Maru.Compiler.Backends.RegisterAllocation;

/// <summary>
/// The facts about a target's integer register file that allocation needs. Registers are small
/// numbers the target chooses (x86-64 uses the hardware encoding: rax = 0 ... r15 = 15); nothing in
/// this folder names an ISA register. Registers absent from <see cref="Allocatable"/> (stack and
/// frame pointers, the emitter's scratch registers) never hold a value across instructions.
/// </summary>
public sealed class RegisterFile
{
    /// <summary>Register numbers are below this.</summary>
    public required int Count { get; init; }

    /// <summary>The registers values may live in, in order of preference when nothing else decides.</summary>
    public required int[] Allocatable { get; init; }

    /// <summary>Registers a call may destroy (bit per register).</summary>
    public required ulong CallerSaved { get; init; }

    /// <summary>Registers a function must restore before returning if it writes them.</summary>
    public required ulong CalleeSaved { get; init; }

    /// <summary>Where integer arguments arrive, in order; further arguments are on the stack.</summary>
    public required int[] Arguments { get; init; }

    /// <summary>Where a function's result is returned.</summary>
    public required int Return { get; init; }

    /// <summary>Register names for dumps and listings.</summary>
    public required string[] Names { get; init; }

    public ulong AllocatableMask
    {
        get
        {
            ulong mask = 0;
            foreach (var register in Allocatable) mask |= 1UL << register;
            return mask;
        }
    }

    public static int CountOf(ulong mask) => BitOperations.PopCount(mask);
}

/// <summary>
/// The target's instruction-selection facts the allocator must respect: which registers an
/// instruction destroys (values live across it must avoid them), and where operands and results
/// would rather be (so the emitter's fixed-register moves become no-ops).
/// </summary>
public interface IRegisterConstraints
{
    RegisterFile Registers { get; }

    /// <summary>Registers destroyed while the instruction runs, besides its destination (a call: the caller-saved set).</summary>
    ulong Clobbers(Ir.Instruction instruction);

    /// <summary>The register operand <paramref name="index"/> is moved to by the emitter, or -1.</summary>
    int OperandHint(Ir.Instruction instruction, int index);

    /// <summary>The register the result is produced in by the emitter, or -1.</summary>
    int DestinationHint(Ir.Instruction instruction);

    /// <summary>
    /// The emitter computes the result in the place of operand <paramref name="index"/> (a
    /// two-address instruction such as x86's <c>add d, s</c>): when the operand dies there, giving
    /// it the destination's register saves a copy.
    /// </summary>
    bool IsTied(Ir.Instruction instruction, int index);

    /// <summary>Registers the result cannot be produced in (it would go through a scratch register and a copy).</summary>
    ulong DestinationExcludes(Ir.Instruction instruction);
}
