using Maru.Compiler.Backends.X64;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Interop;
using Maru.Compiler.Ir;
using Maru.Compiler.Lowering;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.Elf;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Compiler;

/// <summary>
/// The compiler's front door: sources in, a library and its C# shims (or located errors) out.
/// The stages run in this order, each with one job:
/// read (Syntax) -> top-level processing (Evaluation) -> lowering to IR (Lowering) ->
/// optimisation (Optimisation, the PassPipeline; nothing at O0) -> C# shims (Interop) -> machine code (Backends) -> shared library (ObjectFiles).
/// Each call owns all its state, so concurrent compilations in one process are safe.
/// </summary>
public static class MaruCompiler
{
    public static CompilationResult Compile(IReadOnlyList<SourceFile> sources, CompilationOptions options)
    {
        var diagnostics = new DiagnosticBag();
        try
        {
            return Run(sources, options, diagnostics);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A bug of ours must still reach the user as one clear line, never as a stack trace.
            diagnostics.Error(DiagnosticCode.InternalError, SourceLocation.None,
                $"internal compiler error: {exception.GetType().Name}: {exception.Message}");
            return new CompilationResult { Diagnostics = diagnostics.Items };
        }
    }

    private static CompilationResult Run(IReadOnlyList<SourceFile> sources, CompilationOptions options, DiagnosticBag diagnostics)
    {
        var target = options.Target;
        if (!target.IsSupported)
        {
            diagnostics.Error(DiagnosticCode.TargetNotYetSupported, SourceLocation.None,
                $"target '{target.RuntimeIdentifier}' is not yet supported by this version of Maru.Sdk");
            return Failed(diagnostics);
        }

        var forms = new List<Datum>();
        foreach (var source in sources)
            forms.AddRange(Reader.Read(source, diagnostics));
        if (diagnostics.HasErrors) return Failed(diagnostics);

        var unit = TopLevel.Process(forms, diagnostics);
        var module = ModuleLowerer.Lower(unit, diagnostics);
        if (diagnostics.HasErrors) return Failed(diagnostics);

        PassPipeline.Run(module, options);

        var exports = Exports(unit);
        var shims = CSharpShimGenerator.Generate(exports, options, diagnostics);
        if (diagnostics.HasErrors) return Failed(diagnostics);

        var machineCode = GenerateCode(module, target);
        var library = WriteLibrary(machineCode, target, target.LibraryFileName(options.LibraryName));
        return new CompilationResult { Diagnostics = diagnostics.Items, Library = library, CSharpShims = shims, Exports = exports };
    }

    private static List<ExportedFunction> Exports(CompilationUnit unit) =>
        unit.Definitions.OfType<FunctionDefinition>()
            .Select(f => new ExportedFunction(f.Name, SymbolNames.ToSymbolName(f.Name), f.Parameters.Select(p => p.Name).ToList(), f.Location))
            .ToList();

    private static ObjectModule GenerateCode(IrModule module, TargetPlatform target) => target.Architecture switch
    {
        TargetArchitecture.X64 => X64Backend.Generate(module, SymbolNames.ToSymbolName),
        _ => throw new NotSupportedException($"no backend for {target.Architecture}"),
    };

    private static byte[] WriteLibrary(ObjectModule module, TargetPlatform target, string fileName) => target.ObjectFormat switch
    {
        ObjectFormat.Elf => ElfSharedLibraryWriter.Write(module, target, fileName),
        _ => throw new NotSupportedException($"no writer for {target.ObjectFormat}"),
    };

    private static CompilationResult Failed(DiagnosticBag diagnostics) => new() { Diagnostics = diagnostics.Items };
}
