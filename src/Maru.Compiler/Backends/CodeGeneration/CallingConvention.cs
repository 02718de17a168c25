using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>How a call passes the arguments that match a C prototype's <c>...</c>.</summary>
public enum VariadicArguments
{
    /// <summary>Exactly like fixed arguments (System V x86-64, AAPCS64).</summary>
    LikeFixed,

    /// <summary>Every variadic argument in its own 8-byte stack slot, in order (Apple arm64).</summary>
    OnStack,
}

/// <summary>
/// One description of a calling convention for integer (64-bit) values, shared by the register
/// allocator and the code generator. Registers are the target's own numbers (the hardware
/// encoding: rax = 0 ... r15 = 15 on x86-64, x0 = 0 ... x30 = 30 on AArch64).
/// </summary>
/// <param name="ArgumentRegisters">Where integer arguments arrive, in order; the rest go on the stack, first argument lowest.</param>
/// <param name="ReturnRegister">Where the result is returned.</param>
/// <param name="CalleeSaved">Registers a function must restore if it writes them (bit per register).</param>
/// <param name="CallerSaved">Registers a call may destroy.</param>
/// <param name="StackAlignment">The stack pointer is a multiple of this at every call.</param>
/// <param name="Variadic">How variadic arguments travel.</param>
/// <param name="Reserved">Registers generated code never allocates: stack and frame pointers, link and platform registers.</param>
/// <param name="Scratch">The code generator's scratch registers: never allocated, never live between instructions.</param>
/// <param name="RedZone">Bytes below the stack pointer a leaf may use without moving it.</param>
public sealed record CallingConvention(
    string Name,
    int[] ArgumentRegisters,
    int ReturnRegister,
    ulong CalleeSaved,
    ulong CallerSaved,
    int StackAlignment,
    VariadicArguments Variadic,
    ulong Reserved,
    int[] Scratch,
    int RedZone)
{
    public static ulong Mask(params int[] registers)
    {
        ulong mask = 0;
        foreach (var r in registers) mask |= 1UL << r;
        return mask;
    }

    private static ulong Range(int first, int last)
    {
        ulong mask = 0;
        for (var r = first; r <= last; r++) mask |= 1UL << r;
        return mask;
    }

    /// <summary>System V AMD64 (Linux and macOS): rdi, rsi, rdx, rcx, r8, r9; rbx, rbp, r12-r15 preserved; rsp reserved, rbp too where it is the frame pointer; r10/r11 scratch.</summary>
    public static readonly CallingConvention SystemVX64 = new(
        "System V AMD64",
        ArgumentRegisters: [7, 6, 2, 1, 8, 9],
        ReturnRegister: 0,
        CalleeSaved: Mask(3, 5, 12, 13, 14, 15),
        CallerSaved: Mask(0, 1, 2, 6, 7, 8, 9, 10, 11),
        StackAlignment: 16,
        Variadic: VariadicArguments.LikeFixed,
        Reserved: Mask(4, 5),
        Scratch: [11, 10],
        RedZone: 128);

    /// <summary>
    /// AAPCS64 (Linux): x0-x7; x19-x28 preserved; x29 frame pointer and x30 link register in a
    /// frame record; x18 the platform register, never touched (Apple reserves it, we do so
    /// everywhere); x16/x17 (IP0/IP1) scratch; sp (31) always 16-byte aligned, no red zone.
    /// </summary>
    public static readonly CallingConvention Aapcs64 = new(
        "AAPCS64",
        ArgumentRegisters: [0, 1, 2, 3, 4, 5, 6, 7],
        ReturnRegister: 0,
        CalleeSaved: Range(19, 29),
        CallerSaved: Range(0, 17) | Mask(30),
        StackAlignment: 16,
        Variadic: VariadicArguments.LikeFixed,
        Reserved: Mask(18, 29, 30, 31),
        Scratch: [16, 17],
        RedZone: 0);

    /// <summary>Apple arm64: AAPCS64, except that every variadic argument goes on the stack in its own 8-byte slot.</summary>
    public static readonly CallingConvention AppleArm64 = Aapcs64 with { Name = "Apple arm64", Variadic = VariadicArguments.OnStack };

    public static CallingConvention For(TargetAbi abi) => abi switch
    {
        TargetAbi.SystemV => SystemVX64,
        TargetAbi.Aapcs64 => Aapcs64,
        TargetAbi.AppleArm64 => AppleArm64,
        _ => throw new ArgumentOutOfRangeException(nameof(abi), abi, "no calling convention for this ABI"),
    };
}
