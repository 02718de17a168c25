using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

// The compile-time value universe. Integers, reals, strings, symbols, pairs and nil are the
// reader's datums (so expanded code keeps its source locations); the kinds below exist only
// while the compiler evaluates Maru. Truth is Maru's: only nil is false.

/// <summary>A value that exists only in the compile-time world (it has no source form).</summary>
internal abstract class CompileTimeValue() : Datum(SourceLocation.None)
{
    /// <summary>What messages call this kind of value ("a closure", "an array"...).</summary>
    public abstract string Description { get; }

    /// <summary>
    /// <c>datum is CompileTimeValue</c>, answered first by the reader's kinds (sealed classes: one
    /// comparison each) so the usual datum never reaches the runtime's test for a class with subclasses.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Is(Datum datum) => datum is not (PairDatum or SymbolDatum or IntegerDatum or NilDatum or StringDatum or RealDatum) && datum is CompileTimeValue;
}

/// <summary>
/// A lambda evaluated at compile time: parameters (a list of symbols, possibly dotted or a lone
/// symbol for rest arguments), the expanded body, and the local frame it closed over (null at top level).
/// </summary>
internal sealed class Closure : CompileTimeValue
{
    private GlobalEnvironment? _home;

    public Closure(Datum parameters, Datum[] body, Frame? environment, SourceLocation location)
    {
        Parameters = parameters;
        _body = body;
        Environment = environment;
        DefinedAt = location;
    }

    public Datum Parameters { get; private set; }
    private Datum[] _body;

    /// <summary>The body forms (an array, so a call walks it without an enumerator).</summary>
    public IReadOnlyList<Datum> Body => _body;

    /// <summary>The body forms, for the interpreter.</summary>
    internal Datum[] Forms => _body;
    public Frame? Environment { get; private set; }
    public SourceLocation DefinedAt { get; private set; }
    public string? Name { get; set; }

    /// <summary>
    /// The global environment the lambda was evaluated in: the body's free names are looked up
    /// there (as maru-2.4 resolves them when it encodes the lambda), so a prelude or root helper
    /// keeps meaning its own cons even while a compile section defines a compiled cons.
    /// </summary>
    public GlobalEnvironment? Home { get => _home; init => _home = value; }
    public override string Description => "a closure";
    public override string ToString() => Name is null ? "<closure>" : $"<closure {Name}>";

    private Datum? _namesOf;
    private string[] _parameterNames = [];
    private int _required;
    private bool _hasRest;

    /// <summary>
    /// The parameters' names in binding order (the rest parameter last), worked out once per
    /// parameter list: <paramref name="required"/> fixed ones, and whether a rest parameter follows.
    /// </summary>
    public string[] ParameterNames(out int required, out bool hasRest)
    {
        if (!ReferenceEquals(_namesOf, Parameters))
        {
            var names = new List<string>();
            var parameters = Parameters;
            for (; parameters is PairDatum p; parameters = p.Tail) names.Add(((SymbolDatum)p.Head).Name);
            _required = names.Count;
            _hasRest = parameters is SymbolDatum;
            if (parameters is SymbolDatum rest) names.Add(rest.Name);
            _parameterNames = names.ToArray();
            _namesOf = Parameters;
        }
        required = _required;
        hasRest = _hasRest;
        return _parameterNames;
    }

    /// <summary>Whether the body names a parameter bound to a macro call's arguments (see Interpreter.IgnoresArguments); null until asked.</summary>
    internal bool? ArgumentUse { get; set; }

    /// <summary>An empty closure for <see cref="PreludeSnapshot"/> to fill (its parts may refer back to it).</summary>
    internal static Closure Shell() => new(NilDatum.Empty, [], null, SourceLocation.None);

    internal void Fill(Datum parameters, Datum[] body, Frame? environment, GlobalEnvironment? home, SourceLocation location, string? name)
    {
        Parameters = parameters;
        _body = body;
        Environment = environment;
        _home = home;
        DefinedAt = location;
        Name = name;
        ArgumentUse = null;
    }
}

/// <summary>
/// A built-in function: its arguments are evaluated before it is called. It reads the argument
/// array only while it runs, never keeps it (the interpreter reuses the array for the next call).
/// </summary>
internal sealed class Primitive(string name, Func<Interpreter, Datum[], Datum> function) : CompileTimeValue
{
    public string Name { get; } = name;
    public Func<Interpreter, Datum[], Datum> Function { get; } = function;

