using System.Runtime.CompilerServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// The Maru interpreter inside the compiler, after maru-2.4's eval.c: <see cref="Expand"/> rewrites
/// macro calls, <see cref="Eval"/> evaluates expanded forms, <see cref="Apply"/> calls closures and
/// primitives. Special forms are values bound in the global environment (maru's "fixed"), so a
/// local binding can shadow them as in Maru. Only nil is false. Recursion is capped by an explicit
/// depth and by the real stack, and the total work by a step budget, so no input can overflow the
/// build's stack or hang it.
/// </summary>
internal sealed partial class Interpreter
{
    /// <summary>The deepest compile-time call or expansion nesting allowed.</summary>
    public const int MaxDepth = 10_000;

    public static readonly SymbolDatum True = new("t", SourceLocation.None);

    private readonly Evaluator _session;
    private readonly CompilationBudget? _clock;
    private long _steps;
    private long _memory;
    private int _depth;

    /// <summary>An interpreter whose root holds the built-ins, or, given <paramref name="prelude"/>, a fresh copy of the prelude's root.</summary>
    public Interpreter(Evaluator session, NameTable names, long maxSteps, bool onBorrowedStack, PreludeSnapshot? prelude = null,
        long maxMemory = CompilationOptions.DefaultMaxEvaluationMemory, CompilationBudget? clock = null)
    {
        _session = session;
        Names = names;
        MaxSteps = maxSteps;
        MaxMemory = maxMemory;
        _clock = clock;
        OnBorrowedStack = onBorrowedStack;
        if (prelude is not null)
        {
            Root = prelude.Instantiate();
            _steps = prelude.Steps;
            _memory = prelude.Memory;
            Globals = Root;
            return;
        }
        Root = new GlobalEnvironment(null, SourceLocation.None);
        Globals = Root;
        DefineSpecialForms();
        DefinePrimitives();
        DefineQuasiquote();
    }

    public long MaxSteps { get; }

    /// <summary>The compilation's symbol names (see <see cref="NameTable"/>): every symbol this interpreter makes takes its name from here.</summary>
    public NameTable Names { get; }

    /// <summary>The most bytes compile-time code may allocate in total (see <see cref="Allocate"/>).</summary>
    public long MaxMemory { get; }

    /// <summary>The bytes charged so far (the prelude's included).</summary>
    public long Memory => _memory;

    /// <summary>
    /// True when running on the caller's thread rather than the evaluation thread with its big
    /// stack: running short of stack there throws <see cref="StackTooSmallException"/> (to start
    /// again on the big stack) instead of reporting the nesting as too deep.
    /// </summary>
    public bool OnBorrowedStack { get; }

    /// <summary>The evaluation steps taken so far (the prelude's included).</summary>
    public long Steps => _steps;

    /// <summary>The environment holding the primitives and the prelude.</summary>
    public GlobalEnvironment Root { get; }

    /// <summary>Where <c>define</c> binds: the root, or the innermost (compile-begin) environment.</summary>
    public GlobalEnvironment Globals
    {
        get => _globals;
        set
        {
            _globals = value;
            _globalsChanges++;
        }
    }

    private GlobalEnvironment _globals = null!;
    private int _globalsChanges;

    /// <summary>The location of the call a primitive is running for (for its errors).</summary>
    public SourceLocation CallSite { get; private set; }

    public Evaluator Session => _session;

    /// <summary>Whether calls of the built-in cons are evaluated as chains (<see cref="EvalConsChain"/>); false only for tests (<see cref="CompilationOptions.ConsChainsForTesting"/>).</summary>
    public bool ConsChains { get; init; } = true;

    // ---- eval ---------------------------------------------------------------------------------

    public Datum Eval(Datum form, Frame? frame) => form switch
    {
        SymbolDatum symbol => Lookup(symbol, frame, isCall: false),
        PairDatum pair => EvalCombination(pair, frame),
        _ => form, // integers, strings, nil and compile-time values evaluate to themselves
    };

