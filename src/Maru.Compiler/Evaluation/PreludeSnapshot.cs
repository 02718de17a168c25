using System.Reflection;
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
/// </summary>
internal sealed class PreludeSnapshot
{
    private static PreludeSnapshot? s_current;

    private readonly Node[] _nodes;

    private PreludeSnapshot(Node[] nodes, long steps, long memory)
    {
        _nodes = nodes;
        Steps = steps;
        Memory = memory;
    }

    /// <summary>The snapshot, once a compilation has evaluated the prelude cleanly; null before.</summary>
    public static PreludeSnapshot? Current => Volatile.Read(ref s_current);

    /// <summary>The evaluation steps the prelude took; a compilation starts with these spent.</summary>
    public long Steps { get; }

    /// <summary>The memory the prelude's evaluation was charged; a compilation starts with it spent.</summary>
    public long Memory { get; }

    /// <summary>Number of nodes a compilation copies (for tests).</summary>
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
    public GlobalEnvironment Instantiate()
    {
        var copies = new object[_nodes.Length];
        for (var i = 0; i < copies.Length; i++) copies[i] = _nodes[i].Shell();
        for (var i = 0; i < copies.Length; i++) _nodes[i].Fill(copies[i], copies);
        return (GlobalEnvironment)copies[0];
    }

    // ---- freezing --------------------------------------------------------------------------------

