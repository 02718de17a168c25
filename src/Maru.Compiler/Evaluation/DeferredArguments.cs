using System.Runtime.CompilerServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

// ---- arguments of an ignoring macro's call, built only if something looks at them --------------
// A macro's template often holds a call of a macro that ignores its arguments: eval.l's get-type,
// get and put carry a (safe ...) subtree that (define-form safe prog ()) throws away. Relocation
// already leaves such a call's arguments alone when the expansion is sure to hand them to the macro
// (see Expander.cs, "arguments a macro ignores"), but the cons chain that builds them still ran,
// pair by pair. When a macro's last body form is a cons chain (its value is the macro's result, so
// nothing in the macro sees it) and a list of that chain starts with a symbol naming such a macro,
// each argument of the list that is itself a chain of cons and quote calls (and variables) is not
// built: an UnbuiltArgument stands in for it, holding the chain and the variables' values. Its steps
// and pairs are charged to the budgets exactly as building it would have charged them (when one of
// them would run out inside it, or anything else in it is not a plain cons, quote or variable, it is
// built as ever, so every limit's error is the same). Relocation builds it (Copy) wherever it keeps
// the argument after all (the call is not at a form's place, or no longer names that macro), and so
// does the late relocation of skipped arguments (RelocateSkippedArguments); otherwise the macro
// receives it and, never naming its parameters, cannot look at it.
internal sealed partial class Interpreter
{
    /// <summary>An argument not built yet: <see cref="Code"/>, a two-argument call of the built-in cons, with the values its variables had.</summary>
    private sealed class UnbuiltArgument(PairDatum code, Datum[] values) : CompileTimeValue
    {
        public PairDatum Code { get; } = code;

        public Datum[] Values { get; } = values;

        public override string Description => "an unbuilt macro argument";
    }

    /// <summary>How deeply an argument's chains may nest and still be left unbuilt (building it again recurses as deep).</summary>
    private const int MaxUnbuiltNesting = 48;

    /// <summary>Whether <paramref name="name"/>, a list's first element in a macro's result, names a macro that ignores its arguments now.</summary>
    private bool NamesIgnoringMacro(SymbolDatum name) =>
        Globals.Find(name)?.Value is FormValue { SymbolFunction: NilDatum, Function: Closure closure } && IgnoresArguments(closure);

