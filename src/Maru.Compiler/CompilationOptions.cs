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

    public OptimisationLevel Optimisation { get; init; } = OptimisationLevel.O1;

    /// <summary>Also produce an assembly listing (<see cref="CompilationResult.Listing"/>): Intel syntax with the Maru source interleaved.</summary>
    public bool ProduceListing { get; init; }
}