    private static PreludeSnapshot Freeze(GlobalEnvironment root, long steps, long memory)
    {
        if (root.Parent is not null) throw new NotSupportedException();
        var numbers = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var found = new List<object>();
        var checkedFunctions = new HashSet<Delegate>(ReferenceEqualityComparer.Instance);

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

        Ref Value(Datum value) => IsShared(value, checkedFunctions) ? new Ref(-1, value) : new Ref(Number(value), null);

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
                Variable variable => new VariableNode(variable.Name, Value(variable.Value), EnvironmentNumber(variable.Environment), variable.DefinedAt),
                GlobalEnvironment environment => new EnvironmentNode(environment.Variables.Select(Number).ToArray()),
                Frame frame => new FrameNode(FrameNumber(frame.Parent), EnvironmentNumber(frame.Home), frame.Names.ToArray(), Values(frame.Values)),
                _ => throw new NotSupportedException(),
            });
        }
        return new PreludeSnapshot(nodes.ToArray(), steps, memory);
    }

    /// <summary>True for values no compile-time code can change, which copies may share.</summary>
    private static bool IsShared(Datum value, HashSet<Delegate> checkedFunctions) => value switch
    {
        SymbolDatum or IntegerDatum or RealDatum or NilDatum or ExternValue => true,
        Primitive primitive => IsStateless(primitive.Function, checkedFunctions) ? true : throw new NotSupportedException(),
        SpecialForm special => IsStateless(special.Function, checkedFunctions) ? true : throw new NotSupportedException(),
        _ => false,
    };

    /// <summary>
    /// A built-in's function may be shared between compilations only if it holds no state of its
    /// own: it gets the interpreter as an argument, and captures at most names, numbers and other
    /// such functions (never an interpreter, an evaluator or a value).
    /// </summary>
    private static bool IsStateless(Delegate function, HashSet<Delegate> checkedFunctions)
    {
        if (!checkedFunctions.Add(function)) return true;
        foreach (var part in function.GetInvocationList())
            if (!IsStatelessTarget(part.Target, depth: 0, checkedFunctions))
                return false;
        return true;
    }

    // The check reads the fields of compiler-generated closure classes. A trimmed NativeAOT build
    // (maruc) cannot promise them, so there it says no: no snapshot, each compilation evaluates the prelude.
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Never runs without dynamic code support: see the first test.")]
    private static bool IsStatelessTarget(object? target, int depth, HashSet<Delegate> checkedFunctions)
    {
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported) return false;
        if (target is null) return true;
        var type = target.GetType();
        // Only the compiler's lambda classes (<>c, <>c__DisplayClass...): never an Interpreter or anything else.
        if (depth > 8 || !type.Name.StartsWith('<') || type.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null)
            return false;
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            var ok = field.GetValue(target) switch
            {
                null or string or Enum => true,
                var primitive when primitive.GetType().IsPrimitive => true,
                Delegate inner => IsStateless(inner, checkedFunctions),
                var other => IsStatelessTarget(other, depth + 1, checkedFunctions),
            };
            if (!ok) return false;
        }
        return true;
    }

    // ---- the description ------------------------------------------------------------------------

    /// <summary>A reference to a value: node number <see cref="Number"/>, or (when -1) the shared <see cref="Shared"/>.</summary>
    private readonly record struct Ref(int Number, Datum? Shared)
    {
        public Datum Resolve(object[] copies) => Number >= 0 ? (Datum)copies[Number] : Shared!;
    }

    private static Datum[] Resolve(Ref[] refs, object[] copies)
    {
        var values = new Datum[refs.Length];
        for (var i = 0; i < values.Length; i++) values[i] = refs[i].Resolve(copies);
        return values;
    }

    private static T? At<T>(int number, object[] copies) where T : class => number < 0 ? null : (T)copies[number];

    /// <summary>One node: first made empty (<see cref="Shell"/>), then, once every node exists, given its parts (<see cref="Fill"/>).</summary>
    private abstract class Node
    {
        public abstract object Shell();

        public virtual void Fill(object shell, object[] copies)
        {
        }
    }

    private sealed class PairNode(SourceLocation location, Ref head, Ref tail) : Node
    {
        public override object Shell() => new PairDatum(NilDatum.Empty, NilDatum.Empty, location);

        public override void Fill(object shell, object[] copies)
        {
            var pair = (PairDatum)shell;
            pair.Head = head.Resolve(copies);
            pair.Tail = tail.Resolve(copies);
        }
    }

    private sealed class StringNode(string value, SourceLocation location) : Node
    {
        public override object Shell() => new StringDatum(value, location);
    }

    private sealed class ArrayNode(Ref[] items) : Node
    {
        public override object Shell() => new ArrayValue(0);

        public override void Fill(object shell, object[] copies) => ((ArrayValue)shell).Items.AddRange(Resolve(items, copies));
    }

    private sealed class RecordNode(long type, Ref[] fields) : Node
    {
        public override object Shell() => new RecordValue(type, fields.Length);

        public override void Fill(object shell, object[] copies)
        {
            var record = (RecordValue)shell;
            for (var i = 0; i < fields.Length; i++) record.Fields[i] = fields[i].Resolve(copies);
        }
    }

    private sealed class ClosureNode(Ref parameters, Ref[] body, int environment, int home, SourceLocation definedAt, string? name) : Node
    {
        public override object Shell() => Closure.Shell();

        public override void Fill(object shell, object[] copies) =>
            ((Closure)shell).Fill(parameters.Resolve(copies), Resolve(body, copies), At<Frame>(environment, copies),
                At<GlobalEnvironment>(home, copies), definedAt, name);
    }

    private sealed class FormNode(Ref function, Ref symbolFunction) : Node
    {
        public override object Shell() => new FormValue(NilDatum.Empty, NilDatum.Empty);

        public override void Fill(object shell, object[] copies) => ((FormValue)shell).Fill(function.Resolve(copies), symbolFunction.Resolve(copies));
    }

    private sealed class VariableNode(string name, Ref value, int environment, SourceLocation definedAt) : Node
    {
        // Named from the start: the environment indexes its variables by name as it fills.
        public override object Shell() => new Variable(name, NilDatum.Empty, null!, definedAt);

        public override void Fill(object shell, object[] copies) =>
            ((Variable)shell).Fill(name, value.Resolve(copies), At<GlobalEnvironment>(environment, copies)!, definedAt);
    }

    private sealed class EnvironmentNode(int[] variables) : Node
    {
        public override object Shell() => new GlobalEnvironment(null, SourceLocation.None);

        public override void Fill(object shell, object[] copies)
        {
            var environment = (GlobalEnvironment)shell;
            foreach (var variable in variables) environment.Add((Variable)copies[variable]);
        }
    }

    private sealed class FrameNode(int parent, int home, string[] names, Ref[] values) : Node
    {
        public override object Shell() => new Frame(null);

        public override void Fill(object shell, object[] copies)
        {
            var frame = (Frame)shell;
            frame.Place(At<Frame>(parent, copies), At<GlobalEnvironment>(home, copies));
            for (var i = 0; i < names.Length; i++) frame.Bind(names[i], values[i].Resolve(copies));
        }
    }
}
