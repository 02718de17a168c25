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

    private static TargetPlatform? Find()
    {
        var os = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "osx" : null;
        var architecture = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        if (os is null || architecture is null) return null;
        var rid = $"{os}-{architecture}";
        return TargetPlatform.Known.FirstOrDefault(t => t.RuntimeIdentifier == rid);
    }

    /// <summary>The RID we would have looked for, for error messages.</summary>
    public static string Description => $"{RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})";
}
