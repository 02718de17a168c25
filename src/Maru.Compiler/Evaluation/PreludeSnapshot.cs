using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// The root environment as the prelude leaves it, taken once per process, so that each compilation
/// starts from a private copy instead of reading and evaluating the prelude again (which was most
/// of the time a small compilation took).
/// <para>
/// Compilations stay independent: the snapshot holds no object any compilation can reach. It is a
/// description of the graph the prelude built - every node that compile-time code could change
/// (pairs, strings, arrays, instances, closures, macros, variables, local frames, the environment)
/// by number, with the references between them as numbers - and <see cref="Instantiate"/> builds
/// a fresh graph from it for each compilation, sharing only values that nothing can change:
/// symbols, numbers, nil, externs, and the primitives and special forms (stateless functions).
/// What the prelude's own evaluation used up (steps) carries over, so limits behave as before.
/// </para>
/// <para>
/// The copy is lazy: <see cref="Instantiate"/> makes the root and its variables (names, order and
/// locations as the prelude left them), and a variable's value - with everything it reaches - is
/// copied when the compilation first reads it (<see cref="Copy"/>). Every node is copied at most
/// once per compilation, through one table, so sharing and identity are exactly the prelude's; a
/// small program touches a few dozen of the prelude's thousands of nodes.
/// </para>
/// </summary>
internal sealed class PreludeSnapshot
{
    private static PreludeSnapshot? s_current;

    private readonly Node[] _nodes;

    /// <summary>The root's variables: node numbers, in definition order.</summary>
    private readonly int[] _rootVariables;

    /// <summary>The root's variables by name: node numbers (read by every compilation, never changed).</summary>
    private readonly Dictionary<string, int> _rootVariablesByName;

    private PreludeSnapshot(Node[] nodes, NameTable names, long steps, long memory)
    {
        _nodes = nodes;
        Names = names;
        _rootVariables = ((EnvironmentNode)nodes[0]).Variables;
        _rootVariablesByName = new Dictionary<string, int>(_rootVariables.Length, StringComparer.Ordinal);
        foreach (var number in _rootVariables) _rootVariablesByName.Add(((VariableNode)nodes[number]).Name, number);
        Steps = steps;
        Memory = memory;
    }

    /// <summary>The snapshot, once a compilation has evaluated the prelude cleanly; null before.</summary>
    public static PreludeSnapshot? Current => Volatile.Read(ref s_current);

    /// <summary>The names of the snapshot's symbols and frames (frozen): where a compilation that copies it starts its own (see <see cref="NameTable"/>).</summary>
    public NameTable Names { get; }

    /// <summary>The evaluation steps the prelude took; a compilation starts with these spent.</summary>
    public long Steps { get; }

    /// <summary>The memory the prelude's evaluation was charged; a compilation starts with it spent.</summary>
    public long Memory { get; }

    /// <summary>Number of nodes a compilation could copy (for tests).</summary>
    internal int NodeCount => _nodes.Length;

    /// <summary>
    /// Takes the snapshot from <paramref name="root"/>, just after the prelude was evaluated into it,
    /// unless there is one already or the graph holds something it cannot describe (then every
    /// compilation keeps evaluating the prelude itself).
    /// </summary>
    public static void TryPublish(GlobalEnvironment root, long steps, long memory)
    {
        if (Current is not null) return;
        PreludeSnapshot snapshot;
        try
        {
            snapshot = Freeze(root, steps, memory);
        }
        catch (NotSupportedException)
        {
            return;
        }
        Interlocked.CompareExchange(ref s_current, snapshot, null);
    }

    /// <summary>A fresh root environment, equal to the prelude's and sharing nothing mutable with any other.</summary>
    public GlobalEnvironment Instantiate() => new Copy(this).Root;

    /// <summary>
    /// One compilation's copy of the snapshot: node number to copied object, filled on demand.
    /// Used by one compilation at a time (its evaluation), like the rest of its state. The root's
    /// variables are made when first looked up (a small program names a few dozen of the prelude's
    /// few hundred), and a variable's value when first read.
    /// </summary>
    internal sealed class Copy
    {
        private readonly PreludeSnapshot _snapshot;
        private readonly Node[] _nodes;
        /// <summary>
        /// Node number to copy, for the nodes copied so far: a small program copies a few dozen of
        /// the prelude's thousands of nodes, scattered over its numbering, and a table indexed by
        /// number (flat or in pages) cost every compilation an allocation proportional to the prelude.
        /// </summary>
        private readonly Dictionary<int, object> _copies = new(64);
        private readonly Stack<int> _unfilled = new();

        public Copy(PreludeSnapshot snapshot)
        {
            _snapshot = snapshot;
            _nodes = snapshot._nodes;
            Root = new GlobalEnvironment(null, SourceLocation.None);
            _copies.Add(0, Root);
            Root.DeferTo(this);
        }

