using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// The AArch64 register file for the allocator (x0 = 0 ... x30 = 30; 31 is sp or xzr) under
/// AAPCS64. Never allocated: x16/x17 (the emitter's scratch registers, IP0/IP1), x18 (the
/// platform register: never touched), x29 (frame pointer), x30 (link register), sp. Every
/// instruction the emitter selects is three-address, so only calls have fixed registers.
/// </summary>
internal sealed class Arm64Target : IRegisterConstraints
{
    public const int Scratch = 16, Scratch2 = 17, FramePointer = 29, LinkRegister = 30;

    public static readonly Arm64Target Instance = new();

    public static CallingConvention Convention => CallingConvention.Aapcs64;

    public RegisterFile Registers { get; } = new()
    {
        Count = 32,
        // Caller-saved first (x9-x15 are neither arguments nor results), then the argument registers, then callee-saved.
        Allocatable = [9, 10, 11, 12, 13, 14, 15, 8, 7, 6, 5, 4, 3, 2, 1, 0, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28],
        CallerSaved = Convention.CallerSaved,
        CalleeSaved = Convention.CalleeSaved,
        Arguments = Convention.ArgumentRegisters,
        Return = Convention.ReturnRegister,
        Names = [.. Enumerable.Range(0, 31).Select(r => r == 29 ? "fp" : r == 30 ? "lr" : $"x{r}"), "sp"],
    };

    public ulong Clobbers(Instruction instruction) => instruction.Op.IsCall() ? Registers.CallerSaved : 0;

    public int OperandHint(Instruction instruction, int index) => instruction.Op switch
    {
        Opcode.Call or Opcode.CallImport => index < Registers.Arguments.Length ? Registers.Arguments[index] : -1,
        Opcode.CallIndirect => index >= 1 && index - 1 < Registers.Arguments.Length ? Registers.Arguments[index - 1] : -1,
        _ => -1,
    };

    public int DestinationHint(Instruction instruction) => instruction.Op.IsCall() ? Registers.Return : -1;

    public bool IsTied(Instruction instruction, int index) => false;

    public ulong DestinationExcludes(Instruction instruction) => 0;
}
