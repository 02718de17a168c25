using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Maru.Build.Tasks;

/// <summary>
/// Compiles a project's Maru sources into a native shared library plus the C# shims that call it.
/// A thin front end over <see cref="MaruCompiler"/>: it turns items into sources, diagnostics into
/// MSBuild errors that IDEs can jump to, and results into files written atomically. It keeps no
/// state outside the instance, so parallel builds in one MSBuild process do not interfere.
/// Cancelling the build (Ctrl+C) stops a running compilation promptly (<see cref="Cancel"/>).
/// </summary>
public sealed class CompileMaru : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>Compile-time evaluation steps allowed; empty means the compiler's default.</summary>
    public string? MaxEvaluationSteps { get; set; }

    /// <summary>Memory compile-time evaluation may allocate, in MiB; empty means the compiler's default.</summary>
    public string? MaxEvaluationMemory { get; set; }

    /// <summary>Time the whole compilation may take, in seconds; empty means the compiler's default.</summary>
    public string? MaxCompilationTime { get; set; }

    /// <summary>Called by MSBuild on another thread when the build is cancelled.</summary>
    public void Cancel() => _cancel.Cancel();

    /// <summary>The .l files, in the order they are compiled. Diagnostics print their paths as given.</summary>
    [Required]
    public ITaskItem[] Sources { get; set; } = [];

    /// <summary>The target's RuntimeIdentifier (linux-x64, osx-arm64, ...); empty means the machine we run on.</summary>
    public string? RuntimeIdentifier { get; set; }

    /// <summary>The bare library name, as [LibraryImport] names it: Hello for libHello.so.</summary>
    [Required]
    public string LibraryName { get; set; } = "";

    /// <summary>Where the shared library is written.</summary>
    [Required]
    public string OutputLibrary { get; set; } = "";

    /// <summary>Where the generated C# is written.</summary>
    [Required]
    public string OutputShims { get; set; } = "";

    public string? ShimNamespace { get; set; }

    public string? ShimClassName { get; set; }

    /// <summary>The folder relative source paths are read from; defaults to the project's folder.</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>
    /// Where to write the full paths of the files load/require read, one per line, so the next
    /// build counts them as inputs (like a C compiler's .d file).
    /// </summary>
    public string? DependencyFile { get; set; }

    /// <summary>When set, the assembly listing (Intel syntax, Maru source interleaved) is written here.</summary>
    public string? ListingFile { get; set; }

    /// <summary>O0 (straight lowering, for debugging) or O1 (the default: optimiser and register allocator).</summary>
    public string? OptimisationLevel { get; set; }

    /// <summary>
    /// On errors, keep the last good shims (the library is deleted all the same): design-time
    /// builds use this so the IDE keeps every export while a source is broken.
    /// </summary>
    public bool KeepShimsOnError { get; set; }

    /// <summary>
    /// The user's project file: errors about a setting (the target, an option) point here, at the
    /// element that set it when the project file has one, not at the SDK's targets file.
    /// </summary>
    public string? ProjectFile { get; set; }

    /// <summary>The property that chose the target (MaruRuntimeIdentifier or RuntimeIdentifier); empty for the host's.</summary>
    public string? RuntimeIdentifierProperty { get; set; }

    public override bool Execute()
    {
        try
        {
            Run();
        }
        catch (Exception exception)
        {
            // One line for the user; the details belong in a bug report, not in their build output.
            LogDiagnostic(new Diagnostic(DiagnosticCode.InternalError, DiagnosticSeverity.Error, SourceLocation.None,
                $"internal compiler error: {exception.GetType().Name}: {FirstLine(exception.Message)}"));
        }

        if (Log.HasLoggedErrors) DeleteStaleOutputs();
        return !Log.HasLoggedErrors;
    }

    private void Run()
    {
        var diagnostics = new DiagnosticBag();
        var target = string.IsNullOrWhiteSpace(RuntimeIdentifier)
            ? HostTarget(diagnostics)
            : TargetPlatform.Parse(RuntimeIdentifier.Trim(), diagnostics);
        var sources = ReadSources(diagnostics);
        var level = Maru.Compiler.OptimisationLevel.O1;
        if (!string.IsNullOrWhiteSpace(OptimisationLevel)
            && !(Enum.TryParse(OptimisationLevel.Trim(), ignoreCase: true, out level) && Enum.IsDefined(level) && !char.IsDigit(OptimisationLevel.Trim()[0])))
            diagnostics.Error(DiagnosticCode.InvalidOption, SourceLocation.None,
                $"MaruOptimizationLevel must be O0 or O1, not '{OptimisationLevel}'");
        var steps = Limit(MaxEvaluationSteps, "MaruMaxEvaluationSteps", CompilationOptions.DefaultMaxEvaluationSteps, long.MaxValue, diagnostics);
        var memoryMiB = Limit(MaxEvaluationMemory, "MaruMaxEvaluationMemory", CompilationOptions.DefaultMaxEvaluationMemory >> 20, long.MaxValue >> 20, diagnostics);
        var seconds = Limit(MaxCompilationTime, "MaruMaxCompilationTime", (long)CompilationOptions.DefaultMaxCompilationTime.TotalSeconds, 86_400, diagnostics);
        if (sources.Count == 0 && !diagnostics.HasErrors)
            diagnostics.Error(DiagnosticCode.NoSourceFiles, SourceLocation.None, "no Maru source files to compile");

        if (target is null || diagnostics.HasErrors)
        {
            LogAll(diagnostics.Items);
            return;
        }

        var options = new CompilationOptions
        {
            Target = target,
            LibraryName = LibraryName,
            ShimNamespace = ShimNamespace?.Trim() ?? "",
            ShimClassName = string.IsNullOrWhiteSpace(ShimClassName) ? "MaruExports" : ShimClassName.Trim(),
            BaseDirectory = string.IsNullOrEmpty(ProjectDirectory) ? null : ProjectDirectory,
            Optimisation = level,
            ProduceListing = !string.IsNullOrEmpty(ListingFile),
            MaxEvaluationSteps = steps,
            MaxEvaluationMemory = memoryMiB << 20,
            MaxCompilationTime = TimeSpan.FromSeconds(seconds),
            CancellationToken = _cancel.Token,
        };
        var result = MaruCompiler.Compile(sources, options);
        foreach (var line in result.Messages) Log.LogMessage(MessageImportance.High, line); // compile-time print/println
        LogAll(result.Diagnostics);
        if (!result.Success || Log.HasLoggedErrors) return;

        var shims = result.CSharpShims;
        if (shims is null)
        {
            var shimDiagnostics = new DiagnosticBag();
            shims = CSharpShimGenerator.Generate(result.Exports, options, shimDiagnostics);
            LogAll(shimDiagnostics.Items);
            if (shimDiagnostics.HasErrors) return;
        }

        var library = result.Library!;
        try
        {
            OutputFile.WriteAtomically(OutputLibrary, library);
            OutputFile.WriteAtomically(OutputShims, shims);
            if (!string.IsNullOrEmpty(ListingFile))
                OutputFile.WriteAtomically(ListingFile, result.Listing ?? "");
            if (!string.IsNullOrEmpty(DependencyFile))
                OutputFile.WriteAtomically(DependencyFile, string.Concat(result.LoadedFiles.Select(path => path + "\n")));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            LogDiagnostic(new Diagnostic(DiagnosticCode.OutputNotWritable, DiagnosticSeverity.Error, SourceLocation.None,
                $"cannot write the Maru outputs: {FirstLine(exception.Message)}"));
            return;
        }
        Log.LogMessage(MessageImportance.Low, $"Maru: wrote {OutputLibrary} ({library.Length} bytes, {result.Exports.Count} exports) and {OutputShims}");
    }

    private static long Limit(string? text, string property, long fallback, long max, DiagnosticBag diagnostics)
    {
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (long.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0 && value <= max)
            return value;
        diagnostics.Error(DiagnosticCode.InvalidOption, SourceLocation.None, $"{property} must be a positive whole number, not '{text}'");
        return fallback;
    }

    private TargetPlatform? HostTarget(DiagnosticBag diagnostics)
    {
        var host = TargetPlatform.Host;
        if (host is null)
        {
            diagnostics.Error(DiagnosticCode.UnknownRuntimeIdentifier, SourceLocation.None,
                "this machine is not a target Maru.Sdk knows; set RuntimeIdentifier (or MaruRuntimeIdentifier) to one of " +
                string.Join(", ", TargetPlatform.Supported.Select(t => t.RuntimeIdentifier)));
            return null;
        }
        return TargetPlatform.Parse(host.RuntimeIdentifier, diagnostics);
    }

    private List<SourceFile> ReadSources(DiagnosticBag diagnostics)
    {
        var baseDirectory = !string.IsNullOrEmpty(ProjectDirectory)
            ? ProjectDirectory
            : Path.GetDirectoryName(BuildEngine?.ProjectFileOfTaskNode) ?? Directory.GetCurrentDirectory();
        var sources = new List<SourceFile>(Sources.Length);
        foreach (var item in Sources)
        {
            // ItemSpec is already unescaped; the path stays as the user wrote it for diagnostics.
            var path = item.ItemSpec;
            var fullPath = Path.GetFullPath(Path.Combine(baseDirectory, path));
            if (!File.Exists(fullPath))
            {
                diagnostics.Error(DiagnosticCode.SourceFileNotFound, new SourceLocation(path, 0, 0), $"source file '{path}' not found");
                continue;
            }
            sources.Add(new SourceFile(path, File.ReadAllText(fullPath)));
        }
        return sources;
    }

    private void DeleteStaleOutputs()
    {
        foreach (var path in KeepShimsOnError ? [OutputLibrary] : new[] { OutputLibrary, OutputShims })
        {
            try
            {
                if (!string.IsNullOrEmpty(path) && File.Exists(path)) File.Delete(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Log.LogWarning(null, "MARU0003", null, path, 0, 0, 0, 0, $"could not delete stale output '{path}': {exception.Message}");
            }
        }
    }

    private void LogAll(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics) LogDiagnostic(diagnostic);
    }

    private void LogDiagnostic(Diagnostic diagnostic)
    {
        var location = diagnostic.Location;
        if (location.IsNone) location = SettingLocation(diagnostic.Code);
        var file = location.IsNone ? null : location.File;
        if (diagnostic.IsError)
            Log.LogError(null, diagnostic.CodeText, null, file, location.Line, location.Column, 0, 0, diagnostic.Message);
        else
            Log.LogWarning(null, diagnostic.CodeText, null, file, location.Line, location.Column, 0, 0, diagnostic.Message);
    }

    /// <summary>
    /// Where a diagnostic without a source location belongs: a setting's error at the project
    /// element that set it (or the project file itself); an internal error stays unlocated.
    /// </summary>
    private SourceLocation SettingLocation(DiagnosticCode code)
    {
        if (string.IsNullOrEmpty(ProjectFile) || code == DiagnosticCode.InternalError) return SourceLocation.None;
        var property = code switch
        {
            DiagnosticCode.UnknownRuntimeIdentifier or DiagnosticCode.TargetNotYetSupported => RuntimeIdentifierProperty,
            DiagnosticCode.InvalidOption => "MaruOptimizationLevel",
            _ => null,
        };
        var (line, column) = string.IsNullOrEmpty(property) ? (0, 0) : ProjectElementPosition(ProjectFile, property);
        return new SourceLocation(ProjectFile, line, column);
    }

    /// <summary>Line and column of the last &lt;<paramref name="name"/>&gt; element of a project file (the one that wins), or (0, 0).</summary>
    private static (int Line, int Column) ProjectElementPosition(string projectFile, string name)
    {
        var position = (0, 0);
        try
        {
            using var reader = System.Xml.XmlReader.Create(projectFile, new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Ignore });
            while (reader.Read())
            {
                if (reader.NodeType == System.Xml.XmlNodeType.Element && reader.LocalName == name && reader is System.Xml.IXmlLineInfo info)
                    position = (info.LineNumber, info.LinePosition - 1); // the '<', as MSBuild's own errors
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Xml.XmlException)
        {
            // The project file itself is then location enough.
        }
        return position;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
