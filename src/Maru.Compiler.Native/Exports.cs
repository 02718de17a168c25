using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Runtime.Native;

namespace Maru.Compiler.Native;

/// <summary>
/// The C entry points of the native compiler library. Maru.Runtime (Native/NativeCompiler) is
/// their one caller; the request and result layouts are Native/CompilerWire, shared with it.
/// </summary>
public static unsafe class Exports
{
    /// <summary>The wire format this library speaks; Maru.Runtime uses it only when the numbers agree.</summary>
    [UnmanagedCallersOnly(EntryPoint = "maru_compiler_protocol")]
    public static int Protocol() => CompilerWire.Protocol;

    /// <summary>
    /// Compiles the request; 0 with the result in a buffer from <c>malloc</c> (freed by
    /// <c>maru_free</c>), or 1 with a message there (UTF-16) when the request could not be read. A
    /// request with an output path gets its library written there, not returned.
    /// Compilation errors are a result, not a failure. Each line compile-time code prints goes to
    /// <paramref name="output"/> (when not null) as UTF-16 code units and their count; a non-zero
    /// answer stops the compilation.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "maru_compile")]
    public static int Compile(byte* request, int requestLength, delegate* unmanaged<nint, byte*, int, int> output, nint outputContext, byte** response, int* responseLength)
    {
        byte[] bytes;
        int status;
        try
        {
            Action<string>? sink = output is null ? null : line => Print(output, outputContext, line);
            var (sources, options, outputPath) = CompilerWire.ReadRequest(request, requestLength, sink);
            bytes = CompilerWire.WriteResult(MaruCompiler.Compile(sources, options), outputPath);
            status = 0;
        }
        catch (Exception exception)
        {
            var message = $"{exception.GetType().Name}: {exception.Message}";
            bytes = new byte[message.Length * sizeof(char)];
            fixed (char* characters = message) new ReadOnlySpan<byte>(characters, bytes.Length).CopyTo(bytes);
            status = 1;
        }
        var buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
        bytes.CopyTo(new Span<byte>(buffer, bytes.Length));
        *response = buffer;
        *responseLength = bytes.Length;
        return status;
    }

    [UnmanagedCallersOnly(EntryPoint = "maru_free")]
    public static void Free(byte* buffer) => NativeMemory.Free(buffer);

    private static void Print(delegate* unmanaged<nint, byte*, int, int> output, nint context, string line)
    {
        int refused;
        fixed (char* text = line) refused = output(context, (byte*)text, line.Length);
        if (refused != 0) throw new OperationCanceledException("the compile-time output callback failed");
    }
}
