using System.Globalization;
using System.Runtime.CompilerServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

// Macro expansion, as maru-2.4's expand(): a pair whose head names a form is replaced by what the
// form's function returns for (*env* args...) and the result is expanded again; a symbol naming a
// form with a symbol function (define-constant) is replaced likewise (but not the name in
// (define name ...)); (quote x) is left alone;
// (set (f args...) v) becomes (set-f args... v). Code a macro generates takes the location of the
// macro call, while the pieces of the call it passes through keep their own.
internal sealed partial class Interpreter
{
    /// <summary>Expansion nesting beyond which a macro is taken to expand without end.</summary>
    public const int MaxExpansionDepth = 10_000;

    /// <summary>The most nodes a single macro result may have (guards against circular results).</summary>
    private const int MaxExpansionNodes = 1_000_000;

    private int _expansionDepth;
    private readonly Stack<string> _expanding = new();

    public Datum Expand(Datum form) => form switch
    {
        PairDatum pair => ExpandPair(pair),
        SymbolDatum symbol when Globals.Find(symbol)?.Value is FormValue { SymbolFunction: not NilDatum } macro =>
            ExpandMacro(macro.SymbolFunction, symbol.Name, symbol, [Globals, symbol]),
        _ => form,
    };

    private Datum ExpandPair(PairDatum form)
    {
        _expansionDepth++;
        try
        {
            CheckExpansionLimits(form.Location);
            if (_unrelocated.Count > 0 && FormStamp != _unrelocatedStamp) RelocateSkippedArguments();
            // A symbol head is looked up once for both questions (is it a symbol macro, does it name a form).
            Datum head;
            Variable? headVariable = null;
            var headLookedUp = false;   // headVariable is the head's binding now (no code ran since the lookup)
            if (form.Head is SymbolDatum headSymbol)
            {
                headVariable = Globals.Find(headSymbol);
                if (headVariable?.Value is FormValue { SymbolFunction: not NilDatum } symbolMacro)
                {
                    head = ExpandMacro(symbolMacro.SymbolFunction, headSymbol.Name, headSymbol, [Globals, headSymbol]);
                }
                else
                {
                    head = headSymbol;
                    headLookedUp = true;
                }
            }
            else
            {
                head = Expand(form.Head);
            }
            if (head is SymbolDatum name
                && (headLookedUp ? headVariable : Globals.Find(name))?.Value is FormValue { Function: not NilDatum } macro)
            {
                var count = 1;
                Datum rest = form.Tail;
                for (; rest is PairDatum p; rest = p.Tail) count++;
                if (rest is not NilDatum)
                    throw new EvaluationError(DiagnosticCode.MalformedForm, form.Location, $"{DatumPrinter.Outline(form)} is a dotted list, not a macro call");
                var arguments = new Datum[count];
                arguments[0] = Globals;
                count = 1;
                for (rest = form.Tail; rest is PairDatum p; rest = p.Tail) arguments[count++] = p.Head;
                return ExpandMacro(macro.Function, name.Name, form, arguments);
            }
            // The name a define binds is never expanded, so a constant can be defined again (a file
            // that defines one loaded twice) instead of its value landing in the name's place.
            var tail = head.IsSymbol("quote") ? form.Tail
                : head.IsSymbol("define") && form.Tail is PairDatum { Head: SymbolDatum defined } definition
                    ? ExpandList(definition.Tail) is var value && ReferenceEquals(value, definition.Tail) ? definition : new PairDatum(defined, value, definition.Location)
                    : ExpandList(form.Tail);
            if (head.IsSymbol("set") && tail is PairDatum { Head: PairDatum { Head: SymbolDatum accessor } target } setArguments)
            {
                head = new SymbolDatum(Names.Intern("set-" + accessor.Name), accessor.Location);
                tail = Append(target.Tail, setArguments.Tail);
            }
            Allocate(PairSize, form.Location);
            // Nothing inside changed: the form itself (see ExpandList).
            return ReferenceEquals(head, form.Head) && ReferenceEquals(tail, form.Tail) ? form : new PairDatum(head, tail, form.Location);
        }
        finally
        {
            _expansionDepth--;
        }
    }

