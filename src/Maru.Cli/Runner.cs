using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Interop;

namespace Maru.Cli;

/// <summary>
/// <c>maruc run</c>: compile for this machine, load the library with dlopen and call its
/// <c>main</c> in this process — the "JIT through dlopen" path. C's stdout is flushed after
/// <c>main</c> returns so printf output is never lost or interleaved out of order.
/// </summary>
internal static unsafe partial class Runner
{
    public static int Run(CompilationResult result, IReadOnlyList<string> programArguments, TextWriter stderr)
    {
        var main = result.Exports.FirstOrDefault(e => e.MaruName == "main");
        if (main is null || main.Parameters.Count is not (0 or 2))
        {
            stderr.WriteLine($"maruc: cannot run: the program needs a function 'main' taking no parameters or (argc argv){(main is null ? "" : $", not {main.Parameters.Count}")}");
            return CommandLine.UsageError;
        }

        var directory = Directory.CreateTempSubdirectory("maruc-run-").FullName;
        var path = Path.Combine(directory, "libprogram.so");
        nint handle = 0;
        var argv = new List<nint>();
        try
        {
            File.WriteAllBytes(path, result.Library!);
            handle = NativeLibrary.Load(path);
            var entry = NativeLibrary.GetExport(handle, SymbolNames.ToSymbolName("main"));
            foreach (var argument in programArguments.Prepend("main"))
                argv.Add(Marshal.StringToCoTaskMemUTF8(argument));
            argv.Add(0);
            Console.Out.Flush();
            long status;
            fixed (nint* arguments = argv.ToArray())
            {
                status = main.Parameters.Count == 0
                    ? ((delegate* unmanaged<long>)entry)()
                    : ((delegate* unmanaged<long, nint*, long>)entry)(programArguments.Count + 1, arguments);
            }
            FlushAll(0);
            return (int)(status & 0xff);
        }
        finally
        {
            foreach (var pointer in argv) Marshal.FreeCoTaskMem(pointer);
            if (handle != 0) NativeLibrary.Free(handle);
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>fflush(NULL): flushes every C stdio stream the program wrote to.</summary>
    [LibraryImport("libc", EntryPoint = "fflush")]
    private static partial int FlushAll(nint stream);
}
