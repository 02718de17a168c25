using System.Runtime.InteropServices;
using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Targets;

public enum TargetOperatingSystem { Linux, MacOS }

public enum TargetArchitecture { X64, Arm64 }

/// <summary>The calling convention generated code follows.</summary>
public enum TargetAbi { SystemV, AppleArm64, Aapcs64 }

public enum ObjectFormat { Elf, MachO }

/// <summary>
/// The one value that describes what we generate for: parsed from a .NET RuntimeIdentifier at the
/// front, read by the backend (architecture, ABI) and the writer (object format) at the back.
/// </summary>
public sealed record TargetPlatform(
    string RuntimeIdentifier,
    TargetOperatingSystem OperatingSystem,
    TargetArchitecture Architecture,
    TargetAbi Abi,
    ObjectFormat ObjectFormat)
{
    public static readonly TargetPlatform LinuxX64 = new("linux-x64", TargetOperatingSystem.Linux, TargetArchitecture.X64, TargetAbi.SystemV, ObjectFormat.Elf);
    public static readonly TargetPlatform LinuxArm64 = new("linux-arm64", TargetOperatingSystem.Linux, TargetArchitecture.Arm64, TargetAbi.Aapcs64, ObjectFormat.Elf);
    public static readonly TargetPlatform OsxX64 = new("osx-x64", TargetOperatingSystem.MacOS, TargetArchitecture.X64, TargetAbi.SystemV, ObjectFormat.MachO);
    public static readonly TargetPlatform OsxArm64 = new("osx-arm64", TargetOperatingSystem.MacOS, TargetArchitecture.Arm64, TargetAbi.AppleArm64, ObjectFormat.MachO);

    /// <summary>Every target the product knows, whether or not its backend has landed.</summary>
    public static IReadOnlyList<TargetPlatform> Known { get; } = [LinuxX64, LinuxArm64, OsxX64, OsxArm64];

    /// <summary>The whole pipeline exists for it: a backend for its architecture and ABI, and a writer for its object format.</summary>
    public bool IsSupported => Backends.CodeGeneration.BackendRegistry.For(this) is not null && ObjectFiles.ObjectWriterRegistry.For(this) is not null;

    /// <summary>The targets one can build for today: the list both MARU0401 and MARU0402 offer.</summary>
    public static IEnumerable<TargetPlatform> Supported => Known.Where(t => t.IsSupported);

    private static string SupportedList => string.Join(", ", Supported.Select(t => t.RuntimeIdentifier));

    public int WordSize => 8;

    /// <summary>The file name the loader probes for a library called <paramref name="name"/>.</summary>
    public string LibraryFileName(string name) => ObjectFormat switch
    {
        ObjectFormat.MachO => $"lib{name}.dylib",
        _ => $"lib{name}.so",
    };

    /// <summary>The target of the machine we run on, or null when it is not one we know.</summary>
    public static TargetPlatform? Host
    {
        get
        {
            var os = System.OperatingSystem.IsLinux() ? "linux" : System.OperatingSystem.IsMacOS() ? "osx" : null;
            var arch = RuntimeInformation.OSArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.X64 => "x64",
                System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
                _ => null,
            };
            return os is null || arch is null ? null : Known.First(t => t.RuntimeIdentifier == $"{os}-{arch}");
        }
    }

    /// <summary>
    /// Parses a RuntimeIdentifier. Distribution-specific RIDs (linux-musl-x64, ubuntu.22.04-x64 style)
    /// are not portable names and are refused, like every unknown RID, with the list of known ones.
    /// </summary>
    public static TargetPlatform? Parse(string runtimeIdentifier, DiagnosticBag diagnostics)
    {
        var target = Known.FirstOrDefault(t => string.Equals(t.RuntimeIdentifier, runtimeIdentifier, StringComparison.OrdinalIgnoreCase));
        if (target is null)
        {
            diagnostics.Error(DiagnosticCode.UnknownRuntimeIdentifier, SourceLocation.None,
                $"unknown runtime identifier '{runtimeIdentifier}': Maru.Sdk supports {SupportedList}");
            return null;
        }
        if (!target.IsSupported)
        {
            diagnostics.Error(DiagnosticCode.TargetNotYetSupported, SourceLocation.None,
                $"target '{target.RuntimeIdentifier}' is not yet supported by this version of Maru.Sdk (supported: {SupportedList})");
            return null;
        }
        return target;
    }

    public override string ToString() => RuntimeIdentifier;
}