    private Datum ExpandList(Datum list)
    {
        // The list's pairs, then their expanded heads, wait on the shared stack (no temporary lists per form).
        var stack = _stack;
        var bottom = stack.Count;
        try
        {
            var rest = list;
            for (; rest is PairDatum p; rest = p.Tail)
            {
                stack.Push(p);
                if (stack.Count - bottom > MaxExpansionNodes)
                    throw new EvaluationError(DiagnosticCode.MacroError, p.Location, "a form has more elements than the compiler allows (a circular list?)");
            }
            var count = stack.Count - bottom;
            Allocate(PairSize * count, list.Location);
            var result = Expand(rest);
            for (var i = 0; i < count; i++) stack.Push(Expand(((PairDatum)stack[bottom + i]).Head));
            // A pair whose element and rest expanded to themselves is kept, not copied: most of a
            // program is calls and variables, and copying all of it was most of the expander's
            // garbage. Expanded code may therefore share pairs with the code it came from (and,
            // where a macro repeats an argument, with itself), never with a different meaning.
            for (var i = count - 1; i >= 0; i--)
            {
                var pair = (PairDatum)stack[bottom + i];
                var head = stack[bottom + count + i];
                result = ReferenceEquals(head, pair.Head) && ReferenceEquals(result, pair.Tail) ? pair : new PairDatum(head, result, pair.Location);
            }
            return result;
        }
        finally
        {
            stack.TruncateTo(bottom);
        }
    }

    /// <summary>
    /// Scratch for list walks that must see a whole list before building its copy (expansion,
    /// relocation): each walk uses the entries above where it found the top and removes them
    /// when done, so nested walks share it.
    /// </summary>
    private readonly DatumStack _stack = new();

    private Datum ExpandMacro(Datum function, string name, Datum call, Datum[] arguments)
    {
        // The expander receives *env* before the call's own arguments; an arity error counts only
        // what the user wrote, as for a function.
        if (function is Closure expander && !Interpreter.Accepts(expander, arguments.Length))
            throw Interpreter.WrongArgumentCount(expander, arguments.Length, call.Location, implicitArguments: 1, name);
        if (!_skipsIgnoredArguments && function is Closure { } closure && IgnoresArguments(closure))
            _skipsIgnoredArguments = true;   // from now on relocation looks for calls of such macros
        var unrelocatedBottom = _unrelocated.Count;
        Datum result;
        var outerSerial = _freshSerial;
        var freshBottom = _fresh.Count;
        var serial = _expansions = _expansions == int.MaxValue ? 1 : _expansions + 1;
        try
        {
            _freshSerial = serial;
            try
            {
                // The closure's result goes to relocation, which builds any argument left unbuilt where it keeps it (none without a location to give).
                result = function is Closure macroClosure && !call.Location.IsNone
                    ? ApplyClosure(macroClosure, arguments, call.Location, macroResult: true)
                    : Apply(function, arguments, call.Location);
            }
            catch (EvaluationError error) when (function is not Evaluation.Primitive) // built-in forms locate their own errors
            {
                throw new EvaluationError(error.Code, IsUserLocation(call.Location) ? call.Location : error.Location,
                    $"in expansion of macro '{name}': {error.Message}");
            }
            finally
            {
                _freshSerial = outerSerial;
            }
            result = Relocate(result, call, serial);
        }
        finally
        {
            // Pairs the macro made but did not return (kept in a global, say) are unlocated, as ever.
            for (var i = freshBottom; i < _fresh.Count; i++)
                if (IsFresh(_fresh[i], serial)) _fresh[i].Location = SourceLocation.None;
            _fresh.RemoveRange(freshBottom, _fresh.Count - freshBottom);
        }
        _expanding.Push(name);
        try
        {
            return Expand(result);
        }
        finally
        {
            _expanding.Pop();
            // The calls whose arguments this result's relocation skipped have been expanded (or an error ends the expansion).
            if (_unrelocated.Count > unrelocatedBottom) _unrelocated.RemoveRange(unrelocatedBottom, _unrelocated.Count - unrelocatedBottom);
        }
    }

