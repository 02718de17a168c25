using System.Reflection;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Cli;

/// <summary>
/// maruc, the command-line front end: <c>maruc build -o lib.so [options] file.l...</c>.
/// Exit codes: 0 success, 1 compilation errors, 2 usage errors. Never prints a stack trace.
/// </summary>
internal static class CommandLine
{
    public const int Success = 0;
    public const int CompilationFailed = 1;
    public const int UsageError = 2;

    private const string Usage = """
        Usage: maruc <command> [options]

        Commands:
          build     Compile Maru (.l) files into a native shared library.
          run       Compile for this machine, load the library and call its main.
          help      Show this help, or a command's help: maruc help build.

        Options:
          -h, --help     Show help.
          --version      Show the version.

        Example:
          maruc build -o libmath.so lisp/math.l
        """;

    private const string BuildUsage = """
        Usage: maruc build -o <library> [options] <file.l>...

        Compiles the Maru files, in the order given, into one shared library.
        Errors are printed as path.l(line,column): error MARUnnnn: message.

        Options:
          -o, --output <file>        The library to write (required), e.g. libmath.so.
          --target <rid>             The runtime identifier to compile for (default: this machine).
                                     Known: linux-x64, linux-arm64, osx-x64, osx-arm64.
          --shims <file.cs>          Also write the C# [LibraryImport] shims to this file.
          --library-name <name>      The library name the shims import (default: from the output
                                     file name, libmath.so -> math).
          --namespace <name>         Namespace of the generated class (default: global).
          --class-name <name>        Name of the generated class (default: MaruExports).
          --listing <file>           Also write the generated assembly (Intel syntax) with the
                                     Maru source lines interleaved.
          -O0, -O1                   Optimisation level: -O0 is straight lowering (for debugging),
                                     -O1 (the default) runs the optimiser and register allocator.
          --max-steps <n>            Compile-time evaluation steps allowed (default 50,000,000).
          --max-memory <MiB>         Memory compile-time evaluation may allocate (default 256).
          --max-time <seconds>       Time the whole compilation may take (default 60).
          -h, --help                 Show this help.
        """;

