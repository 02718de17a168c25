using System.Runtime.InteropServices;
using Maru.Runtime;

namespace Maru.Cli;

/// <summary>
/// <c>maruc run</c>: compile for this process with Maru.Runtime, load, and call <c>main</c> — the
/// "JIT through dlopen" path. C's stdout is flushed after <c>main</c> returns so printf output is
/// never lost or interleaved out of order.
/// </summary>
internal static unsafe partial class Runner
{
    public static int Run(IReadOnlyList<string> files, IReadOnlyList<string> programArguments, TextWriter stderr)
    {
        MaruModule module;
        try
        {
            // Compile-time println goes to stderr as it happens; stdout belongs to the program.
            module = MaruModule.CompileFiles(files, new MaruCompileOptions { CompileTimeOutput = stderr.WriteLine });
        }
        catch (MaruCompilationException failure)
        {
            foreach (var diagnostic in failure.Diagnostics) stderr.WriteLine(diagnostic);
            return CommandLine.CompilationFailed;
        }

        using (module)
        {
            foreach (var warning in module.Warnings) stderr.WriteLine(warning);
            var main = module.Functions.FirstOrDefault(f => f.Name == "main");
            if (main is null || main.WordCount is not (0 or 2))
            {
                stderr.WriteLine($"maruc: cannot run: the program needs a function 'main' taking no parameters or (argc argv){(main is null ? "" : $", not {main.WordCount}")}");
                return CommandLine.UsageError;
            }

            var argv = new List<nint>();
            try
            {
                foreach (var argument in programArguments.Prepend("main"))
                    argv.Add(Marshal.StringToCoTaskMemUTF8(argument));
                argv.Add(0);
                Console.Out.Flush();
                long status;
                fixed (nint* arguments = argv.ToArray())
                {
                    status = main.WordCount == 0
                        ? ((delegate* unmanaged<long>)main.Pointer)()
                        : ((delegate* unmanaged<long, nint*, long>)main.Pointer)(programArguments.Count + 1, arguments);
                }
                FlushAll(0);
                return (int)(status & 0xff);
            }
            finally
            {
                foreach (var pointer in argv) Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    /// <summary>fflush(NULL): flushes every C stdio stream the program wrote to.</summary>
    [LibraryImport("libc", EntryPoint = "fflush")]
    private static partial int FlushAll(nint stream);
}