    /// <summary>The built-in cons (the interpreter evaluates chains of calls to it in a loop).</summary>
    public bool IsCons { get; init; }
    public override string Description => "a primitive";
    public override string ToString() => $"<primitive {Name}>";
}

/// <summary>A special form (maru's "fixed"): it receives its call unevaluated, with the local frame.</summary>
internal sealed class SpecialForm(string name, Func<Interpreter, PairDatum, Frame?, Datum> function) : CompileTimeValue
{
    public string Name { get; } = name;
    public Func<Interpreter, PairDatum, Frame?, Datum> Function { get; } = function;

    /// <summary>The built-in quote.</summary>
    public bool IsQuote { get; init; }
    public override string Description => "a special form";
    public override string ToString() => $"<special form {Name}>";
}

/// <summary>
/// A macro (maru's Form): <see cref="Function"/> rewrites <c>(name args...)</c>, called with
/// <c>*env*</c> and the unevaluated arguments; <see cref="SymbolFunction"/> rewrites a bare <c>name</c>.
/// </summary>
internal sealed class FormValue(Datum function, Datum symbolFunction) : CompileTimeValue
{
    public Datum Function { get; private set; } = function;
    public Datum SymbolFunction { get; private set; } = symbolFunction;
    public override string Description => "a macro";
    public override string ToString() => "<form>";

    internal void Fill(Datum function, Datum symbolFunction)
    {
        Function = function;
        SymbolFunction = symbolFunction;
    }
}

/// <summary>A growable array (maru's Array): reading past the end gives nil, writing past it grows it.</summary>
internal sealed class ArrayValue(int length) : CompileTimeValue
{
    public List<Datum> Items { get; } = Enumerable.Repeat<Datum>(NilDatum.Empty, Math.Max(0, length)).ToList();
    public override string Description => "an array";
    public override string ToString() => $"<array of {Items.Count}>";
}

/// <summary>An instance made by <c>allocate</c>/<c>new</c>: a structure type number and its field words.</summary>
internal sealed class RecordValue(long type, int size) : CompileTimeValue
{
    public long Type { get; } = type;
    public Datum[] Fields { get; } = Enumerable.Repeat<Datum>(NilDatum.Empty, Math.Max(0, size)).ToArray();
    public override string Description => "a structure instance";
    public override string ToString() => $"<instance of type {Type}>";
}

/// <summary>
/// <c>(extern 'name)</c>: a C function the compiled library imports; <see cref="FixedParameters"/>
/// is set for a variadic one (known by name, or declared with <c>(extern 'name N)</c>).
/// </summary>
internal sealed class ExternValue(string symbol, int? fixedParameters = null) : CompileTimeValue
{
    public string Symbol { get; } = symbol;
    public int? FixedParameters { get; } = fixedParameters;
    public override string Description => "an extern";
    public override string ToString() => $"<extern {Symbol}>";
}

/// <summary>A global binding, as <c>defined?</c> returns it.</summary>
internal sealed class Variable(string name, Datum value, GlobalEnvironment environment, SourceLocation definedAt) : CompileTimeValue
{
    // Null while the value is still only in the prelude snapshot (PreludeSnapshot.Copy): copied on first read.
    private Datum? _value = value;
    private PreludeSnapshot.Copy? _pending;
    private int _pendingNode;

    public string Name { get; } = name;

    public Datum Value
    {
        get => _value ?? Materialise();
        set
        {
            _value = value;
            _pending = null;
        }
    }

    public GlobalEnvironment Environment { get; } = environment;
    /// <summary>Whether the value is or may be a macro (a prelude value not yet copied may be one).</summary>
    internal bool MayHoldForm => _value is FormValue || _pending is not null;

    /// <summary>Where the (last) define of this name was evaluated.</summary>
    public SourceLocation DefinedAt { get; set; } = definedAt;
    public override string Description => "a variable";
    public override string ToString() => $"<variable {Name}>";

    /// <summary>Leaves the value in <paramref name="copy"/>'s snapshot (node <paramref name="node"/>) until it is first read.</summary>
    internal void Defer(PreludeSnapshot.Copy copy, int node)
    {
        _value = null;
        _pending = copy;
        _pendingNode = node;
    }