    private const string RunUsage = """
        Usage: maruc run <file.l>... [-- <program arguments>...]

        Compiles the Maru files for this machine, loads the library into this process and calls
        its function main, with (argc argv) when main takes two parameters. The exit status is
        main's result modulo 256. Errors are printed as for build.

        Options:
          -h, --help                 Show this help.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return Dispatch(args, stdout, stderr);
        }
        catch (Exception exception)
        {
            stderr.WriteLine(new Diagnostic(DiagnosticCode.InternalError, DiagnosticSeverity.Error, SourceLocation.None,
                $"internal compiler error: {exception.GetType().Name}: {FirstLine(exception.Message)}"));
            return CompilationFailed;
        }
    }

    private static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine(Usage);
            return UsageError;
        }
        switch (args[0])
        {
            case "-h" or "--help" or "-?":
                stdout.WriteLine(Usage);
                return Success;
            case "help":
                if (args.Length > 1 && args[1] == "build") stdout.WriteLine(BuildUsage);
                else if (args.Length > 1 && args[1] == "run") stdout.WriteLine(RunUsage);
                else if (args.Length > 1) return UsageErrorOut(stderr, $"unknown command '{args[1]}'");
                else stdout.WriteLine(Usage);
                return Success;
            case "--version":
                stdout.WriteLine($"maruc {Version()}");
                return Success;
            case "build":
                return Build(args.AsSpan(1), stdout, stderr);
            case "run":
                return RunProgram(args.AsSpan(1), stdout, stderr);
            default:
                return UsageErrorOut(stderr, args[0].StartsWith('-') ? $"unknown option '{args[0]}'" : $"unknown command '{args[0]}'");
        }
    }

    private static int Build(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? output = null, target = null, shims = null, libraryName = null, ns = null, className = null, listing = null;
        string? maxSteps = null, maxMemory = null, maxTime = null;
        var level = OptimisationLevel.O1;
        var files = new List<string>();
        var onlyFiles = false;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (onlyFiles || arg == "-" || !arg.StartsWith('-'))
            {
                files.Add(arg);
                continue;
            }
            if (arg == "--")
            {
                onlyFiles = true;
                continue;
            }
            if (arg is "-h" or "--help")
            {
                stdout.WriteLine(BuildUsage);
                return Success;
            }
            if (arg is "-O0" or "-O1")
            {
                level = arg == "-O0" ? OptimisationLevel.O0 : OptimisationLevel.O1;
                continue;
            }

            // --name=value and --name value are both accepted.
            var name = arg;
            string? value = null;
            var equals = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }
            ref string? slot = ref output;
            switch (name)
            {
                case "-o" or "--output": slot = ref output; break;
                case "--target": slot = ref target; break;
                case "--shims": slot = ref shims; break;
                case "--library-name": slot = ref libraryName; break;
                case "--namespace": slot = ref ns; break;
                case "--class-name": slot = ref className; break;
                case "--listing": slot = ref listing; break;
                case "--max-steps": slot = ref maxSteps; break;
                case "--max-memory": slot = ref maxMemory; break;
                case "--max-time": slot = ref maxTime; break;
                default: return UsageErrorOut(stderr, $"unknown option '{arg}'", build: true);
            }
            if (value is null)
            {
                if (i + 1 >= args.Length) return UsageErrorOut(stderr, $"option '{name}' needs a value", build: true);
                value = args[++i];
            }
            if (value.Length == 0) return UsageErrorOut(stderr, $"option '{name}' needs a non-empty value", build: true);
            if (slot is not null) return UsageErrorOut(stderr, $"option '{name}' given twice", build: true);
            slot = value;
        }

        if (output is null) return UsageErrorOut(stderr, "missing -o <library>", build: true);
        if (files.Count == 0) return UsageErrorOut(stderr, "no input files", build: true);
        long steps = CompilationOptions.DefaultMaxEvaluationSteps, memoryMiB = CompilationOptions.DefaultMaxEvaluationMemory >> 20,
            seconds = (long)CompilationOptions.DefaultMaxCompilationTime.TotalSeconds;
        if ((maxSteps is not null && !TryParseLimit(maxSteps, long.MaxValue, out steps))
            || (maxMemory is not null && !TryParseLimit(maxMemory, long.MaxValue >> 20, out memoryMiB))
            || (maxTime is not null && !TryParseLimit(maxTime, 86_400, out seconds)))
            return UsageErrorOut(stderr, "--max-steps, --max-memory and --max-time take a positive whole number", build: true);

        var diagnostics = new DiagnosticBag();
        var platform = target is null ? HostTarget(diagnostics) : TargetPlatform.Parse(target, diagnostics);
        var sources = new List<SourceFile>();
        foreach (var file in files)
        {
            if (File.Exists(file)) sources.Add(new SourceFile(file, File.ReadAllText(file)));
            else diagnostics.Error(DiagnosticCode.SourceFileNotFound, SourceLocation.None, $"source file '{file}' not found");
        }
        if (platform is null || diagnostics.HasErrors) return Fail(diagnostics.Items, stderr, output, shims);

        var options = new CompilationOptions
        {
            Target = platform,
            LibraryName = libraryName ?? LibraryNameFromFile(output),
            ShimNamespace = ns ?? "",
            ShimClassName = className ?? "MaruExports",
            Optimisation = level,
            ProduceListing = listing is not null,
            MaxEvaluationSteps = steps,
            MaxEvaluationMemory = memoryMiB << 20,
            MaxCompilationTime = TimeSpan.FromSeconds(seconds),
            CancellationToken = CancelOnCtrlC(),
        };
        var result = MaruCompiler.Compile(sources, options);
        foreach (var line in result.Messages) stderr.WriteLine(line); // compile-time print/println; stdout stays clean
        if (!result.Success) return Fail(result.Diagnostics, stderr, output, shims);
        if (listing is not null && !TryWrite(listing, result.Listing ?? "", stderr)) return CompilationFailed;

        var shimText = result.CSharpShims;
        if (shims is not null && shimText is null)
        {
            var shimDiagnostics = new DiagnosticBag();
            shimText = CSharpShimGenerator.Generate(result.Exports, options, shimDiagnostics);
            if (shimDiagnostics.HasErrors) return Fail([.. result.Diagnostics, .. shimDiagnostics.Items], stderr, output, shims);
        }

        foreach (var warning in result.Diagnostics) stderr.WriteLine(warning);
        var written = TryWrite(output, result.Library!, stderr) && (shims is null || TryWrite(shims, shimText!, stderr));
        return written ? Success : CompilationFailed;
    }

    private static bool TryParseLimit(string text, long max, out long value) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value > 0 && value <= max;

    /// <summary>Ctrl+C stops the compilation (MARU0503, no output written) instead of killing the process mid-write.</summary>
    private static CancellationToken CancelOnCtrlC()
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = !source.IsCancellationRequested; // a second Ctrl+C ends the process
            source.Cancel();
        };
        return source.Token;
    }

    private static int RunProgram(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        var files = new List<string>();
        var programArguments = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--")
            {
                programArguments.AddRange(args[(i + 1)..].ToArray());
                break;
            }
            if (args[i] is "-h" or "--help")
            {
                stdout.WriteLine(RunUsage);
                return Success;
            }
            if (args[i].StartsWith('-')) return UsageErrorOut(stderr, $"unknown option '{args[i]}'");
            files.Add(args[i]);
        }
        if (files.Count == 0) return UsageErrorOut(stderr, "no input files");

        var diagnostics = new DiagnosticBag();
        var platform = HostTarget(diagnostics);
        var sources = new List<SourceFile>();
        foreach (var file in files)
        {
            if (File.Exists(file)) sources.Add(new SourceFile(file, File.ReadAllText(file)));
            else diagnostics.Error(DiagnosticCode.SourceFileNotFound, SourceLocation.None, $"source file '{file}' not found");
        }
        if (platform is null || diagnostics.HasErrors)
        {
            foreach (var diagnostic in diagnostics.Items) stderr.WriteLine(diagnostic);
            return CompilationFailed;
        }
        var result = MaruCompiler.Compile(sources, new CompilationOptions { Target = platform, LibraryName = "program" });
        foreach (var diagnostic in result.Diagnostics) stderr.WriteLine(diagnostic);
        return result.Success ? Runner.Run(result, programArguments, stderr) : CompilationFailed;
    }

    private static int Fail(IEnumerable<Diagnostic> diagnostics, TextWriter stderr, string output, string? shims)
    {
        foreach (var diagnostic in diagnostics) stderr.WriteLine(diagnostic);
        // Never leave an old library behind that looks like the result of this (failed) build.
        foreach (var path in new[] { output, shims })
        {
            try
            {
                if (path is not null && File.Exists(path)) File.Delete(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // The error above is what matters; a stale file we cannot delete is reported by the OS on next write.
            }
        }
        return CompilationFailed;
    }

    private static bool TryWrite(string path, object contents, TextWriter stderr)
    {
        try
        {
            if (contents is byte[] bytes) OutputFile.WriteAtomically(path, bytes);
            else OutputFile.WriteAtomically(path, (string)contents);
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine(new Diagnostic(DiagnosticCode.OutputNotWritable, DiagnosticSeverity.Error, SourceLocation.None,
                $"cannot write '{path}': {FirstLine(exception.Message)}"));
            return false;
        }
    }

    private static TargetPlatform? HostTarget(DiagnosticBag diagnostics)
    {
        var host = TargetPlatform.Host;
        if (host is not null) return TargetPlatform.Parse(host.RuntimeIdentifier, diagnostics);
        diagnostics.Error(DiagnosticCode.UnknownRuntimeIdentifier, SourceLocation.None,
            "this machine is not a target maruc knows; pass --target " + string.Join("|", TargetPlatform.Known.Select(t => t.RuntimeIdentifier)));
        return null;
    }

    /// <summary>libmath.so -> math, math.dll -> math, libmath.dylib -> math.</summary>
    internal static string LibraryNameFromFile(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var extension in new[] { ".so", ".dylib", ".dll" })
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase)) { name = name[..^extension.Length]; break; }
        if (name.StartsWith("lib", StringComparison.Ordinal) && name.Length > 3) name = name[3..];
        return name;
    }

    private static int UsageErrorOut(TextWriter stderr, string message, bool build = false)
    {
        stderr.WriteLine($"maruc: {message}");
        stderr.WriteLine(build ? "Run 'maruc build --help' for usage." : "Run 'maruc --help' for usage.");
        return UsageError;
    }

    private static string Version() =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(CommandLine).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
