using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Interop;
using Maru.Compiler.Ir;
using Maru.Compiler.Lowering;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Compiler;

/// <summary>
/// The compiler's front door: sources in, a library and its C# shims (or located errors) out.
/// The stages run in this order, each with one job:
/// read (Syntax) -> compile-time evaluation: expand and evaluate every top-level form (Evaluation) -> lowering to IR (Lowering) ->
/// optimisation (Optimisation, the PassPipeline; nothing at O0) -> C# shims (Interop) -> machine code (Backends) -> shared library (ObjectFiles).
/// Each call owns all its state, so concurrent compilations in one process are safe (the prelude,
/// evaluated once per process, is shared only as a frozen description each call copies: PreludeSnapshot).
/// </summary>
public static class MaruCompiler
{
    public static CompilationResult Compile(IReadOnlyList<SourceFile> sources, CompilationOptions options)
    {
        var diagnostics = new DiagnosticBag();
        var budget = new CompilationBudget(options);
        try
        {
            return Run(sources, options, diagnostics, budget);
        }
        catch (CompilationStoppedException stopped)
        {
            diagnostics.Error(stopped.Code, SourceLocation.None, stopped.Message);
            return new CompilationResult { Diagnostics = diagnostics.Items };
        }
        catch (RelocationOutOfRangeException exception)
        {
            // The program's code or data outgrew what an instruction can reach: the user's
            // program is too large for this target, not malformed.
            diagnostics.Error(DiagnosticCode.CodeTooLarge, SourceLocation.None,
                $"the generated library is too large for target '{options.Target}': {exception.Message}");
            return new CompilationResult { Diagnostics = diagnostics.Items };
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A bug of ours must still reach the user as one clear line, never as a stack trace.
            diagnostics.Error(DiagnosticCode.InternalError, SourceLocation.None,
                $"internal compiler error: {exception.GetType().Name}: {exception.Message}");
            return new CompilationResult { Diagnostics = diagnostics.Items };
        }
        finally
        {
            ScratchLists.ReleaseLarge();   // a huge function's work tables are kept only while it compiles
        }
    }

    private static CompilationResult Run(IReadOnlyList<SourceFile> sources, CompilationOptions options, DiagnosticBag diagnostics, CompilationBudget budget)
    {
        var target = options.Target;
        if (!target.IsSupported)
        {
            diagnostics.Error(DiagnosticCode.TargetNotYetSupported, SourceLocation.None,
                $"target '{target.RuntimeIdentifier}' is not yet supported by this version of Maru.Sdk");
            return Failed(diagnostics);
        }

        var (front, failed) = FrontEnd(sources, options, diagnostics, budget);
        if (front is null) return failed!;
        var module = front.Module;
        var listing = options.ProduceListing ? new StringWriter { NewLine = "\n" } : null;
        var backend = BackendRegistry.For(target) ?? throw new NotSupportedException($"no backend for {target}");
        var request = new CodeGenerationRequest(SymbolNames.ToSymbolName, options.Optimisation, listing, sources)
        {
            CheckBudget = budget.Check,
            Parallelism = ParallelWork.Workers(options, module),
            BranchReachForTesting = options.BranchReachForTesting,
        };
        // On several threads, functions are generated as the optimiser finishes them (the same bytes).
        var stream = request.Parallelism > 1 && listing is null && options.DumpIr is null && options.Optimisation == OptimisationLevel.O1 && backend is IStreamingBackend streaming
            ? streaming.Begin(module, request)
            : null;
        PassPipeline.Run(module, options, budget.Check, stream);
        budget.Check();
        var machineCode = stream?.Finish() ?? backend.Generate(module, target, request);
        budget.Check();
        var library = WriteLibrary(machineCode, target, target.LibraryFileName(options.LibraryName));
        budget.Check();
        return new CompilationResult
        {
            Diagnostics = diagnostics.Items,
            Library = library,
            CSharpShims = front.Shims,
            Exports = front.Exports,
            Globals = front.Globals,
            Messages = front.Messages,
            LoadedFiles = front.LoadedFiles,
            Listing = listing?.ToString(),
        };
    }

    /// <summary>What the back end needs of the front end: the IR and what the result reports.</summary>
    private sealed record FrontEndResult(IrModule Module, List<ExportedFunction> Exports, string? Shims, List<ExportedGlobal> Globals,
        IReadOnlyList<string> Messages, IReadOnlyList<string> LoadedFiles);

