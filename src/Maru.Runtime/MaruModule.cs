using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;
using Maru.Runtime.Native;

namespace Maru.Runtime;

/// <summary>
/// Maru code compiled for this process and loaded into it: the run-time face of the compiler.
/// <code>
/// using var module = MaruModule.Compile("(define-function twice (n) (* n 2))");
/// var twice = module.GetFunction&lt;Func&lt;long, long&gt;&gt;("twice");
/// Console.WriteLine(twice(21));   // 42
/// </code>
/// <para>
/// The library is written under a name of its own to the process's private temp folder, loaded
/// with <see cref="NativeLibrary"/>, and freed and deleted by <see cref="Dispose"/> (anything left
/// is deleted when the process exits). All members are thread-safe; any number of modules may be
/// compiled and used at once.
/// </para>
/// <para>
/// Lifetime: raw function pointers and global addresses are valid until <see cref="Dispose"/>.
/// Delegates from <see cref="GetFunction{TDelegate}"/> over <c>Func&lt;long...&gt;</c> and
/// <see cref="MaruFunction.Invoke"/> hold the module for the length of each call, so a module
/// replaced while another thread is still inside its code (hot reload) is unloaded only when that
/// call returns; a call started after <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>.
/// <see cref="Acquire"/> does the same for code that calls through raw pointers.
/// </para>
/// </summary>
public sealed partial class MaruModule : IDisposable
{
    private readonly Dictionary<string, MaruFunction> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GlobalAddress> _globals = new(StringComparer.Ordinal);
    private readonly nint _handle;
    // One reference for the owner (released by Dispose) plus one per call or lease in progress.
    private int _references = 1;
    private int _disposed;

    private MaruModule(CompilationResult result, TargetPlatform target, string libraryPath, nint handle)
    {
        Target = target;
        LibraryPath = libraryPath;
        _handle = handle;
        CompileTimeOutput = result.Messages;
        // Plain loops and reference-typed dictionary values: this runs in the first compilation of a
        // process, where LINQ and generic instantiations over value types cost JIT time (docs/runtime.md#cost).
        var warnings = new List<Diagnostic>();
        foreach (var diagnostic in result.Diagnostics)
            if (!diagnostic.IsError) warnings.Add(diagnostic);
        Warnings = warnings;
        var functions = new MaruFunction[result.Exports.Count];
        for (var i = 0; i < functions.Length; i++)
        {
            var export = result.Exports[i];
            functions[i] = _functions[export.MaruName] = new MaruFunction(this, export, NativeLibrary.GetExport(handle, export.SymbolName));
        }
        // A later definition of a name replaces an earlier one (MARU0608): the list holds what the name finds.
        for (var i = 0; i < functions.Length; i++) functions[i] = _functions[functions[i].Name];
        Functions = functions;
        var globals = new ExportedGlobal[result.Globals.Count];
        for (var i = 0; i < globals.Length; i++)
        {
            globals[i] = result.Globals[i];
            _globals[globals[i].MaruName] = new GlobalAddress(globals[i], NativeLibrary.GetExport(handle, globals[i].SymbolName));
        }
        Globals = globals;
    }

    private sealed class GlobalAddress(ExportedGlobal global, nint address)
    {
        public ExportedGlobal Global { get; } = global;
        public nint Address { get; } = address;
    }

    /// <summary>Compiles Maru source text for this process and loads it.</summary>
    /// <exception cref="MaruCompilationException">The source has errors (every one is in the exception), this machine is not a target Maru supports, or the library could not be written or loaded (MARU0007).</exception>
    public static MaruModule Compile(string source, MaruCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= Defaults;
        return Compile([new SourceFile(options.FileName, source)], options);
    }

    /// <summary>Compiles Maru files, in order, into one library for this process and loads it.</summary>
    /// <exception cref="MaruCompilationException">A file is missing or has errors, this machine is not a target Maru supports, or the library could not be written or loaded (MARU0007).</exception>
    public static MaruModule CompileFiles(IEnumerable<string> paths, MaruCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= Defaults;
        var sources = new List<SourceFile>();
        var missing = new List<Diagnostic>();
        foreach (var path in paths)
        {
            var full = options.BaseDirectory is null ? path : Path.Combine(options.BaseDirectory, path);
            if (File.Exists(full)) sources.Add(new SourceFile(path, File.ReadAllText(full)));
            else missing.Add(new Diagnostic(DiagnosticCode.SourceFileNotFound, DiagnosticSeverity.Error, SourceLocation.None, $"source file '{path}' not found"));
        }
        if (missing.Count > 0) throw new MaruCompilationException(missing, []);
        return Compile(sources, options);
    }

    private static readonly MaruCompileOptions Defaults = new();

