using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Syntax;

namespace Maru.Runtime.Native;

/// <summary>
/// The compiler published ahead of time (NativeAOT) as a shared library, Maru.Compiler.Native,
/// which the Maru.Runtime package carries under runtimes/&lt;rid&gt;/native/ for the targets it was
/// built for. It is the same compiler as Maru.Compiler.dll, already compiled to machine code, so the
/// first compilation of a process pays no JIT and no type loading for it (docs/runtime.md#cost).
/// Used when present, when the process compiles code at run time (a NativeAOT process already
/// has the managed compiler in machine code), and unless the AppContext switch
/// <c>Maru.Runtime.UseNativeCompiler</c> is false; otherwise the managed compiler runs, with the
/// same results.
/// </summary>
internal sealed unsafe class NativeCompiler
{
    public const string LibraryName = "Maru.Compiler.Native";
    public const string Switch = "Maru.Runtime.UseNativeCompiler";

    private readonly delegate* unmanaged<byte*, int, delegate* unmanaged<nint, byte*, int, int>, nint, byte**, int*, int> _compile;
    private readonly delegate* unmanaged<byte*, void> _free;

    private NativeCompiler(nint handle, string description)
    {
        _compile = (delegate* unmanaged<byte*, int, delegate* unmanaged<nint, byte*, int, int>, nint, byte**, int*, int>)NativeLibrary.GetExport(handle, "maru_compile");
        _free = (delegate* unmanaged<byte*, void>)NativeLibrary.GetExport(handle, "maru_free");
        Description = description;
    }

    /// <summary>Where the library was loaded from (or its name), for tests and diagnostics.</summary>
    public string Description { get; }

    private static readonly Lazy<NativeCompiler?> s_default = new(FindDefault);

    /// <summary>The package's native compiler for this process, or null: the managed compiler is used.</summary>
    public static NativeCompiler? Default => s_default.Value;

    private static NativeCompiler? FindDefault()
    {
        if (AppContext.TryGetSwitch(Switch, out var enabled) && !enabled) return null;
        if (!RuntimeFeature.IsDynamicCodeCompiled) return null;
        // The name is resolved as [DllImport] would: the app's native search folders, which hold the
        // package's runtimes/<rid>/native/ (framework-dependent) or the app folder (RID-specific publish).
        return NativeLibrary.TryLoad(LibraryName, typeof(NativeCompiler).Assembly, null, out var handle) ? FromHandle(handle, LibraryName) : null;
    }

    /// <summary>The native compiler at <paramref name="path"/> (tests name a published library), or null when it cannot be used.</summary>
    public static NativeCompiler? Load(string path) =>
        NativeLibrary.TryLoad(path, out var handle) ? FromHandle(handle, path) : null;

    private static NativeCompiler? FromHandle(nint handle, string description)
    {
        // A library built from another version of the wire format is left alone (the managed compiler runs).
        if (!NativeLibrary.TryGetExport(handle, "maru_compiler_protocol", out var protocol)
            || ((delegate* unmanaged<int>)protocol)() != CompilerWire.Protocol
            || !NativeLibrary.TryGetExport(handle, "maru_compile", out _)
            || !NativeLibrary.TryGetExport(handle, "maru_free", out _))
        {
            NativeLibrary.Free(handle);
            return null;
        }
        return new NativeCompiler(handle, description);
    }

    /// <summary>Compiles; the library's bytes are in the result, as from <see cref="MaruCompiler.Compile"/>.</summary>
    public CompilationResult Compile(IReadOnlyList<SourceFile> sources, CompilationOptions options) => Compile(sources, options, null, out _);

    /// <summary>
    /// Compiles and, when it succeeds, has the native side create <paramref name="path"/> with the
    /// library (the result then carries no bytes); <paramref name="written"/> says whether it did.
    /// </summary>
    /// <exception cref="IOException">The library was compiled but could not be written.</exception>
    public CompilationResult CompileToFile(IReadOnlyList<SourceFile> sources, CompilationOptions options, string path, out bool written) =>
        Compile(sources, options, path, out written);

    private CompilationResult Compile(IReadOnlyList<SourceFile> sources, CompilationOptions options, string? path, out bool written)
    {
        var request = CompilerWire.WriteRequest(sources, options, path);
        var output = options.CompileTimeOutput is null ? default : GCHandle.Alloc(options.CompileTimeOutput);
        byte* response = null;
        var length = 0;
        try
        {
            int status;
            fixed (byte* pointer = request)
                status = _compile(pointer, request.Length, output.IsAllocated ? &OnOutput : null,
                    output.IsAllocated ? GCHandle.ToIntPtr(output) : 0, &response, &length);
            if (status != 0)
                throw new InvalidOperationException($"the native compiler ({Description}) failed: {new string((char*)response, 0, length / sizeof(char))}");
            return CompilerWire.ReadResult(response, length, out written);
        }
        finally
        {
            if (response is not null) _free(response);
            if (output.IsAllocated) output.Free();
        }
    }

    /// <summary>A line compile-time code printed (<paramref name="length"/> UTF-16 code units): 0, or 1 when the callback threw (nothing may unwind into native code; the native compiler then stops).</summary>
    [UnmanagedCallersOnly]
    private static int OnOutput(nint context, byte* text, int length)
    {
        try
        {
            ((Action<string>)GCHandle.FromIntPtr(context).Target!)(new string((char*)text, 0, length));
            return 0;
        }
        catch (Exception)
        {
            return 1;
        }
    }
}
