using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>The facts of one architecture that the Mach-O writer depends on; the rest of the writer is architecture-neutral.</summary>
/// <param name="CpuType">cputype (CPU_ARCH_ABI64 | family).</param>
/// <param name="CpuSubtype">cpusubtype (ALL).</param>
/// <param name="PageSize">The VM page size: segment file offsets and addresses are multiples of it.</param>
internal sealed record MachOArchitecture(uint CpuType, uint CpuSubtype, ulong PageSize)
{
    /// <summary>x86-64: CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL, 4 KiB pages.</summary>
    public static readonly MachOArchitecture X64 = new(0x01000007, 3, 0x1000);

    /// <summary>arm64: CPU_TYPE_ARM64, CPU_SUBTYPE_ARM64_ALL, 16 KiB pages (Apple silicon).</summary>
    public static readonly MachOArchitecture Arm64 = new(0x0100000c, 0, 0x4000);

    public static MachOArchitecture For(TargetArchitecture architecture) => architecture switch
    {
        TargetArchitecture.X64 => X64,
        TargetArchitecture.Arm64 => Arm64,
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "no Mach-O CPU type for this architecture"),
    };
}