    private void CheckExpansionLimits(SourceLocation location)
    {
        if (TooDeepToExpand(_expansionDepth))
        {
            var culprit = _expanding.Count > 0 ? $"macro '{_expanding.Peek()}' expands without end" : "code is nested too deeply to expand";
            throw new EvaluationError(DiagnosticCode.MacroError, location,
                $"{culprit}: expansion nested more than {MaxExpansionDepth.ToString("N0", CultureInfo.InvariantCulture)} levels deep");
        }
        Step(location);
    }

    /// <summary>
    /// Whether a recursion of expansion (or of quasiquote into a template) at <paramref name="depth"/>
    /// must stop: past <see cref="MaxExpansionDepth"/>, or out of stack. The stack is asked at every
    /// eighth level only, as in CheckLimits: a few kilobytes between questions against the runtime's
    /// far larger margin. Out of stack on a borrowed stack throws <see cref="StackTooSmallException"/>
    /// instead, so the evaluation starts again on a large one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TooDeepToExpand(int depth)
    {
        if (depth <= MaxExpansionDepth && ((depth & 7) != 0 || RuntimeHelpers.TryEnsureSufficientExecutionStack())) return false;
        if (depth <= MaxExpansionDepth && OnBorrowedStack) throw new StackTooSmallException();
        return true;
    }

    private static Datum Append(Datum list, Datum tail)
    {
        var items = list.AsList() ?? [];
        return DatumExtensions.ToList(items, tail);
    }

    // ---- quasiquote ---------------------------------------------------------------------------------

    /// <summary>
    /// <c>quasiquote</c> as boot.l defines it (one level, no nesting): the template becomes code
    /// that conses it up at run time; <c>,x</c> is x, <c>,@x</c> splices through concat-list.
    /// A tail <c>(a . ,b)</c> is b itself.
    /// </summary>
    private void DefineQuasiquote() =>
        Root.Define("quasiquote", new FormValue(new Primitive("quasiquote", (interpreter, a) =>
        {
            interpreter.Arity("quasiquote", a, 2);
            var code = interpreter.Quasi(a[1], 0);
            interpreter.Charge(0);
            return code;
        }), NilDatum.Empty), SourceLocation.None);

    /// <summary>
    /// A template at <paramref name="depth"/> levels of nesting. Read code nests at most 1,000 deep,
    /// but a template built at compile time can nest without end: past the expansion's own depth
    /// limit (or the stack) it is a located error, not a stack overflow.
    /// </summary>
    private Datum Quasi(Datum template, int depth)
    {
        if (template is not PairDatum pair) return Quote(template);
        if (TooDeepToExpand(depth))
            throw new EvaluationError(DiagnosticCode.MacroError, CallSite,
                $"a quasiquote template nested more than {MaxExpansionDepth.ToString("N0", CultureInfo.InvariantCulture)} levels deep");
        return pair.Head.IsSymbol("unquote") ? Car(pair.Tail) : QuasiList(pair, depth);
    }

