using Maru.Compiler.Optimisation;
using Maru.Compiler.Targets;

namespace Maru.Compiler;

/// <summary>How much the middle end works on the IR before code generation.</summary>
public enum OptimisationLevel
{
    /// <summary>Straight lowering: the IR goes to the backend as the lowerer wrote it.</summary>
    O0,

    /// <summary>The pass pipeline of <see cref="PassPipeline"/>.</summary>
    O1,
}

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
    /// Called on the thread that called the compiler, or on the compiler's evaluation thread.
    /// </summary>
    public Action<string>? CompileTimeOutput { get; init; }

    /// <summary>The most evaluation steps compile-time code may take before the build stops it (an endless loop in a macro).</summary>
    public long MaxEvaluationSteps { get; init; } = DefaultMaxEvaluationSteps;

    /// <summary>
    /// The most memory, in bytes, compile-time code may allocate in total (pairs, strings, arrays,
    /// closures, format results, expanded code, files it loads, printed output), charged by size as it
    /// is allocated, so a runaway macro stops long before it can exhaust the build machine's memory.
    /// </summary>
    public long MaxEvaluationMemory { get; init; } = DefaultMaxEvaluationMemory;

    /// <summary>The largest file <c>load</c>/<c>require</c> reads, in bytes (and only regular files).</summary>
    public long MaxLoadedFileSize { get; init; } = DefaultMaxLoadedFileSize;

    /// <summary>The longest a whole compilation may run before it is stopped: the last line of defence against anything the other limits miss.</summary>
    public TimeSpan MaxCompilationTime { get; init; } = DefaultMaxCompilationTime;

    /// <summary>Stops a running compilation (MSBuild's cancel, Ctrl+C): it ends promptly with MARU0504 and no output.</summary>
    public CancellationToken CancellationToken { get; init; }

    public const long DefaultMaxEvaluationSteps = 50_000_000;
    public const long DefaultMaxEvaluationMemory = 256L * 1024 * 1024;
    public const long DefaultMaxLoadedFileSize = 8L * 1024 * 1024;
    public static readonly TimeSpan DefaultMaxCompilationTime = TimeSpan.FromSeconds(60);

    public OptimisationLevel Optimisation { get; init; } = OptimisationLevel.O1;

    /// <summary>Check the IR's invariants after every stage (on by default in Debug builds of the compiler). Never changes the output.</summary>
    public bool VerifyIr { get; init; } = IsDebugBuild;

    /// <summary>Receives the IR of every function after every stage (see <see cref="PassPipeline.StageNames"/>). Never changes the output.</summary>
    public Action<IrDump>? DumpIr { get; init; }

#if DEBUG
    private const bool IsDebugBuild = true;
#else
    private const bool IsDebugBuild = false;
#endif

    /// <summary>
    /// Generate the C# shims (<see cref="CompilationResult.CSharpShims"/>) and check the C# names they
    /// need (MARU03xx). Maru.Runtime turns it off: code loaded at run time is looked up by its Maru names.
    /// </summary>
    public bool GenerateCSharpShims { get; init; } = true;

    /// <summary>Also produce an assembly listing (<see cref="CompilationResult.Listing"/>): Intel syntax with the Maru source interleaved. Never changes the output bytes.</summary>
    public bool ProduceListing { get; init; }

    /// <summary>
    /// Tests only: branches and calls reaching this many bytes or more take their long form (AArch64:
    /// inverted branch over b, adrp/add/br or blr through x16), so the far forms run without
    /// megabytes of code. Null: the instructions' real reach.
    /// </summary>
    internal long? BranchReachForTesting { get; init; }

    /// <summary>
    /// Tests only: false leaves loops as written (no <c>LoopUnrolling</c>), for tests that read the
    /// code of one loop made by another pass. The stage still runs its dump and verification.
    /// </summary>
    internal bool UnrollLoopsForTesting { get; init; } = true;

    /// <summary>
    /// Tests only: the threads that optimise and generate code (1: the sequential order), whatever
    /// the module's size. Null: the processors, for a module large enough to gain from them
    /// (<see cref="ParallelWork.Workers"/>). Never changes the output bytes.
    /// </summary>
    internal int? ParallelismForTesting { get; init; }

    /// <summary>
    /// Tests only: false evaluates every call of the built-in cons as any call (no
    /// <c>Interpreter.EvalConsChain</c>), so a test can require both ways to agree in values,
    /// diagnostics, steps and memory. Never changes what a compilation answers.
    /// </summary>
    internal bool ConsChainsForTesting { get; init; } = true;
}
