using System.Diagnostics;
using System.Text;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Runtime;

namespace Maru.Cli;

/// <summary>
/// <c>maruc repl</c>: an interactive session. The session is the list of definitions accepted so
/// far; every input is compiled together with them (a warm compilation takes well under a
/// millisecond), so each definition is checked, compiled natively and loaded at once, and the
/// module holding the session's code is replaced (hot reload) whenever a definition is added.
/// An expression is evaluated by the compile-time interpreter (as a top-level form, after the
/// definitions); <c>!expression</c> compiles it into a function and calls it natively instead.
/// </summary>
internal sealed class Repl(TextReader input, TextWriter stdout, TextWriter stderr)
{
    private readonly List<SourceFile> _definitions = [];
    private MaruModule? _module;
    private int _sessionOutputLines;
    private int _inputs;

    private const string Help = """
        Enter Maru forms; a form may span several lines.
          (define-function f (x) ...)   definitions (define, define-form, define-structure, define-export...)
                                        are added to the session, compiled natively and loaded
          (f 10)                        evaluated by the compile-time interpreter; its value is printed
          !(f 10)                       compiled into a native function and called; the word it returns is printed
          :defs                         the compiled functions and globals of the session
          :load file.l                  add a file's definitions to the session
          :reset                        forget every definition
          :help                         this text
          :quit                         leave (end of input does too)
        """;

    public int Run(IReadOnlyList<string> files)
    {
        stdout.WriteLine("Maru REPL: expressions run in the compile-time interpreter, definitions are compiled natively, !expr calls native code. :help for help.");
        foreach (var file in files)
            if (!Load(file)) return CommandLine.CompilationFailed;
        try
        {
            while (ReadForm() is { } text)
            {
                var trimmed = text.Trim();
                if (trimmed.Length == 0) continue;
                if (trimmed.StartsWith(':'))
                {
                    if (!Command(trimmed)) break;
                    continue;
                }
                if (trimmed.StartsWith('!')) CallNatively(trimmed[1..]);
                else if (IsDefinition(trimmed)) Define(new SourceFile($"<input {++_inputs}>", trimmed));
                else Evaluate(trimmed);
            }
            return CommandLine.Success;
        }
        finally
        {
            _module?.Dispose();
        }
    }

    private bool Command(string command)
    {
        var (name, argument) = command.IndexOf(' ') is var space and > 0 ? (command[..space], command[(space + 1)..].Trim()) : (command, "");
        switch (name)
        {
            case ":quit" or ":q" or ":exit":
                return false;
            case ":help" or ":h" or ":?":
                stdout.WriteLine(Help);
                break;
            case ":reset":
                _definitions.Clear();
                _module?.Dispose();
                _module = null;
                _sessionOutputLines = 0;
                stdout.WriteLine("session cleared");
                break;
            case ":load":
                Load(argument);
                break;
            case ":defs":
                if (_module is null) stdout.WriteLine("no definitions yet");
                else
                {
                    foreach (var function in _module.Functions) stdout.WriteLine($"  {function}");
                    foreach (var global in _module.Globals) stdout.WriteLine($"  {global.MaruName} (global) = {System.Runtime.InteropServices.Marshal.ReadInt64(_module.GetGlobalAddress(global.MaruName))}");
                }
                break;
            default:
                stderr.WriteLine($"unknown command {name}; :help lists them");
                break;
        }
        return true;
    }

    private bool Load(string file)
    {
        if (!File.Exists(file))
        {
            stderr.WriteLine($"maruc: source file '{file}' not found");
            return false;
        }
        return Define(new SourceFile(file, File.ReadAllText(file)));
    }

    /// <summary>Adds a definition to the session if the session still compiles with it, and loads the new code.</summary>
    private bool Define(SourceFile definition)
    {
        var clock = Stopwatch.StartNew();
        var module = TryCompile([.. _definitions, definition], out var output);
        if (module is null) return false;
        var elapsed = clock.Elapsed.TotalMilliseconds;
        PrintNew(output, _sessionOutputLines);
        var before = _module?.Functions.Select(f => f.Name).Concat(_module.Globals.Select(g => g.MaruName)).ToHashSet() ?? [];
        var added = module.Functions.Select(f => f.Name).Concat(module.Globals.Select(g => g.MaruName)).Where(n => !before.Contains(n)).ToList();
        _module?.Dispose();
        _module = module;
        _definitions.Add(definition);
        _sessionOutputLines = output.Count;
        stdout.WriteLine(added.Count > 0 ? $"compiled {string.Join(", ", added)} ({elapsed:F2} ms)" : $"ok ({elapsed:F2} ms)");
        return true;
    }

