using System.Reflection;
using Maru.Runtime.Native;

namespace Maru.Compiler.Tests.Runtime;

/// <summary>
/// The compiler published as a NativeAOT shared library (src/Maru.Compiler.Native), once per test
/// run, as build/publish-native-compiler.sh does for the package: the tests load it by path and
/// compare it with the managed compiler. MARU_NATIVE_COMPILER names an already published library
/// instead. The publish needs the NativeAOT prerequisites (a C toolchain and zlib): without them
/// the tests that need it are a missing tool.
/// </summary>
internal static class NativeCompilerLibrary
{
    private static readonly Lazy<(NativeCompiler? Compiler, string Problem)> s_library = new(Publish);

    public static NativeCompiler Compiler
    {
        get
        {
            var (compiler, problem) = s_library.Value;
            if (compiler is null) ExternalTool.MissingTool(problem);
            return compiler!;
        }
    }

    private static (NativeCompiler?, string) Publish()
    {
        var given = Environment.GetEnvironmentVariable("MARU_NATIVE_COMPILER");
        if (!string.IsNullOrEmpty(given))
            return (NativeCompiler.Load(given), $"MARU_NATIVE_COMPILER={given} is not a native compiler library of this version");
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return (null, "the native compiler library is published for linux-x64 here");

        var root = typeof(NativeCompilerLibrary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var output = Path.Combine(root, "artifacts", "test-native-compiler");
        // A configuration of its own: the test run's other builds (Debug, the packed SDK's Release) share no folder with it.
        var publish = ExternalTool.Run(ExternalTool.DotnetPath,
            ["publish", Path.Combine(root, "src", "Maru.Compiler.Native", "Maru.Compiler.Native.csproj"), "-c", "NativeTest", "-r", "linux-x64",
             "-p:PublishAot=true", "-o", output, "-nologo", "-nodeReuse:false"], timeout: TimeSpan.FromMinutes(15));
        var library = Path.Combine(output, NativeCompiler.LibraryName + ".so");
        if (publish.ExitCode != 0 || !File.Exists(library))
            return (null, $"the native compiler library could not be published (NativeAOT needs clang or gcc and zlib1g-dev):\n{publish}");
        return (NativeCompiler.Load(library) ?? throw new AssertFailedException($"{library} was published but does not load as a native compiler"), "");
    }
}
