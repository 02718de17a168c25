using System.Globalization;
using System.Text;

namespace Maru.Differential;

/// <summary>Which worlds a generated program is written for.</summary>
public enum ProgramKind
{
    /// <summary>
    /// Means the same natively and in the compile-time interpreter, whose truth differs (only <c>()</c>
    /// is false there and comparisons give <c>t</c> or <c>()</c>): conditions are always comparisons
    /// combined with and/or/not, a truth value becomes a number only through <c>(if c 1 0)</c>, and
    /// nothing yields <c>()</c> where a number is used. Checked at O0, at O1 and in the interpreter.
    /// </summary>
    Portable,

    /// <summary>
    /// Native code only (O0 against O1): additionally <c>return</c>, <c>address-of</c>, byte memory,
    /// pointer arithmetic, numbers as conditions (0 is false), comparisons and and/or/not as values.
    /// </summary>
    NativeOnly,
}

/// <summary>
/// One generated program: a compile section defining <c>(run a b c)</c>, the entry point, and the
/// functions and globals it uses. With <see cref="UsesMemory"/> it also defines <c>mem</c>, a
/// global holding the address of <see cref="ProgramGenerator.MemoryWords"/> words, and
/// <c>(setup)</c>/<c>(teardown)</c>, which allocate and free them natively (calloc/free).
/// </summary>
public sealed record GeneratedProgram(int Seed, ProgramKind Kind, bool UsesMemory, string Source, IReadOnlyList<long[]> Inputs)
{
    /// <summary>Whether the compile-time interpreter runs it too.</summary>
    public bool Interpretable => Kind == ProgramKind.Portable;

    public static string Call(long[] input) =>
        "(run " + string.Join(" ", input.Select(v => v.ToString(CultureInfo.InvariantCulture))) + ")";
}

/// <summary>
/// Generates random Maru programs that are well defined by construction, so that O0, O1 and the
/// compile-time interpreter must agree on them (the language's arithmetic is total: x/0 = 0,
/// MIN/-1 = MIN, x%0 = 0, shift counts modulo 64, 64-bit wrap-around; operands run left to right):
/// <list type="bullet">
/// <item>Every loop runs on a counter the body cannot assign, against a bound of at most 7.</item>
/// <item>Functions call only functions defined before them (an acyclic call graph); a recursive
/// function takes a depth <c>n</c> first, callers pass <c>(&amp; e 3)</c>, it calls itself only
/// under <c>(&gt; n 0)</c> with <c>(- n 1)</c>, and <c>n</c> is never assigned or shadowed.</item>
/// <item>Memory indices are reduced into bounds (<c>(&amp; e 15)</c>).</item>
/// <item>An estimate of the work of every function (loop trips times callee costs) is kept under a
/// budget, so no program runs long in the interpreter.</item>
/// </list>
/// The same seed always gives the same program.
/// </summary>
public sealed class ProgramGenerator
{
    /// <summary>The words at <c>mem</c> (128 bytes).</summary>
    public const int MemoryWords = 16;

    private const long FunctionBudget = 600;
    private const long RunBudget = 2500;
    private const long MaxMultiplier = 24;

    private static readonly string[] Arithmetic = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
    private static readonly string[] Comparisons = ["<", "<=", "=", "!=", ">=", ">"];
    private static readonly long[] Interesting =
    [
        0, 1, -1, 2, -2, 3, -3, 4, -4, 5, 7, 8, -8, 9, 10, 15, 16, -16, 31, 32, 63, 64, -64, 65, 127, 128, 255, 256, -256, 1000,
        0x7fffffff, -0x80000000L, 0x80000000L, 0xffffffffL, 1L << 32, 1L << 40, 1L << 62, -(1L << 62),
        long.MinValue, long.MaxValue, long.MinValue + 1, long.MaxValue - 1,
    ];

    private sealed record Function(string Name, int Arity, bool Recursive, long Cost);

    private readonly Random _random;
    private readonly ProgramKind _kind;
    private readonly bool _memory;
    private readonly List<Function> _functions = [];
    private readonly List<string> _globals = [];
    private readonly List<string> _strings = [];     // globals holding strings (read only)
    private readonly int _size;                      // nesting depth of statements and expressions

