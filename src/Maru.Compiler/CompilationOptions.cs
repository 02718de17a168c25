using Maru.Compiler.Targets;

namespace Maru.Compiler;

/// <summary>What a compilation produces and for whom. Everything that changes the output bytes is here.</summary>
public sealed class CompilationOptions
{
    public required TargetPlatform Target { get; init; }

    /// <summary>The bare library name: <c>Hello</c> is written as libHello.so and imported as [LibraryImport("Hello")].</summary>
    public required string LibraryName { get; init; }

    /// <summary>Namespace of the generated C# class; empty means the global namespace.</summary>
    public string ShimNamespace { get; init; } = "";

    public string ShimClassName { get; init; } = "MaruExports";

    /// <summary>
    /// The folder that relative source paths (and so load/require of relative names) are resolved
    /// against; null means the process's current directory. MSBuild passes the project folder.
    /// </summary>
    public string? BaseDirectory { get; init; }

    /// <summary>
    /// Receives each line printed at compile time (print, println, dump in macros and top-level
    /// forms) as it is printed, e.g. for the build log. The lines are also in <see cref="CompilationResult.Messages"/>.
    /// Called on the compiler's evaluation thread.
    /// </summary>
    public Action<string>? CompileTimeOutput { get; init; }

    /// <summary>The most evaluation steps compile-time code may take before the build stops it (an endless loop in a macro).</summary>
    public long MaxEvaluationSteps { get; init; } = 50_000_000;
}