    /// <param name="macroResult">Whether the value is a macro's result and nothing else sees it (the last form of a macro's body, see DeferredArguments.cs).</param>
    private Datum EvalCombination(PairDatum form, Frame? frame, bool macroResult = false)
    {
        _depth++;
        try
        {
            CheckLimits(form.Location);
            var head = form.Head is SymbolDatum name ? Lookup(name, frame, isCall: true) : Eval(form.Head, frame);
            if (head is SpecialForm special)
                return special.Function(this, form, frame);
            if (head is Primitive primitive)
                return primitive.IsCons && ConsChains ? EvalConsChain(primitive, form, frame, macroResult) : CallPrimitive(primitive, form, frame);
            var arguments = EvaluateArguments(form, frame);
            return Apply(head, arguments, form.Location);
        }
        catch (EvaluationError error) when (!IsUserLocation(error.Location) && IsUserLocation(form.Location))
        {
            error.Location = form.Location;
            throw;
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>
    /// Free argument arrays for primitive calls, one stack per argument count up to 4: a primitive
    /// reads its arguments only while it runs (see <see cref="Evaluation.Primitive"/>), so its array
    /// goes back here afterwards, where a closure call's becomes its frame. Most compile-time calls
    /// are to cons, car and the like (quasiquote templates are chains of cons).
    /// </summary>
    private readonly FreeArrays[] _argumentArrays = [new(), new(), new(), new(), new()];

    /// <summary>A stack of free argument arrays of one length (its stores skip the covariance check, see <see cref="ExactArray"/>).</summary>
    private sealed class FreeArrays
    {
        private Datum[][] _items = new Datum[8][];
        private int _count;

        // A popped array stays in its entry: calls nest, so it usually comes back to the same entry,
        // and then no store (and no write barrier) is needed.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Datum[]? TryPop() => _count > 0 ? _items[--_count] : null;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Push(Datum[] array)
        {
            if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
            if (!ReferenceEquals(_items[_count], array)) ExactArray.Set(_items, _count, array);
            _count++;
        }
    }

    private Datum CallPrimitive(Primitive primitive, PairDatum form, Frame? frame)
    {
        var count = 0;
        for (var rest = form.Tail; rest is PairDatum p; rest = p.Tail) count++;
        var free = count < _argumentArrays.Length ? _argumentArrays[count] : null;
        var arguments = EvaluateArguments(form, frame, free?.TryPop() ?? new Datum[count]);
        try
        {
            return Apply(primitive, arguments, form.Location);
        }
        finally
        {
            if (free is not null)
            {
                for (var i = 0; i < arguments.Length; i++) arguments[i] = null!;   // a handful: cheaper than Array.Clear's call
                free.Push(arguments);
            }
        }
    }

    /// <summary>
    /// <c>(cons a b)</c> with the built-in cons, and the cons calls in its arguments: the lists
    /// quasiquote templates become (<c>(cons 'x (cons (cons 'y ...) ...))</c>, most of what macros
    /// evaluate). A cons call in an argument is evaluated directly (<see cref="ConsLevel"/>), not
    /// through the general call (its head's lookup, the argument array, Apply), and a
    /// <c>(quote x)</c> argument is its step and <c>x</c>, with exactly the effects of the general
    /// evaluation in its order: each call's step, depth and stack check, its head looked up after
    /// the argument before it ran (a head that is not the built-in cons or quote, or a cons call
    /// that is not exactly two arguments, is evaluated as any form; a name found to be one is
    /// reused until code runs), the arguments left to right, the pair made (and charged, at its own
    /// call) after both, an error located as the general evaluation locates it.
    /// </summary>
    private Datum EvalConsChain(Primitive cons, PairDatum form, Frame? frame, bool macroResult)
    {
        if (!IsTwoArgumentCall(form)) return CallPrimitive(cons, form, frame);
        // The head EvalCombination looked up is the built-in cons.
        var names = new ChainNames { Cons = form.Head is SymbolDatum head ? head.Name : null, MacroResult = macroResult };
        var depth = _depth;
        try
        {
            // A macro's result is a list at a form's place (see Relocate).
            return ConsLevel(form, frame, ref names, macroResult ? ChainPosition.ListStart : ChainPosition.Other);
        }
        finally
        {
            _depth = depth;
        }
    }

    /// <summary>
    /// The names a cons chain last found to be the built-in cons and quote: the same name in the same
    /// frame finds the same binding again until code runs (an argument that is neither a quote nor
    /// a cons call evaluated), which forgets them. <see cref="MacroResult"/>: the chain is a macro's
    /// result (its ignoring macros' arguments may stay unbuilt, see DeferredArguments.cs).
    /// </summary>
    private struct ChainNames
    {
        public string? Cons, Quote;
        public bool MacroResult;
    }

    /// <summary>
    /// <paramref name="form"/>, a two-argument call of the built-in cons whose step is counted and
    /// whose level <see cref="_depth"/> is: its pair. <paramref name="position"/>: whether the pair
    /// starts a list (is an element of the one above), or is a pair after the first of a list whose
    /// first element names a macro that ignores its arguments (the arguments may stay unbuilt).
    /// </summary>
    private Datum ConsLevel(PairDatum form, Frame? frame, ref ChainNames names, ChainPosition position = ChainPosition.Other)
    {
        var depth = _depth;
        var arguments = (PairDatum)form.Tail;
        var head = position == ChainPosition.IgnoredArgument && TryDefer(arguments.Head, frame, ref names, depth) is { } unbuilt
            ? unbuilt
            : ChainArgument(arguments.Head, frame, ref names, depth, ChainPosition.ListStart);
        var rest = position == ChainPosition.IgnoredArgument
            || (position == ChainPosition.ListStart && names.MacroResult && head is SymbolDatum name && NamesIgnoringMacro(name))
            ? ChainPosition.IgnoredArgument : ChainPosition.Other;
        var tail = ChainArgument(((PairDatum)arguments.Tail).Head, frame, ref names, depth, rest);
        return Pair(head, tail, form.Location);
    }

    private enum ChainPosition { Other, ListStart, IgnoredArgument }

    /// <summary>An argument of a chain's level at <paramref name="depth"/>, evaluated as the level's call would evaluate it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Datum ChainArgument(Datum argument, Frame? frame, ref ChainNames names, int depth, ChainPosition position)
    {
        if (argument is PairDatum { Head: SymbolDatum name } call)
        {
            var kind = Classify(name, frame, ref names);
            if (kind == ChainHead.Quote)
            {
                // (quote x): its step, and x. (A limit's error leaves _depth to EvalConsChain.)
                _depth = depth + 1;
                CheckLimits(call.Location);
                _depth = depth;
                return Car(call.Tail);
            }
            if (kind == ChainHead.Cons && IsTwoArgumentCall(call))
                return NestedConsLevel(call, frame, ref names, depth, position);
        }
        var value = Eval(argument, frame);
        names.Cons = names.Quote = null;
        return value;
    }

    /// <summary>A cons call inside a chain, one level deeper: its step, its pair, an error located as its own evaluation would locate it.</summary>
    private Datum NestedConsLevel(PairDatum form, Frame? frame, ref ChainNames names, int depth, ChainPosition position)
    {
        _depth = depth + 1;
        try
        {
            CheckLimits(form.Location);
            return ConsLevel(form, frame, ref names, position);
        }
        catch (EvaluationError error) when (!IsUserLocation(error.Location) && IsUserLocation(form.Location))
        {
            error.Location = form.Location;
            throw;
        }
        finally
        {
            _depth = depth;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTwoArgumentCall(PairDatum form) =>
        form.Tail is PairDatum { Tail: PairDatum { Tail: NilDatum } };

    private enum ChainHead { Other, Quote, Cons }

    /// <summary>What <paramref name="symbol"/> names here: the built-in quote or cons (then remembered in <paramref name="names"/>), or something else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ChainHead Classify(SymbolDatum symbol, Frame? frame, ref ChainNames names)
    {
        var name = symbol.Name;
        if (ReferenceEquals(name, names.Quote)) return ChainHead.Quote;
        if (ReferenceEquals(name, names.Cons)) return ChainHead.Cons;
        return ClassifyByLookup(symbol, frame, ref names);
    }

    private ChainHead ClassifyByLookup(SymbolDatum symbol, Frame? frame, ref ChainNames names)
    {
        switch (TryLookup(symbol, frame))
        {
            case SpecialForm { IsQuote: true }:
                names.Quote = symbol.Name;
                return ChainHead.Quote;
            case Primitive { IsCons: true }:
                names.Cons = symbol.Name;
                return ChainHead.Cons;
            default:
                return ChainHead.Other;
        }
    }

    /// <summary><see cref="Lookup"/> without the error: null for an unknown name.</summary>
    private Datum? TryLookup(SymbolDatum symbol, Frame? frame)
    {
        if (Frame.TryFind(frame, symbol.Name, out var found, out var index))
            return found.Get(index);
        return (frame?.Home ?? Globals).Find(symbol)?.Value;
    }

    private Datum[] EvaluateArguments(PairDatum form, Frame? frame)
    {
        var count = 0;
        for (var rest = form.Tail; rest is PairDatum p; rest = p.Tail) count++;
        return EvaluateArguments(form, frame, new Datum[count]);
    }

    private Datum[] EvaluateArguments(PairDatum form, Frame? frame, Datum[] arguments)
    {
        var i = 0;
        Datum tail = form.Tail;
        for (; tail is PairDatum p; tail = p.Tail)
            ExactArray.Set(arguments, i++, Eval(p.Head, frame));
        if (tail is not NilDatum)
            throw new EvaluationError(DiagnosticCode.MalformedForm, form.Location, $"{DatumPrinter.Outline(form)} is a dotted list, not a call");
        return arguments;
    }

    public Datum EvalBody(Datum[] body, Frame? frame)
    {
        Datum result = NilDatum.Empty;
        for (var i = 0; i < body.Length; i++) result = Eval(body[i], frame);
        return result;
    }

    private Datum Lookup(SymbolDatum symbol, Frame? frame, bool isCall)
    {
        if (Frame.TryFind(frame, symbol.Name, out var found, out var index))
            return found.Get(index);
        if ((frame?.Home ?? Globals).Find(symbol) is { } variable)
            return variable.Value;
        throw UnknownVariable(symbol, isCall);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static EvaluationError UnknownVariable(SymbolDatum symbol, bool isCall) =>
        new(DiagnosticCode.UnknownVariable, symbol.Location, isCall ? $"unknown function '{symbol.Name}'" : $"unknown variable '{symbol.Name}'");

    /// <summary>Assigns an existing local or global binding (maru's set never creates one).</summary>
    public void Assign(SymbolDatum symbol, Datum value, Frame? frame)
    {
        if (Frame.TryFind(frame, symbol.Name, out var found, out var index))
        {
            found.Set(index, value);
            return;
        }
        if ((frame?.Home ?? Globals).Find(symbol) is { } variable)
        {
            variable.Environment.NoteAssignment(variable, value);
            variable.Value = value;
            return;
        }
        throw new EvaluationError(DiagnosticCode.UnknownVariable, symbol.Location, $"cannot set undefined variable '{symbol.Name}'");
    }

    // ---- apply --------------------------------------------------------------------------------

    /// <param name="arguments">Given to the callee, which may keep the array (a closure's parameters live in it): callers pass an array of their own making and do not touch it afterwards (a primitive only reads it while it runs, so <see cref="CallPrimitive"/> reuses its arrays).</param>
    public Datum Apply(Datum function, Datum[] arguments, SourceLocation callSite)
    {
        switch (function)
        {
            case Closure closure:
                return ApplyClosure(closure, arguments, callSite);
            case Primitive primitive:
                var saved = CallSite;
                CallSite = callSite;
                try
                {
                    return primitive.Function(this, arguments);
                }
                finally
                {
                    CallSite = saved;
                }
            case SpecialForm special:
                throw new EvaluationError(DiagnosticCode.NotCallable, callSite, $"special form '{special.Name}' cannot be applied to evaluated arguments");
            case FormValue:
                throw new EvaluationError(DiagnosticCode.NotCallable, callSite, "a macro cannot be called as a function");
            default:
                throw new EvaluationError(DiagnosticCode.NotCallable, callSite, $"cannot call {Describe(function)}");
        }
    }

    /// <param name="macroResult">Whether the closure is a macro's, its result going to the expansion only (see DeferredArguments.cs).</param>
    private Datum ApplyClosure(Closure closure, Datum[] arguments, SourceLocation callSite, bool macroResult = false)
    {
        var names = closure.ParameterNames(out var required, out var hasRest);
        if (arguments.Length < required || (!hasRest && arguments.Length > required))
            throw WrongArgumentCount(closure, arguments.Length, callSite);
        Frame frame;
        if (hasRest)
        {
            var values = new Datum[required + 1];
            Array.Copy(arguments, values, required);
            values[required] = DatumExtensions.ListOf(arguments.AsSpan(required));
            frame = Frame.ForCall(closure.Environment, closure.Home, names, values, required + 1);
        }
        else
        {
            // The argument array is the callee's (see Apply): its slots become the parameters.
            frame = Frame.ForCall(closure.Environment, closure.Home, names, arguments, required);
        }
        _depth++;
        try
        {
            CheckLimits(callSite);
            var body = closure.Forms;
            if (macroResult && body.Length > 0 && body[^1] is PairDatum last)
            {
                for (var i = 0; i < body.Length - 1; i++) Eval(body[i], frame);
                return EvalCombination(last, frame, macroResult: true);
            }
            return EvalBody(body, frame);
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>
    /// The error for calling <paramref name="closure"/> with <paramref name="given"/> arguments.
    /// <paramref name="implicitArguments"/> leading parameters are supplied by the caller, not
    /// written by the user (a macro's *env*), so they are counted on neither side.
    /// </summary>
    internal static EvaluationError WrongArgumentCount(Closure closure, int given, SourceLocation callSite, int implicitArguments = 0, string? name = null)
    {
        var count = 0;
        var parameters = closure.Parameters;
        for (; parameters is PairDatum p; parameters = p.Tail) count++;
        count = Math.Max(0, count - implicitArguments);
        given = Math.Max(0, given - implicitArguments);
        var expected = parameters is SymbolDatum ? $"at least {count}" : count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        name ??= closure.Name;
        var callee = name is null ? "the closure" : $"'{name}'";
        return new EvaluationError(DiagnosticCode.WrongArgumentCount, callSite,
            $"{callee} takes {expected} argument{(count == 1 ? "" : "s")} but is called with {given}");
    }

    /// <summary>Whether <paramref name="closure"/> accepts <paramref name="given"/> arguments.</summary>
    internal static bool Accepts(Closure closure, int given)
    {
        var count = 0;
        var parameters = closure.Parameters;
        for (; parameters is PairDatum p; parameters = p.Tail) count++;
        return parameters is SymbolDatum ? given >= count : given == count;
    }

    // ---- limits -------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckLimits(SourceLocation location)
    {
        Step(location);
        // The stack is asked at every eighth level only: every native recursion of evaluation passes
        // here and takes a level, seven levels use a few kilobytes, and the runtime's answer keeps a
        // far larger margin (64 KB or more) for what runs in between.
        if (_depth > MaxDepth || ((_depth & 7) == 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack()))
            throw TooDeep(location);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Exception TooDeep(SourceLocation location)
    {
        if (_depth <= MaxDepth && OnBorrowedStack) return new StackTooSmallException();
        return new EvaluationError(DiagnosticCode.EvaluationDepthExceeded, location,
            $"compile-time evaluation nested more than {(_depth > MaxDepth ? MaxDepth.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "the stack allows")} levels deep (endless recursion?)");
    }

    /// <summary>
    /// Counts one step of work against the budget; every few thousand steps also looks at the clock
    /// (the compilation's time limit and the caller's cancellation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Step(SourceLocation location)
    {
        // The errors are made out of line: this runs at every step and stays small enough to inline.
        if (++_steps > MaxSteps) throw StepLimitExceeded(location);
        if ((_steps & 1023) == 0 && _clock is { IsStopped: true }) throw Stopped(location);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EvaluationError StepLimitExceeded(SourceLocation location) =>
        new(DiagnosticCode.EvaluationStepLimitExceeded, location,
            $"compile-time evaluation did not finish within {MaxSteps.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} steps (MaxEvaluationSteps; an endless loop in a macro or top-level form?)") { Fatal = true };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EvaluationError Stopped(SourceLocation location) => new(_clock!.Code, location, _clock.Message) { Fatal = true };

    /// <summary>Charges work proportional to a size (copying a long string) against the step budget: one step per 64 units.</summary>
    public void Charge(long size)
    {
        _steps += Math.Max(0, size) / 64;
        Step(CallSite);
        if (_clock is { IsStopped: true }) throw new EvaluationError(_clock.Code, CallSite, _clock.Message) { Fatal = true };
    }

    /// <summary>Approximate sizes, in bytes, of what compile-time code allocates (object header included).</summary>
    public const long PairSize = 48, ObjectSize = 32, ClosureSize = 96, SlotSize = 8;

    /// <summary>The size of a string of <paramref name="length"/> UTF-16 units.</summary>
    public static long StringSize(long length) => ObjectSize + 2 * Math.Max(0, length);

    /// <summary>
    /// Charges <paramref name="bytes"/> about to be allocated against the memory budget, BEFORE
    /// allocating them, so a request past the budget never reaches the allocator. The charge is
    /// cumulative (garbage included): deterministic, and an upper bound on what is alive.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Allocate(long bytes, SourceLocation? location = null)
    {
        if (bytes <= MaxMemory - _memory)
        {
            _memory += Math.Max(0, bytes);
            return;
        }
        throw MemoryLimitExceeded(location);
    }

    /// <summary>The error for an allocation past the budget, made out of line so <see cref="Allocate"/> inlines.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private EvaluationError MemoryLimitExceeded(SourceLocation? location)
    {
        _memory = MaxMemory + 1;
        return new EvaluationError(DiagnosticCode.EvaluationMemoryLimitExceeded, location ?? CallSite,
            $"compile-time evaluation allocated more than {FormatBytes(MaxMemory)} (MaxEvaluationMemory; raise it with MaruMaxEvaluationMemory or maruc --max-memory)") { Fatal = true };
    }

    public static string FormatBytes(long bytes) => bytes % (1024 * 1024) == 0
        ? $"{(bytes / (1024 * 1024)).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} MiB"
        : $"{bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes";

    /// <summary>True for locations in the user's files (not the prelude, not made up by the compiler).</summary>
    public static bool IsUserLocation(SourceLocation location) => !location.IsNone && location.File != Prelude.FileName;

    // ---- descriptions for messages -------------------------------------------------------------

    public static string Describe(Datum value) => value switch
    {
        NilDatum => "nil",
        IntegerDatum i => $"the integer {i.Value}",
        RealDatum r => $"the floating-point number {r}",
        StringDatum s => $"the string {DatumPrinter.Outline(s)}",
        SymbolDatum s => $"the symbol '{s.Name}'",
        PairDatum p => $"the list {DatumPrinter.Outline(p)}",
        Primitive p => $"the primitive '{p.Name}'",
        Closure { Name: { } name } => $"the closure '{name}'",
        CompileTimeValue v => v.Description,
        _ => value.ToString() ?? "a value",
    };
}