    /// <summary>
    /// A template list: <c>(cons e1 (cons e2 ... tail))</c>, with <c>concat-list</c> for a spliced
    /// element. The spine is walked in a loop, not by recursion per element: a template list is as
    /// long as the source makes it, and 200,000 elements overflowed the stack. (Recursion into an
    /// element is bounded in <see cref="Quasi"/>.) Elements are translated first to last, as the
    /// recursive form did, so the first error is the same.
    /// </summary>
    private Datum QuasiList(Datum list, int depth)
    {
        var elements = new List<(Datum Code, bool Spliced)>();
        Datum tail;
        while (true)
        {
            if (list is not PairDatum pair)
            {
                tail = Quote(list);
                break;
            }
            if (pair.Head.IsSymbol("unquote") && pair.Tail is PairDatum { Tail: NilDatum } unquoted)
            {
                tail = unquoted.Head;
                break;
            }
            if (pair.Head is PairDatum { Head: SymbolDatum { Name: "unquote-splicing" } } splice)
            {
                if (pair.Tail is NilDatum)
                {
                    tail = Car(splice.Tail);
                    break;
                }
                elements.Add((Car(splice.Tail), true));
            }
            else
                elements.Add((Quasi(pair.Head, depth + 1), false));
            list = pair.Tail;
        }
        for (var i = elements.Count - 1; i >= 0; i--)
            tail = Call(elements[i].Spliced ? "concat-list" : "cons", elements[i].Code, tail);
        return tail;
    }

    private Datum Quote(Datum datum) => Call("quote", datum);

    private Datum Call(string function, params Datum[] arguments) =>
        new PairDatum(new SymbolDatum(Names.Intern(function), SourceLocation.None), DatumExtensions.ToList(arguments), SourceLocation.None);

    // ---- locations of generated code ------------------------------------------------------------

    /// <summary>
    /// A copy of a macro's result in which everything the macro made (rather than took from its
    /// call) carries the call's location, so later errors point at the user's macro call instead
    /// of the macro's template (in the prelude, say).
    /// <para>
    /// Which nodes the macro made is decided by location alone, so the work is proportional to
    /// what the macro made, never to the size of its call (nesting a macro 20,000 deep stays
    /// linear): a node read at or after the call's position in the call's file is kept as it is
    /// (it is part of the call, or at worst points at other user code); anything else (built by
    /// cons, so unlocated; or template code from the prelude or an earlier definition) is copied
    /// with the call's location. Every node visited is a step of the budget.
    /// </para>
    /// </summary>
    private Datum Relocate(Datum result, Datum call, int serial)
    {
        if (call.Location.IsNone) return result; // no location to give (code built and expanded at compile time)
        var budget = MaxExpansionNodes;
        return Copy(result, call.Location, serial, ref budget, code: _skipsIgnoredArguments);
    }

    // ---- arguments a macro ignores ------------------------------------------------------------------
    // A macro whose body never names its arguments' parameters, such as (define-form safe prog ())
    // or a debugging form compiled out, cannot see its arguments: relocating them, a whole subtree of
    // a template such as eval.l's get-type, is work the expansion then throws away. Relocate leaves
    // them as the macro made them where the expansion that follows is sure to hand them to that
    // macro: the call is a form (every enclosing pair of the result a form whose head is a symbol
    // that names neither a macro nor quote, so the expansion walks into it) and its head names such
    // a macro. The call itself and its spine are relocated as before. If a binding of a macro (or
    // the environment) changes before the expansion reaches the call, the skipped arguments are
    // relocated then (RelocateSkippedArguments), before anything can see them.

    /// <summary>Whether relocation looks for calls of macros that ignore their arguments (one has been expanded in this evaluation).</summary>
    private bool _skipsIgnoredArguments;

    /// <summary>Calls whose arguments relocation skipped, not yet expanded: the relocated call, its relocated spine pairs, the location.</summary>
    private readonly List<(PairDatum Call, int Spine, SourceLocation Location)> _unrelocated = new();

    /// <summary><see cref="FormStamp"/> when <see cref="_unrelocated"/>'s calls were relocated.</summary>
    private int _unrelocatedStamp;

    /// <summary>Changes whenever a global binding is added, a binding that holds or held a macro is assigned, or <see cref="Globals"/> changes.</summary>
    private int FormStamp => Root.FormStamp + _globalsChanges;