    // State of the function being generated.
    private readonly List<string> _writable = [];   // parameters and let variables (globals are separate)
    private readonly List<string> _readOnly = [];   // loop counters and the recursion depth
    private Function? _self;                         // a recursive function, while its recursive branch is generated
    private int _selfCalls;
    private int _nextLocal;
    private int _nextCounter;
    private int _loopDepth;
    private long _multiplier;                        // how often the code being generated can run per call
    private long _cost;                              // estimated work of one call so far
    private long _budget;

    private ProgramGenerator(Random random, ProgramKind kind, bool memory)
    {
        _random = random;
        _kind = kind;
        _memory = memory;
        _size = random.Next(2, 6);
    }

    private bool Native => _kind == ProgramKind.NativeOnly;

    /// <summary>The program of <paramref name="seed"/>: about one in four is native-only, half use memory.</summary>
    public static GeneratedProgram Generate(int seed)
    {
        var random = new Random(seed);
        var kind = random.Next(4) == 0 ? ProgramKind.NativeOnly : ProgramKind.Portable;
        var memory = random.Next(2) == 0;
        return new ProgramGenerator(random, kind, memory).Build(seed);
    }

    private GeneratedProgram Build(int seed)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $";; differential program {seed}: {(Native ? "native only" : "portable")}{(_memory ? ", memory" : "")}\n");
        text.Append("(compile-begin)\n");
        if (_memory)
        {
            text.Append("(define calloc (extern 'calloc))\n(define free (extern 'free))\n(define mem 0)\n");
            text.Append(CultureInfo.InvariantCulture, $"(define-function setup () (set mem (calloc {MemoryWords} 8)) 0)\n");
            text.Append("(define-function teardown () (free mem) (set mem 0) 0)\n");
        }
        var globals = _random.Next(3);
        for (var i = 0; i < globals; i++)
        {
            _globals.Add($"g{i}");
            text.Append(CultureInfo.InvariantCulture, $"(define g{i} 0)\n");
        }
        if (Chance(3))
        {
            text.Append("(define s0 ").Append(Text()).Append(")\n");
            _strings.Add("s0");
        }
        var functions = _random.Next(5);
        for (var i = 0; i < functions; i++)
            text.Append(DefineFunction($"f{i}")).Append('\n');
        text.Append(DefineRun()).Append('\n');
        text.Append("(compile-end)\n");

        List<long[]> inputs = [[0, 0, 0], [1, 2, 3], [Argument(), Argument(), Argument()], [Argument(), Argument(), Argument()]];
        return new GeneratedProgram(seed, _kind, _memory, text.ToString(), inputs);
    }

    private long Argument() => _random.Next(3) switch
    {
        0 => Interesting[_random.Next(Interesting.Length)],
        1 => _random.Next(-100, 100),
        _ => _random.NextInt64(long.MinValue, long.MaxValue),
    };

    // ---- functions ------------------------------------------------------------------------------

    private void StartFunction(IEnumerable<string> parameters, long budget)
    {
        _writable.Clear();
        _writable.AddRange(parameters);
        _readOnly.Clear();
        _self = null;
        _selfCalls = 0;
        _nextLocal = 0;
        _nextCounter = 0;
        _loopDepth = 0;
        _multiplier = 1;
        _cost = 0;
        _budget = budget;
    }

    private string DefineFunction(string name)
    {
        // Mostly register arguments; sometimes more than six words, so some arrive on the stack.
        var arity = Chance(5) ? _random.Next(5, 10) : _random.Next(1, 4);
        var recursive = _random.Next(4) == 0;
        var parameters = Enumerable.Range(0, arity).Select(i => $"x{i}").ToList();
        StartFunction(parameters, FunctionBudget);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"(define-function {name} ({(recursive ? "n " : "")}{string.Join(" ", parameters)})");
        if (recursive) _readOnly.Add("n");
        for (var i = _random.Next(3); i > 0; i--) text.Append("\n  ").Append(Statement(_size));
        text.Append("\n  ");
        var factor = 1;
        if (recursive)
        {
            // The body runs at most 1 + 2 + 4 + 8 times for n in 0..3 and two calls per level.
            var baseCase = Expression(_size);
            var self = new Function(name, arity, true, 0);
            string step;
            _self = self;
            if (_random.Next(2) == 0)
                step = $"({name} (- n 1) {string.Join(" ", parameters.Select(_ => Expression(_size - 1)))})"; // a tail call
            else
                step = Expression(_size);
            var selfCalls = Math.Max(_selfCalls, 1);
            _self = null;
            factor = selfCalls >= 2 ? 15 : 4;
            text.Append(_random.Next(2) == 0 ? $"(if (> n 0) {step} {baseCase})" : $"(if (<= n 0) {baseCase} {step})");
        }
        else
        {
            text.Append(Expression(_size + 1));
        }
        text.Append(')');
        _functions.Add(new Function(name, arity, recursive, Math.Max(1, _cost) * factor));
        return text.ToString();
    }

    private string DefineRun()
    {
        StartFunction(["a", "b", "c"], RunBudget);
        var text = new StringBuilder("(define-function run (a b c)");
        if (_memory)
            text.Append(CultureInfo.InvariantCulture,
                $"\n  (let ((k 0)) (while (< k {MemoryWords}) (set-oop-at mem k (+ a (* k (^ b c)))) (set k (+ k 1))))");
        foreach (var global in _globals)
            text.Append(CultureInfo.InvariantCulture, $"\n  (set {global} {Expression(1)})");
        for (var i = _random.Next(1, 4); i > 0; i--) text.Append("\n  ").Append(Statement(_size));
        text.Append("\n  (let ((r ").Append(Expression(_size + 1)).Append("))");
        if (_memory)
            text.Append(CultureInfo.InvariantCulture,
                $"\n    (let ((k 0)) (while (< k {MemoryWords}) (set r (+ (* r 31) (oop-at mem k))) (set k (+ k 1))))");
        foreach (var global in _globals)
            text.Append(CultureInfo.InvariantCulture, $"\n    (set r (+ (* r 31) {global}))");
        text.Append("\n    r))");
        return text.ToString();
    }

    // ---- expressions (numbers) ------------------------------------------------------------------

    private void Tick() => _cost += _multiplier;

    private bool Chance(int oneIn) => _random.Next(oneIn) == 0;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private string Expression(int depth)
    {
        Tick();
        if (depth <= 0 || Chance(6)) return Leaf();
        switch (_random.Next(21))
        {
            case < 4: return $"({Pick(Arithmetic)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 4: return $"({Pick(Arithmetic)} {Expression(depth - 1)} {Constant()})"; // strength reduction, immediates
            case 5: return $"({Pick(Arithmetic)} {Constant()} {Expression(depth - 1)})";
            case 6: return $"(- {Expression(depth - 1)})";
            case 7: return $"(if {Condition(depth - 1)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 8: // several else forms run in order; the last is the value
                return Chance(3)
                    ? $"(if {Condition(depth - 1)} {Expression(depth - 1)} {Statement(depth - 1)} {Expression(depth - 1)})"
                    : $"(if {Condition(depth - 1)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 9: return $"(if {Condition(depth - 1)} 1 0)";
            case 10:
            case 11: return Let(depth);
            case 12: return Set(depth) ?? Expression(depth);
            case 13:
            case 14: return Call(depth) ?? Expression(depth - 1);
            case 15: return IndirectCall(depth) ?? Expression(depth - 1);
            case 16: return _memory ? $"(oop-at mem {Index(depth - 1)})" : Expression(depth);
            case 17: return _memory ? $"(set-oop-at mem {Index(depth - 1)} {Expression(depth - 1)})" : Expression(depth);
            case 18 when Chance(3): return $"(string-at {Text()} (& {Expression(depth - 1)} 7))";
            default: return Native ? NativeExpression(depth) : Expression(depth);
        }
    }

    private string Leaf()
    {
        var variables = _writable.Count + _readOnly.Count + _globals.Count;
        if (variables > 0 && !Chance(3))
        {
            var pick = _random.Next(variables);
            if (pick < _writable.Count) return _writable[pick];
            pick -= _writable.Count;
            return pick < _readOnly.Count ? _readOnly[pick] : _globals[pick - _readOnly.Count];
        }
        return Constant();
    }

    private string Constant()
    {
        var value = Chance(2) ? Interesting[_random.Next(Interesting.Length)] : _random.Next(-20, 100);
        return _random.Next(10) switch
        {
            0 when value is >= 0 => "0x" + value.ToString("x", CultureInfo.InvariantCulture),
            1 when value is >= 0 and < 127 && char.IsAsciiLetterOrDigit((char)value) => "?" + (char)value,
            _ => value.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// A string of 8 to 16 ASCII characters, a literal or a global holding one: string-at gives
    /// the same codes natively (UTF-8 bytes) and in the interpreter (characters) below index 8.
    /// </summary>
    private string Text()
    {
        if (_strings.Count > 0 && Chance(2)) return Pick(_strings);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&*+-./:<=>?@^_|~";
        return "\"" + new string(Enumerable.Range(0, _random.Next(8, 17)).Select(_ => alphabet[_random.Next(alphabet.Length)]).ToArray()) + "\"";
    }

    /// <summary>A word index into mem, in bounds whatever the expression gives.</summary>
    private string Index(int depth) =>
        Chance(4) ? _random.Next(MemoryWords).ToString(CultureInfo.InvariantCulture) : $"(& {Expression(depth)} {MemoryWords - 1})";

    private string Let(int depth)
    {
        var count = _random.Next(3);
        var names = new List<string>();
        var bindings = new List<string>();
        for (var i = 0; i < count; i++)
        {
            // Sometimes shadow a parameter, a let variable or a global (never a counter or n), each name once.
            var shadowable = _writable.Concat(_globals).Except(names).ToList();
            var name = shadowable.Count > 0 && Chance(8) ? Pick(shadowable) : $"v{_nextLocal++}";
            names.Add(name);
            bindings.Add(Native && Chance(10)
                ? Chance(2) ? name : $"({name})" // (v) and v alone are 0 in compiled code, () in the interpreter
                : Chance(8) ? $"({name} {Expression(depth - 1)} {Expression(depth - 1)})" : $"({name} {Expression(depth - 1)})");
        }
        _writable.AddRange(names);
        var text = new StringBuilder($"(let ({string.Join(" ", bindings)})");
        for (var i = _random.Next(3); i > 0; i--) text.Append(' ').Append(Statement(depth - 1));
        text.Append(' ').Append(Expression(depth - 1)).Append(')');
        foreach (var name in names) _writable.RemoveAt(_writable.LastIndexOf(name));
        return text.ToString();
    }

    private string? Set(int depth)
    {
        var targets = _writable.Concat(_globals).ToList();
        return targets.Count == 0 ? null : $"(set {Pick(targets)} {Expression(depth - 1)})";
    }

    private IReadOnlyList<Function> Affordable() =>
        _functions.Where(f => _cost + _multiplier * f.Cost <= _budget).ToList();

    private string Arguments(Function function, int depth)
    {
        var arguments = Enumerable.Range(0, function.Arity).Select(_ => " " + Expression(depth - 1));
        return (function.Recursive ? $" (& {Expression(depth - 1)} 3)" : "") + string.Concat(arguments);
    }

    private string? Call(int depth)
    {
        if (_self is not null && _selfCalls < 2 && _multiplier == 1 && Chance(2))
        {
            _selfCalls++;
            return $"({_self.Name} (- n 1){string.Concat(Enumerable.Range(0, _self.Arity).Select(_ => " " + Expression(depth - 1)))})";
        }
        var candidates = Affordable();
        if (candidates.Count == 0) return null;
        var function = Pick(candidates);
        _cost += _multiplier * function.Cost;
        return $"({function.Name}{Arguments(function, depth)})";
    }

    /// <summary>A call through a function's address: ((if c f g) args) or (let ((h f)) (h args)).</summary>
    private string? IndirectCall(int depth)
    {
        var candidates = Affordable();
        if (candidates.Count == 0) return null;
        var first = Pick(candidates);
        var second = Pick(candidates.Where(f => f.Arity == first.Arity && f.Recursive == first.Recursive).ToList());
        _cost += _multiplier * Math.Max(first.Cost, second.Cost);
        if (Chance(2))
            return $"((if {Condition(depth - 1)} {first.Name} {second.Name}){Arguments(first, depth)})";
        var pointer = $"v{_nextLocal++}";
        return $"(let (({pointer} {first.Name})) ({pointer}{Arguments(first, depth)}))";
    }

    /// <summary>What only compiled code gives a meaning to (0 is false, 1/0 from comparisons, raw memory).</summary>
    private string NativeExpression(int depth)
    {
        var targets = _writable.Concat(_globals).ToList();
        switch (_random.Next(12))
        {
            case 0: return $"({Pick(Comparisons)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 1: return $"(not {Expression(depth - 1)})";
            case 2:
                var operands = Enumerable.Range(0, _random.Next(5)).Select(_ => " " + Expression(depth - 1)); // (and) is 1, (or) is 0
                return $"({(Chance(2) ? "and" : "or")}{string.Concat(operands)})";
            case 9: return $"(if {Condition(depth - 1)} {Expression(depth - 1)})";  // 0 when the test fails
            case 10: return Loop(depth) ?? Expression(depth - 1);                     // a while's value is 0
            case 11: return $"(let ({(Chance(2) ? $"(v{_nextLocal++})" : "")}) {Statement(depth - 1)})"; // the value of a statement
            case 3: return $"(if {Expression(depth - 1)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 4 when targets.Count > 0: return $"(oop-at (address-of {Pick(targets)}) 0)";
            case 5 when targets.Count > 0: return $"(set-oop-at (address-of {Pick(targets)}) 0 {Expression(depth - 1)})";
            case 6 when _memory: return $"(string-at mem (& {Expression(depth - 1)} {MemoryWords * 8 - 1}))";
            case 7 when _memory: return $"(set-string-at mem (& {Expression(depth - 1)} {MemoryWords * 8 - 1}) {Expression(depth - 1)})";
            case 8 when _memory: return $"(oop-at (+ mem (<< (& {Expression(depth - 1)} 7) 3)) (& {Expression(depth - 1)} 7))";
            default: return $"(if {Condition(depth - 1)} {Expression(depth - 1)} {Expression(depth - 1)})";
        }
    }

    // ---- conditions ---------------------------------------------------------------------------

    /// <summary>A truth value: only ever a test (if, while, and, or, not), never a number.</summary>
    private string Condition(int depth)
    {
        Tick();
        if (depth <= 0) return $"({Pick(Comparisons)} {Leaf()} {Leaf()})";
        switch (_random.Next(8))
        {
            case < 4: return $"({Pick(Comparisons)} {Expression(depth - 1)} {Expression(depth - 1)})";
            case 4: return $"(and {string.Join(" ", Enumerable.Range(0, _random.Next(2, 4)).Select(_ => Condition(depth - 1)))})";
            case 5: return $"(or {string.Join(" ", Enumerable.Range(0, _random.Next(2, 4)).Select(_ => Condition(depth - 1)))})";
            case 6: return $"(not {Condition(depth - 1)})";
            default: return Native ? Expression(depth - 1) : $"({Pick(Comparisons)} {Leaf()} {Expression(depth - 1)})";
        }
    }

    // ---- statements (values unused) -------------------------------------------------------------

    private string Statement(int depth)
    {
        Tick();
        switch (_random.Next(10))
        {
            case < 2: return Set(depth) ?? Expression(depth);
            case 2:
            case 3: return Chance(2) ? $"(if {Condition(depth - 1)} {Statement(depth - 1)})" : $"(if {Condition(depth - 1)} {Statement(depth - 1)} {Statement(depth - 1)})";
            case 4:
            case 5: return Loop(depth) ?? Set(depth) ?? Expression(depth);
            case 6: return _memory ? $"(set-oop-at mem {Index(depth - 1)} {Expression(depth - 1)})" : Expression(depth);
            case 7 when Native && Chance(3): return $"(if {Condition(depth - 1)} (return {Expression(depth - 1)}))";
            default: return Expression(depth);
        }
    }

    /// <summary>(let ((i 0)) (while (&lt; i bound) body... (set i (+ i 1)))): at most 7 trips.</summary>
    private string? Loop(int depth)
    {
        var constant = Chance(2);
        var trips = constant ? _random.Next(0, 5) : 7;
        if (_loopDepth >= 2 || depth <= 0 || _multiplier * Math.Max(trips, 1) > MaxMultiplier) return null;
        var counter = $"i{_nextCounter++}";
        var saved = _multiplier;
        _multiplier *= Math.Max(trips, 1);
        _loopDepth++;
        _readOnly.Add(counter);
        // The bound may change while the loop runs; it stays below 8.
        var bound = constant ? trips.ToString(CultureInfo.InvariantCulture) : $"(& {SimpleExpression()} 7)";
        var test = $"(< {counter} {bound})";
        if (Chance(4)) test = $"(and {test} {Condition(1)})";
        var body = new StringBuilder();
        for (var i = _random.Next(1, 3); i > 0; i--) body.Append(Statement(depth - 1)).Append(' ');
        _readOnly.Remove(counter);
        _loopDepth--;
        _multiplier = saved;
        return $"(let (({counter} 0)) (while {test} {body}(set {counter} (+ {counter} 1))))";
    }

    private string SimpleExpression() => Chance(2) ? Leaf() : $"({Pick(Arithmetic)} {Leaf()} {Leaf()})";
}