    private Datum Materialise()
    {
        var value = _pending!.Materialise(_pendingNode);
        _value = value;
        _pending = null;
        return value;
    }
}

/// <summary>
/// A global environment: the root holds the primitives and the prelude; <c>(compile-begin)</c>
/// pushes a child whose bindings <c>(compile-end)</c> compiles. Passed to macros as <c>*env*</c>.
/// </summary>
internal sealed class GlobalEnvironment : CompileTimeValue
{
    private readonly Dictionary<string, Variable> _bindings = new(StringComparer.Ordinal);
    private List<Variable> _order = new();
    // A root copied from the prelude snapshot: the prelude's variables not yet asked for (made on first lookup).
    private PreludeSnapshot.Copy? _snapshot;
    private readonly GlobalEnvironment _root;

    // The root's cache of name lookups (Find(SymbolDatum)). A slot is for one name (one string
    // instance: every symbol of a compilation takes its name from the compilation's NameTable) and
    // remembers the lookups of that name from the last two environments asked from (a compile
    // section's code and the prelude's closures, whose home is the root, ask in turn). Every datum
    // of a name shares its slot: a symbol datum remembers the slot as this root's serial and the
    // slot's index (SymbolDatum.LookupSlot), and a datum without one (each occurrence the reader
    // makes, each copy of a template) finds its name's slot through a table keyed by the name's
    // instance, so only a name's first lookup from an environment hashes the name in every
    // environment of the chain. A slot is used only when it holds the datum's very name string, so
    // a wrong or stale number is only a miss. The slots belong to this compilation; a datum shared
    // by several compilations (the prelude snapshot's symbols) remembers only numbers, so it keeps
    // no compilation alive.
    private static int s_serials;
    private readonly int _serial;
    // In chunks of a fixed size, so growing copies nothing and no array is large enough for the large object heap.
    private const int SlotChunkBits = 9;
    private LookupSlot[][] _slots = [];
    private int _slotCount;
    // The slot of each name: open addressing by the name instance's identity hash, slot index + 1 (0: empty).
    private int[] _slotOfName = [];
    // Bumped when a binding added below the root hides one of an enclosing environment, which a slot
    // may hold for lookups made from there. (A new root binding hides nothing.)
    private int _shadowings;
    // Bumped when any binding is added: a name a slot found nowhere may be found now.
    private int _definitions;
    // Bumped when a binding that holds (or may hold) a macro is given another value, or one is given a macro.
    private int _formChanges;

    /// <summary>Changes (on the root) whenever a binding is added or a binding's macro changes (see Interpreter.Relocate).</summary>
    internal int FormStamp => _root._definitions + _root._formChanges;

    /// <summary>Notes that <paramref name="variable"/>, bound here, is about to be given <paramref name="value"/>.</summary>
    internal void NoteAssignment(Variable variable, Datum value)
    {
        if (value is FormValue || variable.MayHoldForm) _root._formChanges++;
    }

    private struct LookupSlot
    {
        public string Name;
        // The newest lookup (From, Variable, Epoch) and the one before it, from another environment.
        public GlobalEnvironment? From, OtherFrom;
        public Variable? Variable, OtherVariable;   // null: found nowhere
        public int Epoch, OtherEpoch;              // _shadowings when found, _definitions when found nowhere
    }

    public GlobalEnvironment(GlobalEnvironment? parent, SourceLocation begunAt)
    {
        Parent = parent;
        BegunAt = begunAt;
        _root = parent?._root ?? this;
        if (parent is null) _serial = Interlocked.Increment(ref s_serials);
    }

    public GlobalEnvironment? Parent { get; }

    /// <summary>Where the (compile-begin) that made this environment was; None for the root.</summary>
    public SourceLocation BegunAt { get; }

    public bool IsCompileSection => Parent is not null;

    /// <summary>Bindings in first-definition order.</summary>
    public IReadOnlyList<Variable> Variables
    {
        get
        {
            if (_snapshot is { } snapshot)
            {
                // Every prelude variable, in the prelude's order, then the ones defined since.
                _snapshot = null;
                var all = snapshot.RootVariables();
                all.AddRange(_order);
                _order = all;
            }
            return _order;
        }
    }