    /// <summary>
    /// <paramref name="argument"/>, an argument of a list whose first element names a macro that
    /// ignores its arguments, as an <see cref="UnbuiltArgument"/> (its steps and pairs charged), or
    /// null when it must be evaluated as ever (see the comment above).
    /// </summary>
    private UnbuiltArgument? TryDefer(Datum argument, Frame? frame, ref ChainNames names, int depth)
    {
        if (argument is not PairDatum { Head: SymbolDatum head } call || !IsTwoArgumentCall(call)) return null;
        if (Classify(head, frame, ref names) != ChainHead.Cons) return null;
        _deferPlans ??= new(ReferenceEqualityComparer.Instance);
        if (!_deferPlans.TryGetValue(call, out var plan)) _deferPlans[call] = plan = MakePlan(call, frame, ref names);
        if (plan is null) return null;
        // The names the chain calls mean here what they meant when the plan was made (no code runs while it is walked).
        for (var i = 0; i < plan.Heads.Length; i++)
            if (Classify(plan.Heads[i], frame, ref names) != plan.Kinds[i]) return null;
        // What building it would charge: a step per cons call and per quote, a pair per cons call,
        // at nesting no deeper than the limit; the clock is asked where building would ask it.
        var steps = plan.Levels + plan.Quotes;
        var bytes = PairSize * plan.Levels;
        if (_steps + steps > MaxSteps || bytes > MaxMemory - _memory || depth + plan.Deepest > MaxDepth) return null;
        if (((_steps + steps) >> 10) != (_steps >> 10) && _clock is { IsStopped: true }) return null;
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) return null;
        var values = plan.Variables.Length == 0 ? [] : new Datum[plan.Variables.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (TryLookup(plan.Variables[i], frame) is not { } value) return null;   // evaluated as ever, for its error
            ExactArray.Set(values, i, value);
        }
        if (values.Length > 0) names.Cons = names.Quote = null;   // as after any argument evaluated (ChainArgument)
        _steps += steps;
        _memory += bytes;
        _skipsIgnoredArguments = true;   // relocation looks for the call (and builds this wherever it keeps it)
        return new UnbuiltArgument(call, values);
    }

    /// <summary>What deferring a chain needs, by the chain's code (null: it is always evaluated), made at its first deferral.</summary>
    private Dictionary<PairDatum, DeferPlan?>? _deferPlans;

    /// <summary>
    /// A chain of cons and quote calls, variables and constants: its cons calls (<see cref="Levels"/>),
    /// its quotes, its deepest nesting below the argument, the names it calls and what they named
    /// (one symbol per name), and its variables in the order they are evaluated.
    /// </summary>
    private sealed class DeferPlan
    {
        public int Levels, Quotes, Deepest;
        public SymbolDatum[] Heads = [];
        public ChainHead[] Kinds = [];
        public SymbolDatum[] Variables = [];
    }

    private DeferPlan? MakePlan(PairDatum call, Frame? frame, ref ChainNames names)
    {
        var plan = new DeferPlan();
        var heads = new List<(SymbolDatum Name, ChainHead Kind)>();
        var variables = new List<SymbolDatum>();
        if (!Walk(call, 1, frame, ref names, plan, heads, variables)) return null;
        plan.Heads = heads.Select(h => h.Name).ToArray();
        plan.Kinds = heads.Select(h => h.Kind).ToArray();
        plan.Variables = variables.ToArray();
        return plan;
    }

    /// <summary>
    /// Walks a cons call at <paramref name="nesting"/> levels below the argument's list as its
    /// evaluation would (arguments left to right, each head looked up as the chain looks it up);
    /// false if any piece is not a cons call of two arguments, a quote, a known variable or a constant.
    /// </summary>
    private bool Walk(PairDatum call, int nesting, Frame? frame, ref ChainNames names, DeferPlan plan,
        List<(SymbolDatum Name, ChainHead Kind)> heads, List<SymbolDatum> variables)
    {
        if (nesting > MaxUnbuiltNesting) return false;
        plan.Levels++;
        if (nesting > plan.Deepest) plan.Deepest = nesting;
        var arguments = (PairDatum)call.Tail;
        return WalkArgument(arguments.Head, nesting, frame, ref names, plan, heads, variables)
            && WalkArgument(((PairDatum)arguments.Tail).Head, nesting, frame, ref names, plan, heads, variables);
    }

    private bool WalkArgument(Datum argument, int nesting, Frame? frame, ref ChainNames names, DeferPlan plan,
        List<(SymbolDatum Name, ChainHead Kind)> heads, List<SymbolDatum> variables)
    {
        switch (argument)
        {
            case PairDatum { Head: SymbolDatum name } call:
                var kind = Classify(name, frame, ref names);
                if (!heads.Exists(h => DatumExtensions.SameName(h.Name.Name, name.Name))) heads.Add((name, kind));
                switch (kind)
                {
                    case ChainHead.Quote:
                        // A quote of two arguments would look like a cons call to Build: built as ever.
                        if (IsTwoArgumentCall(call)) return false;
                        plan.Quotes++;
                        if (nesting + 1 > plan.Deepest) plan.Deepest = nesting + 1;
                        return true;
                    case ChainHead.Cons:
                        return IsTwoArgumentCall(call) && Walk(call, nesting + 1, frame, ref names, plan, heads, variables);
                    default:
                        return false;
                }
            case PairDatum:
                return false;
            case SymbolDatum symbol:
                if (TryLookup(symbol, frame) is null) return false;   // evaluated as ever, for its error
                variables.Add(symbol);
                names.Cons = names.Quote = null;   // as after any argument evaluated (ChainArgument)
                return true;
            default:
                return true;   // evaluates to itself
        }
    }

    /// <summary>
    /// <paramref name="unbuilt"/> built as its chain would have built it: its pairs marked as made by
    /// expansion <paramref name="serial"/> (0: unmarked, as the expansion leaves the pairs of skipped
    /// arguments), quotes' data and the variables' values the very objects evaluation would have used.
    /// </summary>
    private static Datum Build(UnbuiltArgument unbuilt, int serial)
    {
        var next = 0;
        return BuildLevel(unbuilt.Code, unbuilt.Values, ref next, FreshMark(serial));
    }

    private static PairDatum BuildLevel(PairDatum call, Datum[] values, ref int next, SourceLocation mark)
    {
        var arguments = (PairDatum)call.Tail;
        var head = BuildArgument(arguments.Head, values, ref next, mark);
        var tail = BuildArgument(((PairDatum)arguments.Tail).Head, values, ref next, mark);
        return new PairDatum(head, tail, mark);
    }

    // The walk saw the same code (nothing can reach the chain a macro's body is made of) and accepted
    // every piece: a call of two arguments is a cons (it took no quote of two), any other call a quote.
    private static Datum BuildArgument(Datum argument, Datum[] values, ref int next, SourceLocation mark) => argument switch
    {
        PairDatum call when IsTwoArgumentCall(call) => BuildLevel(call, values, ref next, mark),
        PairDatum quote => Car(quote.Tail),
        SymbolDatum => values[next++],
        _ => argument,
    };
}