    /// <summary>Compiles several named source texts, in order, into one library for this process and loads it (<see cref="SourceFile.Path"/> is what diagnostics call each).</summary>
    /// <exception cref="MaruCompilationException">The sources have errors, this machine is not a target Maru supports, or the library could not be written or loaded (MARU0007).</exception>
    public static MaruModule Compile(IReadOnlyList<SourceFile> sources, MaruCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        options ??= Defaults;
        var target = HostTarget.Current ?? throw new MaruCompilationException(
            [new Diagnostic(DiagnosticCode.UnknownRuntimeIdentifier, DiagnosticSeverity.Error, SourceLocation.None,
                $"this process ({HostTarget.Description}) is not a target Maru knows: {string.Join(", ", TargetPlatform.Known.Select(t => t.RuntimeIdentifier))}")], []);
        var name = LibraryFolder.NextLibraryName();
        var output = options.CompileTimeOutput is null ? null : new OutputRelay(options.CompileTimeOutput);
        var compilation = new CompilationOptions
        {
            Target = target,
            LibraryName = name,
            BaseDirectory = options.BaseDirectory,
            Optimisation = options.Optimisation,
            MaxEvaluationSteps = options.MaxEvaluationSteps ?? CompilationOptions.DefaultMaxEvaluationSteps,
            CompileTimeOutput = output is null ? null : output.Line,
            GenerateCSharpShims = false,
        };
        var native = options.ManagedCompiler ? null : options.NativeCompiler ?? NativeCompiler.Default;
        var path = LibraryFolder.PathFor(target.LibraryFileName(name));
        nint handle = 0;
        try
        {
            // The native compiler writes the library itself (no copy of it crosses back, no file code runs here).
            var written = false;
            var result = native is null ? MaruCompiler.Compile(sources, compilation) : native.CompileToFile(sources, compilation, path, out written);
            output?.RethrowFailure();
            if (result.HasErrors || !written && result.Library is null) throw new MaruCompilationException(result.Diagnostics, result.Messages);

            if (!written) path = WriteOrMove(path, result.Library!);
            if (!NativeLibrary.TryLoad(path, out handle))
            {
                // The memory folder refused to map code (noexec): this and later libraries go to the temp folder.
                path = MoveOutOfMemory(path, result.Library ?? File.ReadAllBytes(path)) ?? path;
                handle = NativeLibrary.Load(path);
            }
            return new MaruModule(result, target, path, handle);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or DllNotFoundException or BadImageFormatException)
        {
            // Where the process could put the library is the machine's problem, not a bug: one located
            // error like any other, instead of an exception type callers would have to know.
            if (handle != 0) NativeLibrary.Free(handle);
            LibraryFolder.TryDelete(path);
            throw new MaruCompilationException(
                [new Diagnostic(DiagnosticCode.LibraryNotLoadable, DiagnosticSeverity.Error, SourceLocation.None,
                    $"cannot write or load the compiled library '{path}': {Reason(exception)}")], []);
        }
        catch
        {
            if (handle != 0) NativeLibrary.Free(handle);
            LibraryFolder.TryDelete(path);
            throw;
        }
    }

    /// <summary>The OS's reason in one line: .NET's load failure starts with advice and ends with dlerror's text, which names the cause.</summary>
    private static string Reason(Exception exception)
    {
        var lines = exception.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? exception.GetType().Name : exception is DllNotFoundException ? lines[^1] : lines[0];
    }

    /// <summary>Writes the library to <paramref name="path"/>, or where the folder moved to if the memory folder cannot take it; the path written.</summary>
    private static string WriteOrMove(string path, byte[] library)
    {
        try
        {
            LibraryFolder.Write(path, library);
            return path;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            if (MoveOutOfMemory(path, library) is { } elsewhere) return elsewhere;
            throw;
        }
    }

    /// <summary>
    /// The memory folder could not take, or map, the library at <paramref name="path"/>: it is written
    /// again where the folder moved to, and that path returned; null when <paramref name="path"/> was
    /// not in the memory folder (the failure stands).
    /// </summary>
    private static string? MoveOutOfMemory(string path, byte[] library)
    {
        if (LibraryFolder.MoveOutOfMemory(path) is not { } elsewhere) return null;
        LibraryFolder.Write(elsewhere, library);
        return elsewhere;
    }

    /// <summary>The target the code was compiled for: this process's.</summary>
    public TargetPlatform Target { get; }

    /// <summary>Where the loaded library is, until <see cref="Dispose"/> deletes it.</summary>
    public string LibraryPath { get; }

    /// <summary>Every compiled function, in definition order.</summary>
    public IReadOnlyList<MaruFunction> Functions { get; }

