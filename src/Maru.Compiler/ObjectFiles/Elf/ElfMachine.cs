using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// The facts of one architecture that the ELF writer depends on. Everything else in the writer
/// is architecture-neutral, so adding an architecture is adding a row here.
/// </summary>
/// <param name="Machine">e_machine.</param>
/// <param name="PageSize">
/// The largest page size the loader may run with; used as p_align and as the distance that
/// keeps segments of different permissions on different pages.
/// </param>
/// <param name="RelativeRelocation">Type of "base + addend" (a pointer into the library itself).</param>
/// <param name="GlobDatRelocation">Type of a GOT slot bound to a symbol (an import).</param>
/// <param name="Absolute64Relocation">Type of "symbol + addend" stored in data (an import's address in data; not used yet).</param>
internal sealed record ElfMachine(
    ushort Machine,
    ulong PageSize,
    uint RelativeRelocation,
    uint GlobDatRelocation,
    uint Absolute64Relocation)
{
    /// <summary>x86-64: EM_X86_64, 4 KiB pages, R_X86_64_RELATIVE / GLOB_DAT / 64.</summary>
    public static readonly ElfMachine X64 = new(62, 0x1000, 8, 6, 1);

    /// <summary>
    /// AArch64: EM_AARCH64; 64 KiB alignment because kernels with 64 KiB pages exist;
    /// R_AARCH64_RELATIVE / GLOB_DAT / ABS64.
    /// </summary>
    public static readonly ElfMachine Arm64 = new(183, 0x10000, 1027, 1025, 257);

    /// <summary>The row of an architecture, or null when the writer does not know it.</summary>
    public static ElfMachine? Find(TargetArchitecture architecture) => architecture switch
    {
        TargetArchitecture.X64 => X64,
        TargetArchitecture.Arm64 => Arm64,
        _ => null,
    };

    public static ElfMachine For(TargetArchitecture architecture) =>
        Find(architecture) ?? throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "no ELF machine for this architecture");
}