    /// <summary>An expression, evaluated after the session's definitions by the compile-time interpreter.</summary>
    private void Evaluate(string expression)
    {
        using var module = TryCompile([.. _definitions, Wrapped("(println", expression)], out var output, lastIsWrapped: true);
        if (module is not null) PrintNew(output, _sessionOutputLines);
    }

    /// <summary>!expression: compiled as the body of a function, loaded next to the session's code and called.</summary>
    private void CallNatively(string expression)
    {
        var clock = Stopwatch.StartNew();
        using var module = TryCompile([.. _definitions, Wrapped("(define-function repl-expression ()", expression)], out var output, lastIsWrapped: true);
        if (module is null) return;
        var compiled = clock.Elapsed.TotalMilliseconds;
        PrintNew(output, _sessionOutputLines);
        var value = module.GetFunction("repl-expression").Invoke();
        stdout.WriteLine($"{value}   (native; compiled and loaded in {compiled:F2} ms)");
    }

    /// <summary>
    /// The input inside a form of the REPL's own. The opening goes on a line of its own, so the
    /// input keeps its columns; diagnostics are moved up that one line (<see cref="Located"/>).
    /// </summary>
    private SourceFile Wrapped(string opening, string expression) => new($"<input {++_inputs}>", $"{opening}\n{expression})");

    private static Diagnostic Located(Diagnostic diagnostic, SourceFile? wrapped) =>
        wrapped is not null && diagnostic.Location.File == wrapped.Path && diagnostic.Location.Line > 1
            ? diagnostic with { Location = diagnostic.Location with { Line = diagnostic.Location.Line - 1 } }
            : diagnostic;

    private MaruModule? TryCompile(IReadOnlyList<SourceFile> sources, out List<string> output, bool lastIsWrapped = false)
    {
        var lines = new List<string>();
        output = lines;
        try
        {
            return MaruModule.Compile(sources, new MaruCompileOptions { CompileTimeOutput = lines.Add });
        }
        catch (MaruCompilationException failure)
        {
            PrintNew([.. failure.CompileTimeOutput], _sessionOutputLines);
            foreach (var diagnostic in failure.Diagnostics) stderr.WriteLine(Located(diagnostic, lastIsWrapped ? sources[^1] : null));
            return null;
        }
    }

    /// <summary>Compile-time output past what the session's definitions alone print (evaluation is deterministic, so they print it first).</summary>
    private void PrintNew(List<string> lines, int skip)
    {
        foreach (var line in lines.Skip(skip)) stdout.WriteLine(line);
    }

    private static readonly string[] DefinitionHeads = ["define", "compile-begin", "compile-end", "require", "load"];

    private static bool IsDefinition(string form)
    {
        if (!form.StartsWith('(')) return false;
        var head = new string(form.Skip(1).SkipWhile(char.IsWhiteSpace).TakeWhile(c => !char.IsWhiteSpace(c) && c is not ('(' or ')')).ToArray());
        return DefinitionHeads.Any(d => head == d || head.StartsWith(d + "-", StringComparison.Ordinal));
    }

    /// <summary>Reads lines until the parentheses balance (outside strings, comments and ?c characters); null at end of input.</summary>
    private string? ReadForm()
    {
        var text = new StringBuilder();
        var depth = 0;
        stdout.Write("maru> ");
        stdout.Flush();
        while (input.ReadLine() is { } line)
        {
            text.AppendLine(line);
            depth += Depth(line);
            if (depth <= 0) return text.ToString();
            stdout.Write("  ... ");
            stdout.Flush();
        }
        return text.Length > 0 ? text.ToString() : null;
    }

    private static int Depth(string line)
    {
        var depth = 0;
        var inString = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
            }
            else if (c == '"') inString = true;
            else if (c == ';') break;
            else if (c == '?' && (i == 0 || char.IsWhiteSpace(line[i - 1]) || line[i - 1] == '(')) i++;
            else if (c == '(') depth++;
            else if (c == ')') depth--;
        }
        return depth;
    }
}