    /// <summary>
    /// Reads, evaluates and lowers; also the exports and the C# shims, which need the evaluated
    /// definitions. A method of its own so that the evaluator's state (the environment, every
    /// definition's code) is garbage before the optimiser starts: kept to the end of the
    /// compilation, it survived every collection during optimisation and code generation and was
    /// promoted, most of what those collections cost. On errors, the failed result instead.
    /// </summary>
    private static (FrontEndResult? Front, CompilationResult? Failed) FrontEnd(IReadOnlyList<SourceFile> sources, CompilationOptions options,
        DiagnosticBag diagnostics, CompilationBudget budget)
    {
        var evaluation = Evaluator.Process(sources, options, diagnostics, budget);
        if (diagnostics.HasErrors) return (null, Failed(diagnostics, evaluation));
        budget.Check();

        var unit = evaluation.Unit;
        // The exports and the shims read only the unit: when the functions are lowered on several
        // threads, they are made meanwhile, their diagnostics kept aside until their turn comes.
        ExportsAndShims? made = null;
        var module = ModuleLowerer.Lower(unit, diagnostics, options, alongside: () => made = ExportsAndShims.Make(unit, options));
        CheckExternsAgainstExports(unit, diagnostics); // after lowering, which may add what loaded files define
        if (diagnostics.HasErrors) return (null, Failed(diagnostics, evaluation));
        budget.Check();

        var globals = module.Globals.Select(g => (g.Name, g.Location)).Concat(module.StringGlobals.Select(g => (g.Name, g.Location)))
            .Select(g => new ExportedGlobal(g.Name, SymbolNames.ToSymbolName(g.Name), g.Location)).ToList();
        made ??= ExportsAndShims.Make(unit, options);
        made.Failure?.Throw();
        foreach (var diagnostic in made.Diagnostics.Items) diagnostics.Add(diagnostic);
        var (exports, shims) = (made.Exports!, made.Shims);
        if (diagnostics.HasErrors) return (null, Failed(diagnostics, evaluation));
        return (new FrontEndResult(module, exports, shims, globals, evaluation.Messages, evaluation.LoadedFiles), null);
    }

    /// <summary>The exports and the C# shims, with their diagnostics (or the failure, rethrown where they are used).</summary>
    private sealed class ExportsAndShims
    {
        public DiagnosticBag Diagnostics { get; } = new();
        public List<ExportedFunction>? Exports { get; private set; }
        public string? Shims { get; private set; }
        public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure { get; private set; }

        public static ExportsAndShims Make(CompilationUnit unit, CompilationOptions options)
        {
            var made = new ExportsAndShims();
            try
            {
                made.Exports = MaruCompiler.Exports(unit, made.Diagnostics);
                made.Shims = options.GenerateCSharpShims ? CSharpShimGenerator.Generate(made.Exports, options, made.Diagnostics) : null;
            }
            catch (Exception exception)
            {
                made.Failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(exception);
            }
            return made;
        }
    }

    /// <summary>
    /// An extern imports a C symbol; every compiled function and global exports one. One name cannot
    /// be both in one library (the loader would bind the import to our own export).
    /// </summary>
    private static void CheckExternsAgainstExports(CompilationUnit unit, DiagnosticBag diagnostics)
    {
        var exported = new Dictionary<string, Definition>(StringComparer.Ordinal);
        foreach (var definition in unit.Definitions)
            if (definition is FunctionDefinition or IntegerDefinition or StringDefinition)
                exported.TryAdd(SymbolNames.ToSymbolName(definition.Name), definition);
        foreach (var external in unit.Definitions.OfType<ExternDefinition>())
            if (exported.TryGetValue(external.Symbol, out var clash))
                diagnostics.Error(DiagnosticCode.ExternAndFunction, external.Location,
                    $"'{external.Name}' imports the C symbol '{external.Symbol}', which this library also exports for '{clash.Name}' ({clash.Location}); rename one of them");
    }

    /// <summary>Every compiled function is exported; a define-export gives it a richer C# signature.</summary>
    private static List<ExportedFunction> Exports(CompilationUnit unit, DiagnosticBag diagnostics)
    {
        var exports = new List<ExportedFunction>();
        foreach (var function in unit.Definitions.OfType<FunctionDefinition>())
        {
            var parameters = function.Parameters.Select(p => p.Name).ToList();
            var export = new ExportedFunction(function.Name, SymbolNames.ToSymbolName(function.Name), parameters, function.Location)
            {
                Documentation = function.Documentation,
            };
            if (unit.ExportDeclarations.TryGetValue(function.Name, out var declaration))
            {
                try
                {
                    export = export with { Signature = declaration.Resolve(parameters) };
                }
                catch (CompilationError error)
                {
                    diagnostics.Add(error.Diagnostic);
                }
            }
            exports.Add(export);
        }
        foreach (var declaration in unit.ExportDeclarations.Values.Where(d => unit.Lookup(d.FunctionName) is not FunctionDefinition))
            diagnostics.Error(DiagnosticCode.ExportDeclarationMismatch, declaration.Location,
                $"define-export names '{declaration.FunctionName}', which is not a compiled function");
        return exports;
    }

    private static byte[] WriteLibrary(ObjectModule module, TargetPlatform target, string fileName) =>
        (ObjectWriterRegistry.For(target) ?? throw new NotSupportedException($"no object writer for {target}"))
            .Write(module, target, fileName);

    private static CompilationResult Failed(DiagnosticBag diagnostics, EvaluationResult? evaluation = null) => new()
    {
        Diagnostics = diagnostics.Items,
        Messages = evaluation?.Messages ?? [],
        LoadedFiles = evaluation?.LoadedFiles ?? [],
    };
}
