using System.Runtime.ExceptionServices;
using System.Text;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>What compile-time evaluation hands to the rest of the compiler.</summary>
/// <param name="Unit">The definitions to compile.</param>
/// <param name="Messages">Lines printed at compile time (print, println, dump...), in order.</param>
/// <param name="LoadedFiles">Full paths of the files load/require read, in first-load order.</param>
public sealed record EvaluationResult(CompilationUnit Unit, IReadOnlyList<string> Messages, IReadOnlyList<string> LoadedFiles);

/// <summary>
/// Processes source files as maru-2.4's <c>./eval file.l</c> would, after the prelude: every
/// top-level form is read, expanded and evaluated in order. What gets compiled follows emit.l:
/// the definitions made between <c>(compile-begin)</c> and <c>(compile-end)</c>, taken when the
/// section ends. A source file without (compile-begin) is compiled whole: every definition its
/// top-level forms make. Everything else exists only at compile time.
/// </summary>
public sealed class Evaluator
{
    /// <summary>Stack for the evaluation thread: deep compile-time recursion stays far from its end.</summary>
    private const int EvaluationStackSize = 256 * 1024 * 1024;

    private const int MaxLoadNesting = 64;

    /// <summary>Names lowering compiles itself; they are never reported as compile-time only.</summary>
    public static readonly IReadOnlySet<string> CompiledBuiltins = new HashSet<string>(StringComparer.Ordinal)
    {
        "let", "if", "while", "set", "and", "or", "return", "address-of", "quote", "quasiquote", "lambda",
        "oop-at", "set-oop-at", "string-at", "set-string-at", "not",
        "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", "=", "!=", ">=", ">",
    };

    private readonly DiagnosticBag _diagnostics;
    private readonly Action<string>? _outputSink;
    private readonly Interpreter _interpreter;
    private readonly Stack<FileContext> _files = new();
    private readonly List<string> _loadedFiles = new();
    private readonly HashSet<string> _required = new(StringComparer.Ordinal);
    private readonly HashSet<string> _loadedPaths = new(StringComparer.Ordinal);
    private readonly List<string> _messages = new();
    private readonly StringBuilder _partialLine = new();
    private readonly List<Definition> _definitions = new();
    private readonly Dictionary<string, int> _definitionIndex = new(StringComparer.Ordinal);
    private readonly List<Variable> _wholeFileVariables = new();
    private readonly HashSet<Variable> _wholeFileSet = new();
    private readonly HashSet<string> _compileTimeOnly = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Interop.ExportDeclaration> _exportDeclarations = new(StringComparer.Ordinal);

    private readonly string? _baseDirectory;

    private sealed record FileContext(string Path, string Directory, bool CompiledWhole);

    /// <summary>Output lines a first attempt already passed to the sink (see <see cref="Process"/>).</summary>
    private int _outputLinesToSkip;

    private int _outputLinesPassed;

    private Evaluator(CompilationOptions options, DiagnosticBag diagnostics, bool onBorrowedStack, int outputLinesToSkip, PreludeSnapshot? prelude,
        NameTable names, CompilationBudget? clock)
    {
        _maxLoadedFileSize = options.MaxLoadedFileSize;
        _outputLinesToSkip = outputLinesToSkip;
        _diagnostics = diagnostics;
        _outputSink = options.CompileTimeOutput;
        _baseDirectory = options.BaseDirectory;
        // A prelude that would not finish within this compilation's step limit is evaluated (and stopped) as ever.
        if (prelude is not null && (prelude.Steps > options.MaxEvaluationSteps || prelude.Memory > options.MaxEvaluationMemory)) prelude = null;
        _interpreter = new Interpreter(this, names, options.MaxEvaluationSteps, onBorrowedStack, prelude, options.MaxEvaluationMemory, clock)
        {
            ConsChains = options.ConsChainsForTesting,
        };
        _preludeEvaluated = prelude is not null;
    }

    /// <summary>True once the root holds the prelude (from the start, when copied from the snapshot).</summary>
    private bool _preludeEvaluated;

    private readonly long _maxLoadedFileSize;

    /// <summary>Thrown after a fatal error (a limit of the whole compilation) was reported: nothing more is evaluated.</summary>
    private sealed class EvaluationStopped : Exception;

