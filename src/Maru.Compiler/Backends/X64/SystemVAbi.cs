using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Maru.Compiler.Backends.X64;

/// <summary>The x86-64 System V calling convention facts the code generator needs (Linux and macOS alike).</summary>
internal static class SystemVAbi
{
    /// <summary>Integer arguments in order; the rest go on the stack, first argument lowest.</summary>
    public static readonly AssemblerRegister64[] ArgumentRegisters = [rdi, rsi, rdx, rcx, r8, r9];

    /// <summary>The stack pointer is 16-byte aligned at every call instruction.</summary>
    public const int StackAlignment = 16;

    /// <summary>Offset from rbp of the first stack argument: saved rbp, then the return address.</summary>
    public const int FirstStackArgumentOffset = 16;
}