    /// <summary>Every exported global word.</summary>
    public IReadOnlyList<ExportedGlobal> Globals { get; }

    /// <summary>The lines compile-time code printed (println in macros and top-level forms), in order.</summary>
    public IReadOnlyList<string> CompileTimeOutput { get; }

    /// <summary>The compiler's warnings (e.g. MARU0608, a definition replaced).</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; }

    /// <summary>True once <see cref="Dispose"/> was called (the library may still be loaded while calls are in progress).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The address of the compiled function <paramref name="maruName"/> (its Maru name, e.g. <c>fib-iter</c>), valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="KeyNotFoundException">No compiled function has that name.</exception>
    public nint GetFunctionPointer(string maruName) => GetFunction(maruName).Pointer;

    /// <summary>As <see cref="GetFunctionPointer"/>, false when no compiled function has that name.</summary>
    public bool TryGetFunctionPointer(string maruName, out nint pointer)
    {
        ThrowIfDisposed();
        var found = _functions.TryGetValue(maruName, out var function);
        pointer = found ? function!.Pointer : 0;
        return found;
    }

    /// <summary>The compiled function <paramref name="maruName"/>: its signature, address and a checked <see cref="MaruFunction.Invoke"/>.</summary>
    /// <exception cref="KeyNotFoundException">No compiled function has that name.</exception>
    public MaruFunction GetFunction(string maruName)
    {
        ArgumentNullException.ThrowIfNull(maruName);
        ThrowIfDisposed();
        return _functions.TryGetValue(maruName, out var function) ? function : throw NotFound("function", maruName, _functions.Keys);
    }

    /// <summary>The address of the exported global word <paramref name="maruName"/> (read and write it with <see cref="Marshal.ReadInt64(nint)"/>, or through a <c>long*</c>), valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="KeyNotFoundException">No global has that name.</exception>
    public nint GetGlobalAddress(string maruName)
    {
        ArgumentNullException.ThrowIfNull(maruName);
        ThrowIfDisposed();
        return _globals.TryGetValue(maruName, out var global) ? global.Address : throw NotFound("global", maruName, _globals.Keys);
    }

    /// <summary>
    /// Holds the module loaded until the lease is disposed, even if <see cref="Dispose"/> is called
    /// meanwhile: for code that calls through raw pointers while another thread may replace the module.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The module was already disposed.</exception>
    public Lease Acquire()
    {
        Enter();
        return new Lease(this);
    }

    /// <summary>Frees the library (once no call or lease is in progress) and deletes its file. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Exit();
    }

    /// <summary>A hold on a module's code; see <see cref="Acquire"/>.</summary>
    public sealed class Lease : IDisposable
    {
        private MaruModule? _module;

        internal Lease(MaruModule module) => _module = module;

        /// <summary>The module held.</summary>
        public MaruModule Module => _module ?? throw new ObjectDisposedException(nameof(Lease));

        /// <summary>Releases the hold (once, however often it is called); the last one after <see cref="MaruModule.Dispose"/> unloads the library.</summary>
        public void Dispose() => Interlocked.Exchange(ref _module, null)?.Exit();
    }

    internal void Enter()
    {
        while (true)
        {
            // Once disposed, no new call starts; calls already inside keep the library loaded.
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            var references = Volatile.Read(ref _references);
            ObjectDisposedException.ThrowIf(references == 0, this);
            if (Interlocked.CompareExchange(ref _references, references + 1, references) == references) return;
        }
    }

    internal void Exit()
    {
        if (Interlocked.Decrement(ref _references) == 0) Unload();
    }

    private void Unload()
    {
        NativeLibrary.Free(_handle);
        LibraryFolder.TryDelete(LibraryPath);
    }

    /// <summary>
    /// Passes compile-time output to the caller's callback. An exception from the callback stops the
    /// compilation and leaves <see cref="Compile(IReadOnlyList{SourceFile}, MaruCompileOptions?)"/> as
    /// itself, with either compiler (the native one cannot carry it across, so it is kept here).
    /// </summary>
    private sealed class OutputRelay(Action<string> callback)
    {
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failure;

        public void Line(string line)
        {
            if (_failure is not null) throw new OperationCanceledException();
            try
            {
                callback(line);
            }
            catch (Exception exception)
            {
                _failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(exception);
                throw new OperationCanceledException("the compile-time output callback failed");
            }
        }

        public void RethrowFailure() => _failure?.Throw();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    private static KeyNotFoundException NotFound(string kind, string name, IEnumerable<string> known)
    {
        var names = known.ToList();
        return new KeyNotFoundException(names.Count == 0
            ? $"the module has no {kind} '{name}' (it has no {kind}s)"
            : $"the module has no {kind} '{name}'; it has: {string.Join(", ", names)}");
    }
}