    /// <summary>
    /// Reads and evaluates <paramref name="sources"/> (after the prelude). Never throws for bad input.
    /// <para>
    /// Evaluation first runs on the caller's thread, which is enough for nearly every program and
    /// saves starting a thread. Should that stack run short before a limit of the language is
    /// reached (deep recursion in a macro), the attempt is dropped and the evaluation is done again
    /// from the start on a thread with a big stack, where the depth limits speak first, so the
    /// outcome never depends on the caller's stack. The attempt's diagnostics are kept apart until
    /// it succeeds, and output lines it already passed to <see cref="CompilationOptions.CompileTimeOutput"/>
    /// are not passed again (evaluation is deterministic, so the second run prints the same ones first).
    /// </para>
    /// </summary>
    public static EvaluationResult Process(IReadOnlyList<SourceFile> sources, CompilationOptions options, DiagnosticBag diagnostics) =>
        Process(sources, options, diagnostics, reusePrelude: true);

    internal static EvaluationResult Process(IReadOnlyList<SourceFile> sources, CompilationOptions options, DiagnosticBag diagnostics, CompilationBudget clock) =>
        Process(sources, options, diagnostics, reusePrelude: true, clock);

    /// <summary>As above; without <paramref name="reusePrelude"/> the prelude is read and evaluated afresh (as by the first compilation of a process).</summary>
    internal static EvaluationResult Process(IReadOnlyList<SourceFile> sources, CompilationOptions options, DiagnosticBag diagnostics, bool reusePrelude,
        CompilationBudget? clock = null)
    {
        // The snapshot is chosen once: the names of its symbols start the compilation's name table.
        var prelude = reusePrelude ? PreludeSnapshot.Current : null;
        var names = new NameTable(prelude?.Names);
        var files = sources.Select(source => (source, forms: Reader.Read(source, diagnostics, names))).ToList();
        if (diagnostics.HasErrors)
            return new EvaluationResult(new CompilationUnit(), [], []);

        var attemptDiagnostics = new DiagnosticBag();
        var attempt = new Evaluator(options, attemptDiagnostics, onBorrowedStack: true, outputLinesToSkip: 0, prelude, names, clock);
        try
        {
            var attemptResult = attempt.Run(files);
            foreach (var diagnostic in attemptDiagnostics.Items) diagnostics.Add(diagnostic);
            return attemptResult;
        }
        catch (StackTooSmallException)
        {
            // start again on the big stack
        }

        var linesOutput = attempt._outputLinesPassed;
        EvaluationResult? result = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var evaluator = new Evaluator(options, diagnostics, onBorrowedStack: false, outputLinesToSkip: linesOutput, prelude, names, clock);
                result = evaluator.Run(files);
            }
            catch (Exception exception)
            {
                failure = ExceptionDispatchInfo.Capture(exception);
            }
        }, EvaluationStackSize)
        {
            Name = "Maru compile-time evaluation",
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    private EvaluationResult Run(List<(SourceFile Source, IReadOnlyList<Datum> Forms)> files)
    {
        try
        {
            if (!_preludeEvaluated) EvaluatePrelude();
            foreach (var (source, forms) in files)
                ProcessFile(source.Path, forms, compiledWhole: !forms.Any(IsCompileBegin));
        }
        catch (EvaluationStopped)
        {
            FlushOutput();
            return new EvaluationResult(new CompilationUnit(), _messages, _loadedFiles);
        }

        while (_interpreter.Globals.IsCompileSection)
        {
            var section = _interpreter.Globals;
            _diagnostics.Error(DiagnosticCode.CompileSectionMismatch, section.BegunAt, "(compile-begin) has no matching (compile-end)");
            _interpreter.Globals = section.Parent!;
        }
        foreach (var variable in _wholeFileVariables)
            Compile(variable.Name, variable.Value, variable.DefinedAt, inSection: false);
        FlushOutput();

        var unit = new CompilationUnit();
        foreach (var definition in _definitions) unit.TryAdd(definition);
        foreach (var (name, declaration) in _exportDeclarations) unit.ExportDeclarations.Add(name, declaration);
        unit.SetCompileTimeRoot(_interpreter.Root);
        if (_loadedPaths.Count > 0)
        {
            foreach (var variable in _interpreter.Root.Variables)
            {
                if (unit.Lookup(variable.Name) is not null || CompiledBuiltins.Contains(variable.Name)) continue;
                if (_loadedPaths.Contains(variable.DefinedAt.File)) unit.DefinedByLoadedFiles[variable.Name] = ToLoadedDefinition(variable);
            }
        }
        // A define-export asks for its function as compiled code does.
        foreach (var name in _exportDeclarations.Keys) unit.Resolve(name);
        foreach (var name in _compileTimeOnly)
            if (unit.Lookup(name) is null && !CompiledBuiltins.Contains(name))
                unit.AddCompileTimeOnly(name);
        return new EvaluationResult(unit, _messages, _loadedFiles);
    }

    /// <summary>Clean prelude evaluations so far in this process (see <see cref="EvaluatePrelude"/>).</summary>
    private static int s_cleanPreludeEvaluations;

    /// <summary>
    /// Reads and evaluates the prelude into the root; the second compilation of the process to see
    /// it through cleanly (no diagnostics, no output) leaves a snapshot for the later ones to copy.
    /// Not the first: a process that compiles once (maruc build, a program's first call) would
    /// only pay for taking it.
    /// </summary>
    private void EvaluatePrelude()
    {
        var diagnosticsBefore = _diagnostics.Items.Count;
        var prelude = Reader.Read(Prelude.Source, _diagnostics, _interpreter.Names);
        ProcessFile(Prelude.FileName, prelude, compiledWhole: false);
        _preludeEvaluated = true;
        if (_diagnostics.Items.Count == diagnosticsBefore && _messages.Count == 0 && _partialLine.Length == 0
            && _interpreter.Globals == _interpreter.Root && _loadedFiles.Count == 0 && _definitions.Count == 0
            && _wholeFileVariables.Count == 0 && _compileTimeOnly.Count == 0 && _exportDeclarations.Count == 0
            && Interlocked.Increment(ref s_cleanPreludeEvaluations) > 1)
        {
            PreludeSnapshot.TryPublish(_interpreter.Root, _interpreter.Steps, _interpreter.Memory);
        }
    }

    private static bool IsCompileBegin(Datum form) => form is PairDatum { Head: SymbolDatum { Name: "compile-begin" } };

    private void ProcessFile(string path, IReadOnlyList<Datum> forms, bool compiledWhole)
    {
        _files.Push(new FileContext(path, System.IO.Path.GetDirectoryName(path) ?? "", compiledWhole));
        try
        {
            foreach (var form in forms) ProcessTopLevel(form);
        }
        finally
        {
            _files.Pop();
        }
    }

    private void ProcessTopLevel(Datum form)
    {
        try
        {
            _interpreter.Eval(_interpreter.Expand(form), null);
        }
        catch (EvaluationError error) when (!error.AlreadyReported)
        {
            _diagnostics.Error(error.Code, Interpreter.IsUserLocation(error.Location) ? error.Location : form.Location, error.Message);
            if (error.Fatal) throw new EvaluationStopped();
        }
        catch (EvaluationError)
        {
            // already reported where it happened
        }
    }

    // ---- hooks for the interpreter --------------------------------------------------------------

    internal void OnDefine(GlobalEnvironment environment, string name, Datum value, SourceLocation location)
    {
        var existing = environment.FindLocal(name);
        var compiledHere = environment.IsCompileSection || _files.Peek().CompiledWhole;
        if (existing is { Value: not NilDatum } && compiledHere && existing.DefinedAt != location
            && Interpreter.IsUserLocation(location) && Interpreter.IsUserLocation(existing.DefinedAt))
        {
            _diagnostics.Warning(DiagnosticCode.Redefinition, location, $"'{name}' is defined again; this definition replaces the one at {existing.DefinedAt}");
        }
        var variable = environment.Define(name, value, location);
        if (!environment.IsCompileSection && _files.Peek().CompiledWhole && _wholeFileSet.Add(variable))
            _wholeFileVariables.Add(variable);
    }

    internal void DeclareExport(PairDatum form)
    {
        Interop.ExportDeclaration declaration;
        try
        {
            declaration = Interop.ExportDeclaration.Parse(form);
        }
        catch (CompilationError error)
        {
            throw new EvaluationError(error.Diagnostic.Code, error.Diagnostic.Location, error.Diagnostic.Message);
        }
        if (!_exportDeclarations.TryAdd(declaration.FunctionName, declaration))
            throw new EvaluationError(DiagnosticCode.DuplicateExportDeclaration, form.Location,
                $"'{declaration.FunctionName}' already has an export declaration at {_exportDeclarations[declaration.FunctionName].Location}");
    }

    internal void BeginSection(SourceLocation location) =>
        _interpreter.Globals = new GlobalEnvironment(_interpreter.Globals, location);

    internal void EndSection(SourceLocation location)
    {
        var section = _interpreter.Globals;
        if (!section.IsCompileSection)
            throw new EvaluationError(DiagnosticCode.CompileSectionMismatch, location, "(compile-end) without a matching (compile-begin)");
        _interpreter.Globals = section.Parent!;
        foreach (var variable in section.Variables)
            Compile(variable.Name, variable.Value, variable.DefinedAt, inSection: true);
    }

    internal void Output(string text)
    {
        foreach (var c in text)
        {
            if (c == '\n')
                EmitLine();
            else
                _partialLine.Append(c);
        }
    }

    private void FlushOutput()
    {
        if (_partialLine.Length > 0) EmitLine();
    }

    private void EmitLine()
    {
        var line = _partialLine.ToString();
        _partialLine.Clear();
        _messages.Add(line);
        if (_outputSink is null) return;
        if (_outputLinesToSkip > 0)
        {
            _outputLinesToSkip--;
            return;
        }
        _outputSink(line);
        _outputLinesPassed++;
    }

    internal void Load(string name, SourceLocation callSite, bool onlyOnce)
    {
        var verb = onlyOnce ? "require" : "load";
        if (_files.Count > MaxLoadNesting)
            throw new EvaluationError(DiagnosticCode.EvaluationDepthExceeded, callSite, $"files load each other more than {MaxLoadNesting} levels deep");
        if (name.Length == 0 || name.Length > MaxPathLength || name.Contains('\0'))
            throw new EvaluationError(DiagnosticCode.SourceFileRejected, callSite,
                $"cannot {verb} {DatumPrinter.Outline(new StringDatum(name, SourceLocation.None))}: not a usable file name (empty, longer than {MaxPathLength} characters, or holding a NUL)");
        var directory = _files.Peek().Directory;
        string path, fullPath;
        try
        {
            path = System.IO.Path.IsPathRooted(name) || directory.Length == 0 ? name : System.IO.Path.Combine(directory, name);
            fullPath = _baseDirectory is null ? System.IO.Path.GetFullPath(path) : System.IO.Path.GetFullPath(path, _baseDirectory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or IOException)
        {
            throw new EvaluationError(DiagnosticCode.SourceFileRejected, callSite, $"cannot {verb} '{name}': not a usable file name ({e.Message})");
        }
        if (onlyOnce && _required.Contains(fullPath)) return;
        if (!File.Exists(fullPath))
            throw new EvaluationError(DiagnosticCode.SourceFileNotFound, callSite, $"cannot {verb} '{name}': no such file ({fullPath})");
        var text = ReadSource(name, fullPath, verb, callSite);
        _required.Add(fullPath);
        if (!_loadedFiles.Contains(fullPath)) _loadedFiles.Add(fullPath);
        var before = _diagnostics.Items.Count(d => d.IsError);
        _loadedPaths.Add(path);
        var forms = Reader.Read(new SourceFile(path, text), _diagnostics, _interpreter.Names);
        if (_diagnostics.Items.Count(d => d.IsError) > before)
            throw new EvaluationError(DiagnosticCode.InvalidNumber, callSite, "") { AlreadyReported = true };
        ProcessFile(path, forms, compiledWhole: false);
    }

    private const int MaxPathLength = 4096;

    /// <summary>What reading a file keeps alive per character of source (its text and the datums read from it), for the memory budget.</summary>
    private const long LoadedBytesPerCharacter = 24;

    /// <summary>
    /// Reads a file for load/require: only a regular file (a device such as /dev/zero or /dev/stdin,
    /// whose size says nothing of what it yields, is refused) no larger than
    /// <see cref="CompilationOptions.MaxLoadedFileSize"/>, and never more bytes than that.
    /// </summary>
    private string ReadSource(string name, string fullPath, string verb, SourceLocation callSite)
    {
        var limit = _maxLoadedFileSize;
        try
        {
            using var stream = NonBlockingFile.OpenRead(fullPath);
            var stated = stream.CanSeek ? stream.Length : -1;
            if (stated > limit)
                throw new EvaluationError(DiagnosticCode.SourceFileRejected, callSite,
                    $"cannot {verb} '{name}': the file is larger than {Interpreter.FormatBytes(limit)} (MaxLoadedFileSize)");
            var buffer = new byte[Math.Max(0, stated) + 1];
            var read = 0;
            int n;
            while ((n = stream.Read(buffer, read, buffer.Length - read)) > 0)
            {
                read += n;
                if (read == buffer.Length) break;
            }
            // A regular file yields exactly the size it states; anything else (a device, a pipe, /proc) is refused.
            if (stated < 0 || read != stated)
                throw new EvaluationError(DiagnosticCode.SourceFileRejected, callSite, $"cannot {verb} '{name}': only regular files can be loaded ({fullPath} is not one)");
            _interpreter.Allocate(LoadedBytesPerCharacter * read, callSite);
            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetString(buffer, 0, read).TrimStart('\uFEFF');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvaluationError(DiagnosticCode.SourceFileNotFound, callSite, $"cannot read '{name}': {e.Message}");
        }
    }

    // ---- what gets compiled ---------------------------------------------------------------------

    private void Compile(string name, Datum value, SourceLocation location, bool inSection)
    {
        Definition? definition;
        try
        {
            definition = ToDefinition(name, value, location, inSection);
        }
        catch (CompilationError error)
        {
            _diagnostics.Add(error.Diagnostic);
            return;
        }
        if (definition is null)
        {
            _compileTimeOnly.Add(name);
            return;
        }
        if (_definitionIndex.TryGetValue(name, out var index))
        {
            var previous = _definitions[index];
            if (previous.Location != location)
                _diagnostics.Warning(DiagnosticCode.Redefinition, location, $"'{name}' is defined again; this definition replaces the one at {previous.Location}");
            _definitions[index] = definition;
            return;
        }
        _definitionIndex.Add(name, _definitions.Count);
        _definitions.Add(definition);
    }

    private static LoadedDefinition ToLoadedDefinition(Variable variable)
    {
        try
        {
            return new LoadedDefinition(variable.DefinedAt, ToDefinition(variable.Name, variable.Value, variable.DefinedAt, inSection: null), null);
        }
        catch (CompilationError error)
        {
            return new LoadedDefinition(variable.DefinedAt, null, error.Diagnostic.Message);
        }
    }

    /// <summary>
    /// What <paramref name="value"/> compiles to (null for a macro); <paramref name="inSection"/> picks
    /// the advice of the error for a value that cannot be compiled (null: a loaded file's definition, none).
    /// </summary>
    private static Definition? ToDefinition(string name, Datum value, SourceLocation location, bool? inSection)
    {
        switch (value)
        {
            case Closure closure when closure.Environment is null || CapturesNothing(closure.Environment):
                return ToFunction(name, closure, location);
            case IntegerDatum integer:
                return new IntegerDefinition(name, location, integer.Value);
            case NilDatum:
                return new IntegerDefinition(name, location, 0);
            case StringDatum text:
                return new StringDefinition(name, location, text.Value);
            case ExternValue external:
                return new ExternDefinition(name, location, external.Symbol) { FixedParameters = external.FixedParameters };
            case FormValue:
                return null;
        }
        var what = value is Closure ? "a closure over local variables" : Interpreter.Describe(value);
        var advice = inSection switch
        {
            true => "; define it outside (compile-begin)/(compile-end) to keep it compile-time only",
            false => "; put the definitions to compile between (compile-begin) and (compile-end) to keep this one compile-time only",
            null => "",
        };
        throw new CompilationError(DiagnosticCode.NotCompilableValue, location,
            $"'{name}' is {what} at compile time, which cannot be compiled (only integers, strings, externs and top-level functions can){advice}");
    }

    private static bool CapturesNothing(Frame frame)
    {
        for (Frame? f = frame; f is not null; f = f.Parent)
            if (!f.IsEmpty) return false;
        return true;
    }

    private static FunctionDefinition ToFunction(string name, Closure closure, SourceLocation location)
    {
        var parameters = new List<SymbolDatum>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rest = closure.Parameters;
        for (; rest is PairDatum p; rest = p.Tail)
        {
            var symbol = (SymbolDatum)p.Head;
            if (!seen.Add(symbol.Name))
                throw new CompilationError(DiagnosticCode.DuplicateParameter, symbol.Location, $"parameter '{symbol.Name}' appears twice in '{name}'");
            parameters.Add(symbol);
        }
        if (rest is SymbolDatum restParameter)
            throw new CompilationError(DiagnosticCode.NotCompilableValue, restParameter.Location,
                $"'{name}' takes a variable number of arguments ('{restParameter.Name}'), which compiled functions cannot; give it fixed parameters or keep it compile-time only");
        var body = closure.Body;
        string? documentation = null;
        if (body.Count > 1 && body[0] is StringDatum docstring)
        {
            documentation = docstring.Value;
            body = body.Skip(1).ToList();
        }
        var pending = new Stack<(Datum Node, SourceLocation Around)>();
        foreach (var form in body) CheckNoCompileTimeValues(name, form, location, pending);
        return new FunctionDefinition(name, location, parameters, body, documentation);
    }

    /// <summary>
    /// A macro may splice a compile-time value (a closure, an array...) into code; such values have
    /// no location of their own, so refuse them here, at the nearest located form around them.
    /// <para>
    /// Expanded code is a tree (quoted data may share structure or be circular, and a macro that
    /// repeats an argument shares it), so a first walk goes without remembering what it saw, within a budget of pairs. Only when it finds
    /// a compile-time value or runs out of budget (shared or circular data) does the walk that
    /// remembers every pair run, and that one reports: the error is always the one it finds first.
    /// </para>
    /// </summary>
    private static void CheckNoCompileTimeValues(string function, Datum form, SourceLocation around, Stack<(Datum Node, SourceLocation Around)> pending)
    {
        pending.Clear();
        if (Walk(function, form, around, pending, seen: null, budget: TreeWalkBudget)) return;   // the usual case: nothing there
        pending.Clear();
        Walk(function, form, around, pending, new HashSet<Datum>(ReferenceEqualityComparer.Instance), long.MaxValue);
    }

    /// <summary>Pairs a walk without a seen set may visit before it assumes sharing and starts again with one.</summary>
    private const long TreeWalkBudget = 1_000_000;

    /// <returns>True when the walk finished and found nothing; false when it ran out of budget or (without <paramref name="seen"/>) found a compile-time value.</returns>
    private static bool Walk(string function, Datum form, SourceLocation around, Stack<(Datum Node, SourceLocation Around)> pending, HashSet<Datum>? seen, long budget)
    {
        pending.Push((form, around));
        while (pending.Count > 0)
        {
            var (node, location) = pending.Pop();
            // Down a list's spine in a loop: only the heads that are pairs wait on the stack.
            while (true)
            {
                if (!node.Location.IsNone) location = node.Location;
                if (CompileTimeValue.Is(node))
                {
                    if (seen is null) return false;
                    throw new CompilationError(DiagnosticCode.NotCompilableValue, location,
                        $"the body of '{function}' contains {Interpreter.Describe(node)}, a compile-time value (spliced in by a macro?) that cannot be compiled");
                }
                if (node is not PairDatum pair || (seen is not null && !seen.Add(pair))) break;
                if (--budget < 0) return false;
                if (pair.Head is PairDatum || CompileTimeValue.Is(pair.Head))
                {
                    // The head is visited before the tail, as the walk always did (the first error found stays the first).
                    pending.Push((pair.Tail, location));
                    node = pair.Head;
                    continue;
                }
                node = pair.Tail;
            }
        }
        return true;
    }
}
