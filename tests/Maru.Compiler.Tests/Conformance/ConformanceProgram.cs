using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.Conformance;

/// <summary>A call of a compiled function with integer arguments and the integer it must return.</summary>
/// <param name="Text">The call as written, e.g. <c>(fib 20)</c>.</param>
internal sealed record ExpectedCall(string Text, string Function, IReadOnlyList<long> Arguments, long Result)
{
    public override string ToString() => $"{Text} => {Result}";
}

/// <summary>
/// A conformance program (Programs/NAME.l) and the expectations written in its leading comments;
/// README.md describes the format. Only the comment lines before the first line of code are read.
/// </summary>
internal sealed class ConformanceProgram
{
    public required string Name { get; init; }
    public required string Path { get; init; }

    /// <summary>Every source given to the compiler, in order (the program itself included).</summary>
    public IReadOnlyList<SourceFile> Sources { get; private set; } = [];

    public List<ExpectedCall> Calls { get; } = [];

    /// <summary>The call whose standard output <see cref="Output"/> describes; (main 0 0) by default.</summary>
    public ExpectedCall? OutputCall { get; set; }

    /// <summary>The exact text the output call prints, or null when the program makes no claim.</summary>
    public string? Output { get; set; }

    /// <summary>The lines compile-time code prints (println, print, dump), or null when not checked.</summary>
    public List<string>? Messages { get; set; }

    /// <summary>The names of the compiled functions (globals are not listed), in any order, or null when not checked.</summary>
    public List<string>? Exports { get; set; }

    /// <summary>Warnings the compilation may give; any other diagnostic fails the program.</summary>
    public HashSet<DiagnosticCode> AllowedWarnings { get; } = [];

    /// <summary>False for programs the compile-time interpreter cannot run (externs, memory, 0 as false...).</summary>
    public bool Interpret { get; set; } = true;

    public static string ProgramsDirectory => System.IO.Path.Combine(AppContext.BaseDirectory, "Conformance", "Programs");

    public static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(ProgramsDirectory, "*.l")
            .Select(p => System.IO.Path.GetFileNameWithoutExtension(p))
            .Order(StringComparer.Ordinal);

    public static ConformanceProgram Load(string name)
    {
        var path = System.IO.Path.Combine(ProgramsDirectory, name + ".l");
        var text = File.ReadAllText(path);
        var header = new List<(int Line, string Text)>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r').TrimStart();
            if (line.Length == 0) continue;
            if (!line.StartsWith(';')) break;
            if (line.StartsWith(";;") && !line.StartsWith(";;;"))
                header.Add((i + 1, line[2..].StartsWith(' ') ? line[3..] : line[2..]));
        }

        var files = new List<string> { "." };
        var program = new ConformanceProgram { Name = name, Path = path };
        List<string>? outputLines = null;
        List<string>? block = null;
        foreach (var (number, line) in header)
        {
            string Where() => $"{name}.l({number})";
            if (line.StartsWith('|'))
            {
                if (block is null) throw new FormatException($"{Where()}: a '|' line must follow 'output:' or 'messages:'");
                block.Add(line.Length > 1 && line[1] == ' ' ? line[2..] : line[1..]);
                continue;
            }
            block = null;
            var colon = line.IndexOf(':');
            var keyword = colon > 0 ? line[..colon] : "";
            var rest = colon > 0 ? line[(colon + 1)..].Trim() : "";
            switch (keyword)
            {
                case "call":
                    program.Calls.Add(ParseCall(rest, Where()));
                    break;
                case "output":
                    if (program.Output is not null) throw new FormatException($"{Where()}: a second 'output:'");
                    program.OutputCall = rest.Length > 0 ? ParseCall(rest + " => 0", Where()) : new ExpectedCall("(main 0 0)", "main", [0, 0], 0);
                    block = outputLines = [];
                    break;
                case "messages":
                    block = program.Messages = [];
                    break;
                case "files":
                    files = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                    if (!files.Contains(".")) files.Add(".");
                    break;
                case "exports":
                    program.Exports = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                    break;
                case "interpret":
                    if (!rest.StartsWith("no")) throw new FormatException($"{Where()}: 'interpret:' takes 'no' and a reason");
                    program.Interpret = false;
                    break;
                case "warnings":
                    foreach (var code in rest.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        program.AllowedWarnings.Add(Enum.GetValues<DiagnosticCode>().Single(c => $"MARU{(int)c:D4}" == code));
                    break;
            }
        }
        if (outputLines is not null)
            program.Output = string.Concat(outputLines.Select(l => l + "\n"));

        program.Sources = files.Select(f => f == "." ? new SourceFile(path, text) : SourceFile.Load(System.IO.Path.Combine(ProgramsDirectory, f))).ToList();
        return program;
    }

    /// <summary><c>(f 1 -2 ?a 0x10) => 42</c>, read with the Maru reader so every integer syntax works.</summary>
    private static ExpectedCall ParseCall(string text, string where)
    {
        var arrow = text.LastIndexOf("=>", StringComparison.Ordinal);
        if (arrow < 0) throw new FormatException($"{where}: expected '(function args...) => result'");
        var call = text[..arrow].Trim();
        var diagnostics = new DiagnosticBag();
        var forms = Reader.Read(new SourceFile(where, call + " " + text[(arrow + 2)..]), diagnostics);
        if (diagnostics.HasErrors || forms.Count != 2 || forms[0] is not PairDatum { Head: SymbolDatum function } pair || forms[1] is not IntegerDatum result)
            throw new FormatException($"{where}: expected '(function integer...) => integer', got '{text}'");
        var arguments = new List<long>();
        for (Datum rest = pair.Tail; rest is PairDatum p; rest = p.Tail)
        {
            if (p.Head is not IntegerDatum argument) throw new FormatException($"{where}: arguments must be integers: '{call}'");
            arguments.Add(argument.Value);
        }
        return new ExpectedCall(call, function.Name, arguments, result.Value);
    }

    public override string ToString() => Name;
}