        private object? Copied(int number) => _copies.GetValueOrDefault(number);

        private void Store(int number, object copy) => _copies[number] = copy;

        public GlobalEnvironment Root { get; }

        /// <summary>The root's variable <paramref name="name"/> from the prelude, made (and bound) the first time; null when the prelude has none.</summary>
        public Variable? RootVariable(string name) =>
            _snapshot._rootVariablesByName.TryGetValue(name, out var number) ? RootVariable(number) : null;

        /// <summary>Every root variable of the prelude, in its order (made now where not yet).</summary>
        public List<Variable> RootVariables()
        {
            var variables = new List<Variable>(_snapshot._rootVariables.Length);
            foreach (var number in _snapshot._rootVariables) variables.Add(RootVariable(number));
            return variables;
        }

        private Variable RootVariable(int number)
        {
            if (Copied(number) is Variable made) return made;
            var node = (VariableNode)_nodes[number];
            var variable = new Variable(node.Name, NilDatum.Empty, Root, node.DefinedAt);
            if (node.Value.Number < 0) variable.Value = node.Value.Shared!;
            else variable.Defer(this, node.Value.Number);
            Store(number, variable);
            Root.Bind(variable);
            return variable;
        }

        /// <summary>The copy of node <paramref name="number"/>, complete with everything it reaches.</summary>
        public Datum Materialise(int number)
        {
            var copy = Get(number);
            // Shells first, parts after: filling a node only makes shells of what it refers to, so
            // copying a long list or a deep structure needs no recursion.
            while (_unfilled.TryPop(out var next)) _nodes[next].Fill(Copied(next)!, this);
            return (Datum)copy;
        }

        /// <summary>The copy of node <paramref name="number"/>: made empty the first time (and filled later by <see cref="Materialise"/>).</summary>
        public object Get(int number)
        {
            var copy = Copied(number);
            if (copy is not null) return copy;
            copy = _nodes[number].Shell();
            Store(number, copy);
            _unfilled.Push(number);
            return copy;
        }

        public T? At<T>(int number) where T : class => number < 0 ? null : (T)Get(number);
    }

    // ---- freezing --------------------------------------------------------------------------------

    private static PreludeSnapshot Freeze(GlobalEnvironment root, long steps, long memory)
    {
        if (root.Parent is not null) throw new NotSupportedException();
        var numbers = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var found = new List<object>();

        int Number(object node)
        {
            if (!numbers.TryGetValue(node, out var number))
            {
                number = found.Count;
                numbers.Add(node, number);
                found.Add(node);
            }
            return number;
        }

        // Every symbol name the graph holds (symbols are shared with the copies, frames' names copied as they are).
        var names = new HashSet<string>(ReferenceEqualityComparer.Instance);

        Ref Value(Datum value)
        {
            if (!IsShared(value)) return new Ref(Number(value), null);
            if (value is SymbolDatum symbol) names.Add(symbol.Name);
            return new Ref(-1, value);
        }

        int FrameNumber(Frame? frame) => frame is null ? -1 : Number(frame);

        int EnvironmentNumber(GlobalEnvironment? environment) => environment switch
        {
            null => -1,
            _ when ReferenceEquals(environment, root) => Number(environment),
            _ => throw new NotSupportedException(), // compile sections never outlive the prelude
        };

        Ref[] Values(IReadOnlyList<Datum> values)
        {
            var refs = new Ref[values.Count];
            for (var i = 0; i < refs.Length; i++) refs[i] = Value(values[i]);
            return refs;
        }

        Number(root);
        var nodes = new List<Node>();
        // Numbering appends what it meets, so this walks the whole graph breadth first, without recursion.
        for (var i = 0; i < found.Count; i++)
        {
            nodes.Add(found[i] switch
            {
                PairDatum pair => new PairNode(pair.Location, Value(pair.Head), Value(pair.Tail)),
                StringDatum text => new StringNode(text.Value, text.Location),
                ArrayValue array => new ArrayNode(Values(array.Items)),
                RecordValue record => new RecordNode(record.Type, Values(record.Fields)),
                Closure closure => new ClosureNode(Value(closure.Parameters), Values(closure.Body), FrameNumber(closure.Environment),
                    EnvironmentNumber(closure.Home), closure.DefinedAt, closure.Name),
                FormValue form => new FormNode(Value(form.Function), Value(form.SymbolFunction)),
                Variable variable when ReferenceEquals(variable.Environment, root) => new VariableNode(variable.Name, Value(variable.Value), variable.DefinedAt),
                GlobalEnvironment environment when ReferenceEquals(environment, root) => new EnvironmentNode(environment.Variables.Select(Number).ToArray()),
                Frame frame => new FrameNode(FrameNumber(frame.Parent), EnvironmentNumber(frame.Home), frame.Names.ToArray(), Values(frame.Values)),
                _ => throw new NotSupportedException(),
            });
            if (found[i] is Frame bound) names.UnionWith(bound.Names);
        }
        // Two instances of one name would make two symbols the evaluator tells apart: no snapshot then.
        var table = NameTable.Frozen(names) ?? throw new NotSupportedException();
        return new PreludeSnapshot(nodes.ToArray(), table, steps, memory);
    }

