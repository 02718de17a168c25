using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>What a code generator is asked for, besides the IR and the target.</summary>
/// <param name="SymbolName">Maps a Maru name to the name the library exports.</param>
/// <param name="Level">O0: every virtual register in a stack slot; O1: register allocation and instruction selection.</param>
/// <param name="Listing">When given, receives the assembly listing with the source lines interleaved.</param>
/// <param name="Sources">The source texts the listing quotes.</param>
public sealed record CodeGenerationRequest(
    Func<string, string> SymbolName,
    OptimisationLevel Level = OptimisationLevel.O1,
    TextWriter? Listing = null,
    IReadOnlyList<SourceFile>? Sources = null)
{
    /// <summary>Tests only: <see cref="CompilationOptions.BranchReachForTesting"/>.</summary>
    internal long? BranchReachForTesting { get; init; }

    /// <summary>
    /// Threads that may generate functions at once (x86-64; AArch64 assembles the module as one
    /// block and stays on one). The bytes never depend on it.
    /// </summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>Called between functions; throws when the compilation must stop (its time limit or the caller's cancellation).</summary>
    public Action? CheckBudget { get; init; }
}

/// <summary>A code generator for one instruction set: IR in, format-neutral machine code out.</summary>
public interface IBackend
{
    TargetArchitecture Architecture { get; }

    /// <summary>Whether it generates for this target (its architecture and ABI).</summary>
    bool Supports(TargetPlatform target);

    ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request);

    /// <summary>The cost facts the optimiser asks of this ISA.</summary>
    Optimisation.ITargetCosts Costs { get; }
}

/// <summary>
/// Code generation of a module whose functions arrive one by one as the optimiser finishes them
/// (<see cref="Optimisation.PassPipeline"/>, on several threads), so that generating finished
/// functions overlaps optimising the rest. The machine code is what <see cref="IBackend.Generate"/>
/// makes of the finished module, byte for byte.
/// </summary>
internal interface IFunctionStream
{
    /// <summary>The function's IR is final (called on the thread that finished it, before any function calling it is generated).</summary>
    void Optimised(IrFunction function);

    /// <summary>Generates the module's function number <paramref name="index"/>, whose IR and whose callees' IR are final. Thread-safe.</summary>
    void Generate(int index);

    /// <summary>The module's machine code, once every function was generated.</summary>
    ObjectModule Finish();
}

/// <summary>A backend that can generate a module function by function (<see cref="IFunctionStream"/>).</summary>
internal interface IStreamingBackend
{
    /// <summary>Starts the module (its data laid out; its functions' IR may still change until each is <see cref="IFunctionStream.Optimised"/>).</summary>
    IFunctionStream Begin(IrModule module, CodeGenerationRequest request);
}

/// <summary>The code generators that exist; a target is compiled by the first one that supports it.</summary>
public static class BackendRegistry
{
    public static IReadOnlyList<IBackend> All { get; } = [new X64.X64Backend(), new Arm64.Arm64Backend()];

    public static IBackend? For(TargetPlatform target) => All.FirstOrDefault(b => b.Supports(target));
}