    /// <summary>
    /// Whether the closure of a macro never names the parameters its call's arguments are bound to
    /// (all but the first, *env*), so no argument can be seen; decided once per closure by a walk of
    /// its body (bounded: a body too large to walk counts as using them).
    /// </summary>
    private static bool IgnoresArguments(Closure closure)
    {
        if (closure.ArgumentUse is { } known) return !known;
        var names = closure.ParameterNames(out var required, out _);
        var ignores = names.Length > 0 && BodyNamesNone(closure.Forms, names.AsSpan(required > 0 ? 1 : 0));
        closure.ArgumentUse = !ignores;
        return ignores;
    }

    private static bool BodyNamesNone(Datum[] body, ReadOnlySpan<string> names)
    {
        var pending = new Stack<Datum>(body);
        var budget = 10_000;
        while (pending.Count > 0)
        {
            if (--budget < 0) return false;
            switch (pending.Pop())
            {
                case PairDatum pair:
                    pending.Push(pair.Head);
                    pending.Push(pair.Tail);
                    break;
                case SymbolDatum symbol:
                    foreach (var name in names)
                        if (DatumExtensions.SameName(symbol.Name, name)) return false;
                    break;
                case IntegerDatum or NilDatum or StringDatum or RealDatum:
                    break;
                default:
                    return false; // a compile-time value in the body: not looked into
            }
        }
        return true;
    }

    /// <summary>
    /// For a pair of a macro's result at a form's place (<paramref name="code"/>): whether its
    /// elements are forms the expansion walks into too, and whether it calls a macro that ignores
    /// its arguments (<paramref name="ignored"/>).
    /// </summary>
    private bool ElementsAreForms(PairDatum form, bool code, out bool ignored)
    {
        ignored = false;
        if (!code || form.Head is not SymbolDatum head || head.IsSymbol("quote")) return false;
        if (Globals.Find(head)?.Value is not FormValue macro) return true;
        ignored = macro.SymbolFunction is NilDatum && macro.Function is Closure closure && IgnoresArguments(closure);
        return false;
    }

    /// <summary>Relocates the arguments skipped so far (a binding changed before the expansion reached their calls).</summary>
    private void RelocateSkippedArguments()
    {
        for (var i = 0; i < _unrelocated.Count; i++)
        {
            var (call, spine, location) = _unrelocated[i];
            var budget = MaxExpansionNodes;
            var pair = call;
            for (var k = 1; k < spine; k++)
            {
                pair = (PairDatum)pair.Tail;
                var head = Copy(pair.Head, location, 0, ref budget, code: false);
                if (!ReferenceEquals(pair.Head, head)) pair.Head = head;
            }
            if (pair.Tail is not PairDatum)
            {
                var tail = Copy(pair.Tail, location, 0, ref budget, code: false);
                if (!ReferenceEquals(pair.Tail, tail)) pair.Tail = tail;
            }
        }
        _unrelocated.Clear();
    }

    // ---- pairs a macro makes ----------------------------------------------------------------------
    // cons while a macro runs marks its pair with the expansion's serial (an unlocated location, so
    // it reads as None everywhere); Relocate gives such a pair the call's location in place instead
    // of copying it (most of a template's pairs: copying them was half of expansion's garbage), and
    // ExpandMacro unmarks the ones the macro did not return.

    /// <summary>The serial of the expansion whose macro is running (0: none); <see cref="_expansions"/> counts them.</summary>
    private int _freshSerial, _expansions;

    /// <summary>The marked pairs of the running expansions, innermost last.</summary>
    private readonly List<PairDatum> _fresh = new();

