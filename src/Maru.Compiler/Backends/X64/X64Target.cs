using Iced.Intel;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// The x86-64 register file for the allocator (registers numbered by their hardware encoding,
/// rax = 0 ... r15 = 15) and the fixed-register facts of the instructions the O1 emitter selects.
/// rsp is never allocated, rbp only where the function needs no frame pointer
/// (<see cref="RegistersWithRbp"/>, chosen by the emitter); r10 and r11 are the emitter's scratch
/// registers (spilled operands, immediates too wide for imm32, parallel-move cycles, the callee of
/// an indirect call) and never hold a value between instructions.
/// </summary>
internal sealed class X64Target : IRegisterConstraints
{
    public const int Rax = 0, Rcx = 1, Rdx = 2, Rbx = 3, Rsp = 4, Rbp = 5, Rsi = 6, Rdi = 7;
    public const int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    /// <summary>Scratch registers of the emitter.</summary>
    public const int Scratch = R11, Scratch2 = R10;

    /// <summary>Offset from rbp of the first stack argument: saved rbp, then the return address.</summary>
    public const int FirstStackArgumentOffset = 16;

    public static readonly X64Target Instance = new();

    // The fixed registers the allocator asks about for every instruction (constants: no array per question).
    private const ulong RaxRdx = 1UL << Rax | 1UL << Rdx, RcxOnly = 1UL << Rcx;

    public static CallingConvention Convention => CallingConvention.SystemVX64;

    // Preference order: caller-saved first (no save/restore), argument registers last among them.
    public RegisterFile Registers { get; } = File(Rax, Rcx, Rdx, Rsi, Rdi, R8, R9, Rbx, R12, R13, R14, R15);

    /// <summary>The file of a function without a frame pointer: rbp last (callee-saved, so used only when the others are taken).</summary>
    public RegisterFile RegistersWithRbp { get; } = File(Rax, Rcx, Rdx, Rsi, Rdi, R8, R9, Rbx, R12, R13, R14, R15, Rbp);

    private static RegisterFile File(params int[] allocatable) => new()
    {
        Count = 16,
        Allocatable = allocatable,
        CallerSaved = Convention.CallerSaved,
        CalleeSaved = Convention.CalleeSaved,
        Arguments = Convention.ArgumentRegisters,
        Return = Convention.ReturnRegister,
        Names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"],
    };

    public static Register Register64(int register) => Register.RAX + register;
    public static Register Register32(int register) => Register.EAX + register;

    /// <summary>The byte register of the same number (with a REX prefix, so sil/dil rather than dh/bh).</summary>
    public static Register Register8(int register) => register switch
    {
        < 4 => Register.AL + register,
        < 8 => Register.SPL + (register - 4),
        _ => Register.R8L + (register - 8),
    };

    /// <summary>idiv needs rdx:rax unless the divisor is a constant the emitter handles without it.</summary>
    public static bool NeedsIdiv(Instruction instruction) =>
        instruction.Op is Opcode.Divide or Opcode.Remainder
        && !(instruction.Arguments[1].IsConstant && instruction.Arguments[1].Constant is 0 or 1 or -1);

    public ulong Clobbers(Instruction instruction) => instruction.Op switch
    {
        Opcode.Call or Opcode.CallImport or Opcode.CallIndirect => Registers.CallerSaved,
        Opcode.Divide or Opcode.Remainder when NeedsIdiv(instruction) => RaxRdx,
        Opcode.MultiplyHigh => RaxRdx,
        Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical when !instruction.Arguments[1].IsConstant => RcxOnly,
        _ => 0,
    };

    public int OperandHint(Instruction instruction, int index)
    {
        switch (instruction.Op)
        {
            case Opcode.Call or Opcode.CallImport:
                return index < Registers.Arguments.Length ? Registers.Arguments[index] : -1;
            case Opcode.CallIndirect:
                return index >= 1 && index - 1 < Registers.Arguments.Length ? Registers.Arguments[index - 1] : -1;
            case Opcode.Divide or Opcode.Remainder when NeedsIdiv(instruction):
                return index == 0 ? Rax : -1;
            case Opcode.MultiplyHigh:
                return index == 0 ? Rax : -1;
            case Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical:
                return index == 1 ? Rcx : -1;
            default:
                return -1;
        }
    }

    /// <summary>
    /// x86's two-address forms: d = d op s (the emitter swaps the operands of commutative
    /// operations when the destination already holds the second one). Not where a three-address
    /// form exists: lea for additions, subtractions of a constant and shifts left by 1-3, imul r, r/m, imm32.
    /// </summary>
    public bool IsTied(Instruction instruction, int index)
    {
        var args = instruction.Arguments;
        static bool Imm32(Operand o) => o.IsConstant && o.Constant is > int.MinValue and <= int.MaxValue;
        return instruction.Op switch
        {
            Opcode.And or Opcode.Or or Opcode.Xor => index <= 1,
            Opcode.Multiply => index <= 1 && !Imm32(args[1 - index]),
            Opcode.Subtract => index == 0 && !Imm32(args[1]),
            Opcode.ShiftLeft => index == 0 && !(args[1].IsConstant && (args[1].Constant & 63) is >= 1 and <= 3),   // lea [a*2..8]
            Opcode.ShiftRight or Opcode.ShiftRightLogical or Opcode.Negate => index == 0,
            _ => false,
        };
    }

    /// <summary>A variable shift computes in a register other than rcx, which holds the count.</summary>
    public ulong DestinationExcludes(Instruction instruction) =>
        instruction.Op is Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical && !instruction.Arguments[1].IsConstant ? RcxOnly : 0;

    public int DestinationHint(Instruction instruction) => instruction.Op switch
    {
        Opcode.Call or Opcode.CallImport or Opcode.CallIndirect => Rax,
        Opcode.Divide when NeedsIdiv(instruction) => Rax,
        Opcode.Remainder when NeedsIdiv(instruction) => Rdx,
        Opcode.MultiplyHigh => Rdx,
        _ => -1,
    };
}
