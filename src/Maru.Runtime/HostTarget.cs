using System.Runtime.InteropServices;
using Maru.Compiler.Targets;

namespace Maru.Runtime;

/// <summary>
/// The target this process can load: the OS and the process's own architecture (not the
/// machine's: an x64 process under emulation on an arm64 machine loads x64 code), looked up
/// among the targets the compiler knows. Null when the process runs somewhere Maru has no name for.
/// </summary>
internal static class HostTarget
{
    public static TargetPlatform? Current { get; } = Find();

    // A switch, not a search by RID string: this runs in the first compilation of a process.
    private static TargetPlatform? Find() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 when OperatingSystem.IsLinux() => TargetPlatform.LinuxX64,
        Architecture.Arm64 when OperatingSystem.IsLinux() => TargetPlatform.LinuxArm64,
        Architecture.X64 when OperatingSystem.IsMacOS() => TargetPlatform.OsxX64,
        Architecture.Arm64 when OperatingSystem.IsMacOS() => TargetPlatform.OsxArm64,
        _ => null,
    };

    /// <summary>The RID we would have looked for, for error messages.</summary>
    public static string Description => $"{RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})";
}
