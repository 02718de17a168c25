using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Reflection;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Cli;

/// <summary>
/// maruc, the command-line front end, on System.CommandLine (help, parse errors, response files
/// <c>@file</c> and shell completion behave as in other .NET tools). Exit codes: 0 success,
/// 1 compilation errors, 2 usage errors. Never prints a stack trace.
/// </summary>
internal static class CommandLine
{
    public const int Success = 0;
    public const int CompilationFailed = 1;
    public const int UsageError = 2;

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
        // Everything after `run ... --` belongs to the Maru program, never to maruc's parser.
        string[] programArguments = [];
        if (args.Length > 0 && args[0] == "run" && Array.IndexOf(args, "--") is var separator and > 0)
        {
            programArguments = args[(separator + 1)..];
            args = args[..separator];
        }

        var root = BuildCommands(stdout, stderr, programArguments);
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = stderr, Error = stderr });
            return UsageError;
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not (HelpAction or VersionPrinter))
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"maruc: {error.Message}");
            var command = parse.CommandResult.Command == root ? "maruc" : $"maruc {parse.CommandResult.Command.Name}";
            stderr.WriteLine($"Run '{command} --help' for usage.");
            return UsageError;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
    }

    private static RootCommand BuildCommands(TextWriter stdout, TextWriter stderr, string[] programArguments)
    {
        var root = new RootCommand("maruc: compiles Maru (.l) files to native shared libraries, runs them, and offers a REPL.");
        foreach (var option in root.Options)
            if (option is VersionOption) option.Action = new VersionPrinter(stdout);

        root.Subcommands.Add(BuildCommand(stdout, stderr));
        root.Subcommands.Add(RunCommand(stderr, programArguments));
        root.Subcommands.Add(ReplCommand(stdout, stderr));

        var helpTopic = new Argument<string?>("command") { Description = "The command to explain.", Arity = ArgumentArity.ZeroOrOne };
        var help = new Command("help", "Show this help, or a command's help: maruc help build.") { helpTopic };
        help.SetAction(parse =>
        {
            var topic = parse.GetValue(helpTopic);
            if (topic is not null && root.Subcommands.All(c => c.Name != topic))
            {
                stderr.WriteLine($"maruc: unknown command '{topic}'");
                return UsageError;
            }
            return root.Parse(topic is null ? ["--help"] : [topic, "--help"]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        });
        root.Subcommands.Add(help);
        return root;
    }

    private static Command BuildCommand(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string>("--output", "-o") { Description = "The library to write, e.g. libmath.so.", Required = true, HelpName = "library" };
        var target = new Option<string?>("--target") { Description = "The runtime identifier to compile for (default: this machine). Known: " + string.Join(", ", TargetPlatform.Known.Select(t => t.RuntimeIdentifier)) + ".", HelpName = "rid" };
        var shims = new Option<string?>("--shims") { Description = "Also write the C# [LibraryImport] shims to this file.", HelpName = "file.cs" };
        var libraryName = new Option<string?>("--library-name") { Description = "The library name the shims import (default: from the output file name, libmath.so -> math).", HelpName = "name" };
        var ns = new Option<string?>("--namespace") { Description = "Namespace of the generated class (default: global).", HelpName = "name" };
        var className = new Option<string?>("--class-name") { Description = "Name of the generated class (default: MaruExports).", HelpName = "name" };
        var listing = new Option<string?>("--listing") { Description = "Also write the generated assembly (Intel syntax) with the Maru source lines interleaved.", HelpName = "file" };
        var o0 = new Option<bool>("-O0") { Description = "Straight code, for debugging." };
        var o1 = new Option<bool>("-O1") { Description = "Run the optimiser and register allocator (the default)." };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Compile-time evaluation steps allowed (default 50,000,000).", HelpName = "n" };
        var maxMemory = new Option<long?>("--max-memory") { Description = "Memory compile-time evaluation may allocate, in MiB (default 256).", HelpName = "MiB" };
        var maxTime = new Option<long?>("--max-time") { Description = "Time the whole compilation may take, in seconds (default 60).", HelpName = "seconds" };
        var files = new Argument<string[]>("file.l") { Description = "The Maru files, compiled in the order given into one library.", Arity = ArgumentArity.OneOrMore };

        var command = new Command("build", "Compile Maru (.l) files into a native shared library. Errors are printed as path.l(line,column): error MARUnnnn: message.")
        {
            output, target, shims, libraryName, ns, className, listing, o0, o1, maxSteps, maxMemory, maxTime, files,
        };
        command.SetAction(parse =>
        {
            foreach (var option in new Option<string?>[] { output!, target, shims, libraryName, ns, className, listing })
                if (parse.GetValue(option) is "")
                    return UsageErrorOut(stderr, $"option '{option.Name}' needs a non-empty value", "build");
            if (parse.GetValue(o0) && parse.GetValue(o1)) return UsageErrorOut(stderr, "-O0 and -O1 are exclusive", "build");
            var (steps, memory, time) = (parse.GetValue(maxSteps), parse.GetValue(maxMemory), parse.GetValue(maxTime));
            if (steps is <= 0 || memory is <= 0 or > long.MaxValue >> 20 || time is <= 0 or > 86_400)
                return UsageErrorOut(stderr, "--max-steps, --max-memory and --max-time take a positive whole number", "build");
            return Build(new BuildRequest(parse.GetValue(output)!, parse.GetValue(target), parse.GetValue(shims), parse.GetValue(libraryName),
                parse.GetValue(ns), parse.GetValue(className), parse.GetValue(listing),
                parse.GetValue(o0) ? OptimisationLevel.O0 : OptimisationLevel.O1, parse.GetValue(files)!,
                steps ?? CompilationOptions.DefaultMaxEvaluationSteps, (memory ?? CompilationOptions.DefaultMaxEvaluationMemory >> 20) << 20,
                time is { } seconds ? TimeSpan.FromSeconds(seconds) : CompilationOptions.DefaultMaxCompilationTime), stderr);
        });
        return command;
    }

    private static Command RunCommand(TextWriter stderr, string[] programArguments)
    {
        var files = new Argument<string[]>("file.l") { Description = "The Maru files to compile.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("run", "Compile for this machine, load the library into this process (Maru.Runtime) and call its main, with (argc argv) when main takes two parameters; the exit status is main's result modulo 256. Arguments after -- go to the program.")
        {
            files,
        };
        command.SetAction(parse => Runner.Run(parse.GetValue(files)!, programArguments, stderr));
        return command;
    }

    private static Command ReplCommand(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("file.l") { Description = "Files whose definitions the session starts with.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("repl", "An interactive session: expressions are evaluated by the compile-time interpreter, definitions are also compiled natively, and !(expression) runs compiled code. :help lists the commands.")
        {
            files,
        };
        command.SetAction(parse => new Repl(Console.In, stdout, stderr).Run(parse.GetValue(files)!));
        return command;
    }

    private sealed record BuildRequest(string Output, string? Target, string? Shims, string? LibraryName, string? Namespace,
        string? ClassName, string? Listing, OptimisationLevel Level, string[] Files, long MaxSteps, long MaxMemory, TimeSpan MaxTime);

    /// <summary>Ctrl+C stops the compilation (MARU0504, no output written) instead of killing the process mid-write.</summary>
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

    private static int Build(BuildRequest request, TextWriter stderr)
    {
        var (output, shims, listing) = (request.Output, request.Shims, request.Listing);
        var diagnostics = new DiagnosticBag();
        var platform = request.Target is null ? HostTarget(diagnostics) : TargetPlatform.Parse(request.Target, diagnostics);
        var sources = ReadSources(request.Files, diagnostics);
        if (platform is null || diagnostics.HasErrors) return Fail(diagnostics.Items, stderr, output, shims);

        var options = new CompilationOptions
        {
            Target = platform,
            LibraryName = request.LibraryName ?? LibraryNameFromFile(output),
            ShimNamespace = request.Namespace ?? "",
            ShimClassName = request.ClassName ?? "MaruExports",
            Optimisation = request.Level,
            ProduceListing = listing is not null,
            MaxEvaluationSteps = request.MaxSteps,
            MaxEvaluationMemory = request.MaxMemory,
            MaxCompilationTime = request.MaxTime,
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

    internal static List<SourceFile> ReadSources(IEnumerable<string> files, DiagnosticBag diagnostics)
    {
        var sources = new List<SourceFile>();
        foreach (var file in files)
        {
            if (File.Exists(file)) sources.Add(new SourceFile(file, File.ReadAllText(file)));
            else diagnostics.Error(DiagnosticCode.SourceFileNotFound, SourceLocation.None, $"source file '{file}' not found");
        }
        return sources;
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
            "this machine is not a target maruc knows; pass --target " + string.Join("|", TargetPlatform.Supported.Select(t => t.RuntimeIdentifier)));
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

    internal static int UsageErrorOut(TextWriter stderr, string message, string? command = null)
    {
        stderr.WriteLine($"maruc: {message}");
        stderr.WriteLine(command is null ? "Run 'maruc --help' for usage." : $"Run 'maruc {command} --help' for usage.");
        return UsageError;
    }

    /// <summary>--version prints "maruc &lt;version&gt;".</summary>
    private sealed class VersionPrinter(TextWriter stdout) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            stdout.WriteLine($"maruc {Version()}");
            return Success;
        }
    }

    private static string Version() =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(CommandLine).Assembly.GetName().Version?.ToString() ?? "unknown";

    internal static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
