using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles;

/// <summary>
/// Where each operating system keeps the C library that <see cref="ObjectModule.Imports"/> are
/// resolved from. Writers record this name as the library's one dependency (ELF DT_NEEDED,
/// Mach-O LC_LOAD_DYLIB), so a new operating system only adds a row here.
/// </summary>
public static class PlatformLibraries
{
    /// <summary>libSystem's install name: every macOS image links it (dyld refuses one that links nothing).</summary>
    public const string MacOSCLibrary = "/usr/lib/libSystem.B.dylib";

    /// <summary>
    /// The name the loader resolves the C library by: the glibc soname on Linux (the versioned
    /// name: the unversioned libc.so is a linker script, present only with development packages),
    /// libSystem's install name on macOS.
    /// </summary>
    public static string CLibrary(TargetPlatform target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.OperatingSystem switch
        {
            TargetOperatingSystem.Linux => "libc.so.6",
            TargetOperatingSystem.MacOS => MacOSCLibrary,
            _ => throw new ArgumentOutOfRangeException(nameof(target), target.OperatingSystem, "no C library known for this operating system"),
        };
    }
}