    /// <summary>
    /// True for values no compile-time code can change, which copies may share. The primitives and
    /// special forms are the interpreter's built-ins, made only when it defines them: functions of
    /// the interpreter they are given, holding no state of their own (a test checks every one).
    /// </summary>
    private static bool IsShared(Datum value) =>
        value is SymbolDatum or IntegerDatum or RealDatum or NilDatum or ExternValue or Primitive or SpecialForm;

    // ---- the description ------------------------------------------------------------------------

    /// <summary>A reference to a value: node number <see cref="Number"/>, or (when -1) the shared <see cref="Shared"/>.</summary>
    private readonly record struct Ref(int Number, Datum? Shared)
    {
        public Datum Resolve(Copy copy) => Number >= 0 ? (Datum)copy.Get(Number) : Shared!;
    }

    private static Datum[] Resolve(Ref[] refs, Copy copy)
    {
        var values = new Datum[refs.Length];
        for (var i = 0; i < values.Length; i++) values[i] = refs[i].Resolve(copy);
        return values;
    }

    /// <summary>One node: first made empty (<see cref="Shell"/>), then given its parts (<see cref="Fill"/>), which may be shells still.</summary>
    private abstract class Node
    {
        public abstract object Shell();

        public virtual void Fill(object shell, Copy copy)
        {
        }
    }

    private sealed class PairNode(SourceLocation location, Ref head, Ref tail) : Node
    {
        public override object Shell() => new PairDatum(NilDatum.Empty, NilDatum.Empty, location);

        public override void Fill(object shell, Copy copy)
        {
            var pair = (PairDatum)shell;
            pair.Head = head.Resolve(copy);
            pair.Tail = tail.Resolve(copy);
        }
    }

    private sealed class StringNode(string value, SourceLocation location) : Node
    {
        public override object Shell() => new StringDatum(value, location);
    }

    private sealed class ArrayNode(Ref[] items) : Node
    {
        public override object Shell() => new ArrayValue(0);

        public override void Fill(object shell, Copy copy) => ((ArrayValue)shell).Items.AddRange(Resolve(items, copy));
    }

    private sealed class RecordNode(long type, Ref[] fields) : Node
    {
        public override object Shell() => new RecordValue(type, fields.Length);

        public override void Fill(object shell, Copy copy)
        {
            var record = (RecordValue)shell;
            for (var i = 0; i < fields.Length; i++) record.Fields[i] = fields[i].Resolve(copy);
        }
    }

    private sealed class ClosureNode(Ref parameters, Ref[] body, int environment, int home, SourceLocation definedAt, string? name) : Node
    {
        public override object Shell() => Closure.Shell();

        public override void Fill(object shell, Copy copy) =>
            ((Closure)shell).Fill(parameters.Resolve(copy), Resolve(body, copy), copy.At<Frame>(environment),
                copy.At<GlobalEnvironment>(home), definedAt, name);
    }

    private sealed class FormNode(Ref function, Ref symbolFunction) : Node
    {
        public override object Shell() => new FormValue(NilDatum.Empty, NilDatum.Empty);

        public override void Fill(object shell, Copy copy) => ((FormValue)shell).Fill(function.Resolve(copy), symbolFunction.Resolve(copy));
    }

    /// <summary>A variable of the root (the only environment a snapshot holds): <see cref="Copy"/> makes them all with the root.</summary>
    private sealed class VariableNode(string name, Ref value, SourceLocation definedAt) : Node
    {
        public string Name => name;
        public Ref Value => value;
        public SourceLocation DefinedAt => definedAt;

        public override object Shell() => throw new InvalidOperationException("a snapshot's variables are made with its root");
    }

    /// <summary>The root, node 0: its variables' node numbers in definition order.</summary>
    private sealed class EnvironmentNode(int[] variables) : Node
    {
        public int[] Variables => variables;

        public override object Shell() => throw new InvalidOperationException("a snapshot's root is made first");
    }

    private sealed class FrameNode(int parent, int home, string[] names, Ref[] values) : Node
    {
        public override object Shell() => new Frame(null);

        public override void Fill(object shell, Copy copy)
        {
            var frame = (Frame)shell;
            frame.Place(copy.At<Frame>(parent), copy.At<GlobalEnvironment>(home));
            for (var i = 0; i < names.Length; i++) frame.Bind(names[i], values[i].Resolve(copy));
        }
    }
}