    public Variable? FindLocal(string name) =>
        _bindings.TryGetValue(name, out var variable) ? variable : _snapshot?.RootVariable(name);

    public Variable? Find(string name)
    {
        for (var env = this; env is not null; env = env.Parent)
            if (env.FindLocal(name) is { } variable)
                return variable;
        return null;
    }

    /// <summary><see cref="Find(string)"/> for a symbol datum, remembered in its name's slot (<see cref="SlotOf"/>) for the next lookup of the name from this environment.</summary>
    public Variable? Find(SymbolDatum symbol)
    {
        var root = _root;
        ref var slot = ref root.SlotFor(symbol);
        if (ReferenceEquals(slot.From, this) && slot.Epoch == (slot.Variable is null ? root._definitions : root._shadowings)) return slot.Variable;
        if (ReferenceEquals(slot.OtherFrom, this) && slot.OtherEpoch == (slot.OtherVariable is null ? root._definitions : root._shadowings)) return slot.OtherVariable;
        return FindAndRemember(symbol.Name, ref slot);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Variable? FindAndRemember(string name, ref LookupSlot slot)
    {
        var root = _root;
        var variable = Find(name);
        if (!ReferenceEquals(slot.From, this))
        {
            // The newest lookup from elsewhere stays, as the other one (a stale one from here is dropped).
            slot.OtherFrom = slot.From;
            slot.OtherVariable = slot.Variable;
            slot.OtherEpoch = slot.Epoch;
            slot.From = this;
        }
        slot.Variable = variable;
        slot.Epoch = variable is null ? root._definitions : root._shadowings;
        return variable;
    }

    /// <summary>Gives <paramref name="symbol"/> the root's lookup slot of its name (for a macro-template symbol, whose copies take its number).</summary>
    internal void SlotOf(SymbolDatum symbol) => _root.SlotFor(symbol);

    /// <summary>This root's lookup slot for <paramref name="symbol"/>'s name, found (or made, empty) by the name when the datum does not know it yet.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private ref LookupSlot SlotFor(SymbolDatum symbol)
    {
        var key = symbol.LookupSlot;
        var index = (int)key;
        if ((int)(key >> 32) == _serial && (uint)index < (uint)_slotCount)
        {
            ref var slot = ref _slots[index >> SlotChunkBits][index & ((1 << SlotChunkBits) - 1)];
            if (ReferenceEquals(slot.Name, symbol.Name)) return ref slot;
        }
        index = SlotOfName(symbol.Name);
        symbol.LookupSlot = ((long)_serial << 32) | (uint)index;
        return ref _slots[index >> SlotChunkBits][index & ((1 << SlotChunkBits) - 1)];
    }

    /// <summary>The root's slot for the name instance <paramref name="name"/>, made (empty) the first time.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private int SlotOfName(string name)
    {
        var table = _slotOfName;
        var mask = table.Length - 1;
        var hash = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(name);
        if (table.Length != 0)
        {
            for (var i = hash & mask; ; i = (i + 1) & mask)
            {
                var entry = table[i];
                if (entry == 0) break;
                if (ReferenceEquals(_slots[(entry - 1) >> SlotChunkBits][(entry - 1) & ((1 << SlotChunkBits) - 1)].Name, name)) return entry - 1;
            }
        }
        var index = _slotCount++;
        if ((index & ((1 << SlotChunkBits) - 1)) == 0)
        {
            if ((index >> SlotChunkBits) == _slots.Length) Array.Resize(ref _slots, Math.Max(16, _slots.Length * 2));
            _slots[index >> SlotChunkBits] = new LookupSlot[1 << SlotChunkBits];
        }
        _slots[index >> SlotChunkBits][index & ((1 << SlotChunkBits) - 1)].Name = name;
        if (_slotCount * 2 > table.Length)
        {
            // Rehashed at half full, so a probe always ends at an empty entry.
            var grown = new int[Math.Max(64, table.Length * 2)];
            var grownMask = grown.Length - 1;
            for (var slot = 0; slot < index; slot++)
            {
                var i = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(_slots[slot >> SlotChunkBits][slot & ((1 << SlotChunkBits) - 1)].Name) & grownMask;
                while (grown[i] != 0) i = (i + 1) & grownMask;
                grown[i] = slot + 1;
            }
            _slotOfName = table = grown;
            mask = grownMask;
        }
        var at = hash & mask;
        while (table[at] != 0) at = (at + 1) & mask;
        table[at] = index + 1;
        return index;
    }

    public Variable Define(string name, Datum value, SourceLocation location)
    {
        if (FindLocal(name) is { } variable)
        {
            NoteAssignment(variable, value);
            variable.Value = value;
            variable.DefinedAt = location;
            return variable;
        }
        _root._definitions++;
        if (Parent?.Find(name) is not null) _root._shadowings++;
        variable = new Variable(name, value, this, location);
        _bindings.Add(name, variable);
        _order.Add(variable);
        return variable;
    }

    /// <summary>Makes this (empty) root a copy of the snapshot's: its variables are made when first looked up (<see cref="PreludeSnapshot.Copy"/>).</summary>
    internal void DeferTo(PreludeSnapshot.Copy snapshot) => _snapshot = snapshot;

    /// <summary>Binds a prelude variable the snapshot copy made (it keeps its place in the prelude's order).</summary>
    internal void Bind(Variable variable) => _bindings.Add(variable.Name, variable);

    public override string Description => "an environment";
    public override string ToString() => IsCompileSection ? "<compile environment>" : "<globals>";
}

/// <summary>
/// Local bindings of a lambda call or a let: a small frame searched from the newest binding.
/// Names and values are two arrays: a closure call binds its parameters by taking the closure's
/// name array and the call's argument array as they are (<see cref="ForCall"/>), copying them only
/// if a binding is added later, so a call allocates the frame object and nothing else.
/// </summary>
internal sealed class Frame(Frame? parent, GlobalEnvironment? home = null)
{
    /// <summary>Where free names of the code running in this frame are looked up (the closure's home); null at top level.</summary>
    public GlobalEnvironment? Home { get; private set; } = home ?? parent?.Home;