    private static SourceLocation FreshMark(int serial) => new("", -serial, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFresh(PairDatum pair, int serial) => pair.Location.Line == -serial && pair.Location.IsNone;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsKept(Datum node, SourceLocation call)
    {
        var location = node.Location;
        return node is NilDatum || CompileTimeValue.Is(node)
            || (!location.IsNone && DatumExtensions.SameName(location.File, call.File)
                && (location.Line > call.Line || (location.Line == call.Line && location.Column >= call.Column)));
    }

    /// <param name="code">Whether <paramref name="node"/> is at a form's place: the expansion that follows walks into it (see <see cref="ElementsAreForms"/>).</param>
    private Datum Copy(Datum node, SourceLocation location, int serial, ref int budget, bool code)
    {
        if (node is UnbuiltArgument unbuilt) node = Build(unbuilt, serial);   // kept after all
        if (IsKept(node, location)) return node;
        Step(location);
        if (--budget < 0)
            throw new EvaluationError(DiagnosticCode.MacroError, location, "a macro produced a circular or enormous expansion");
        switch (node)
        {
            case PairDatum:
                // Only a pair's head recurses: the stack is asked here, not for every leaf.
                if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
                {
                    if (OnBorrowedStack) throw new StackTooSmallException();
                    throw new EvaluationError(DiagnosticCode.MacroError, location, "a macro produced a circular or enormous expansion");
                }
                var stack = _stack;
                var bottom = stack.Count;
                try
                {
                    var forms = ElementsAreForms((PairDatum)node, code, out var ignored);
                    // The spine's pairs and their relocated heads, two entries per pair (a call's
                    // arguments as they are when its macro ignores them).
                    var rest = node;
                    var copies = 0;
                    while (rest is PairDatum pair && !IsKept(pair, location))
                    {
                        if (--budget < 0)
                            throw new EvaluationError(DiagnosticCode.MacroError, location, "a macro produced a circular or enormous expansion");
                        stack.Push(pair);
                        stack.Push(ignored && !ReferenceEquals(pair, node) ? pair.Head : Copy(pair.Head, location, serial, ref budget, forms));
                        if (!IsFresh(pair, serial)) copies++;
                        rest = pair.Tail;
                    }
                    var result = rest is PairDatum || ignored ? rest : Copy(rest, location, serial, ref budget, forms);
                    if (ignored && rest is not NilDatum)
                    {
                        // A dotted call: the expansion's error prints its arguments, so none stays unbuilt (left unlocated, as skipped arguments are).
                        for (var i = bottom + 3; i < stack.Count; i += 2)
                            if (stack[i] is UnbuiltArgument argument) stack[i] = Build(argument, 0);
                    }
                    Allocate(PairSize * copies, location);
                    for (var i = stack.Count - 2; i >= bottom; i -= 2)
                    {
                        var pair = (PairDatum)stack[i];
                        var head = stack[i + 1];
                        if (IsFresh(pair, serial))
                        {
                            // Most heads and tails are the same objects again (fresh pairs are relocated in place): no store, no write barrier.
                            if (!ReferenceEquals(pair.Head, head)) pair.Head = head;
                            if (!ReferenceEquals(pair.Tail, result)) pair.Tail = result;
                            pair.Location = location;
                            result = pair;
                        }
                        else
                        {
                            result = new PairDatum(head, result, location);
                        }
                    }
                    if (ignored && (stack.Count - bottom) / 2 > 1)
                    {
                        if (_unrelocated.Count > 0 && FormStamp != _unrelocatedStamp) RelocateSkippedArguments();
                        if (_unrelocated.Count == 0) _unrelocatedStamp = FormStamp;
                        _unrelocated.Add(((PairDatum)result, (stack.Count - bottom) / 2, location));
                    }
                    return result;
                }
                finally
                {
                    stack.TruncateTo(bottom);
                }
            case SymbolDatum symbol:
                // The copy shares the template's lookup slot: the next expansion's copy finds the name there.
                Root.SlotOf(symbol);
                return new SymbolDatum(symbol.Name, location) { LookupSlot = symbol.LookupSlot };
            case IntegerDatum integer:
                return new IntegerDatum(integer.Value, location);
            case RealDatum real:
                return new RealDatum(real.Value, location);
            case StringDatum text:
                return new StringDatum(text.Value, location);
            default:
                return node;
        }
    }
}