    private string[] _names = [];
    private Datum[] _values = [];
    private int _count;
    // _names (or _values) belongs to someone else (the closure, the caller): copied before a binding is added.
    private bool _borrowed;

    public Frame? Parent { get; private set; } = parent;

    public bool IsEmpty => _count == 0;

    /// <summary>The names bound here, oldest first (parallel to <see cref="Values"/>).</summary>
    internal ArraySegment<string> Names => new(_names, 0, _count);

    internal ArraySegment<Datum> Values => new(_values, 0, _count);

    /// <summary>
    /// The frame of a call binding <paramref name="names"/> to <paramref name="values"/>, both used
    /// as they are: the names are the closure's own, and the values an argument array no one else
    /// reads or writes after the call starts.
    /// </summary>
    public static Frame ForCall(Frame? parent, GlobalEnvironment? home, string[] names, Datum[] values, int count) =>
        new(parent, home) { _names = names, _values = values, _count = count, _borrowed = true };

    public void Bind(string name, Datum value)
    {
        if (_borrowed || _count == _names.Length)
        {
            var capacity = Math.Max(4, Math.Max(_count + 1, _borrowed ? _count + 1 : _count * 2));
            Array.Resize(ref _names, capacity);
            Array.Resize(ref _values, capacity);
            _borrowed = false;
        }
        _names[_count] = name;
        ExactArray.Set(_values, _count++, value);
    }

    /// <summary>Gives an empty frame made by <see cref="PreludeSnapshot"/> its place (its values are bound afterwards).</summary>
    internal void Place(Frame? parent, GlobalEnvironment? home)
    {
        Parent = parent;
        Home = home;
    }

    /// <summary>
    /// The frame and slot holding <paramref name="name"/>, searching outwards. Names are compared by
    /// reference: every name bound or looked up is its compilation's one instance (see <see cref="NameTable"/>).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryFind(Frame? frame, string name, out Frame found, out int index)
    {
        for (; frame is not null; frame = frame.Parent)
        {
            var names = frame._names;
            for (var i = frame._count - 1; i >= 0; i--)
            {
                if (ReferenceEquals(names[i], name))
                {
                    found = frame;
                    index = i;
                    return true;
                }
            }
        }
        found = null!;
        index = -1;
        return false;
    }

    public Datum Get(int index) => _values[index];

    public void Set(int index, Datum value) => ExactArray.Set(_values, index, value);
}
