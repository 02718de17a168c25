using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// The module's direct call graph: which functions are recursive (in a cycle, or calling
/// themselves), which cycle (strongly connected component) each belongs to, a callee-before-caller
/// order for the pipeline, which functions the pipeline has finished, and how deep inlining went in each.
/// What the pipeline records (finished, inlining depth) may be written and read by several threads
/// at once (<see cref="PassPipeline"/> optimises independent components in parallel), so it is locked.
/// </summary>
/// <remarks>
/// <see cref="BottomUp"/> lists the components callees first (Tarjan's algorithm, in the order they
/// complete). Inside a component of several functions no order puts every callee first; the one
/// used decides which member absorbs the others (<see cref="Inlining"/> copies only finished
/// members). They come in the post-order of a depth-first walk inside the component that starts
/// from its entries (members called from outside it, in module order; then the first member):
/// the first entry comes last. In a cycle a -> b -> c -> a entered at a that is c, b, a, so b
/// takes c in, a takes b (with c) in and ends up calling itself. Everything here is linear in functions plus call edges.
/// </remarks>
internal sealed class CallGraph
{
    private readonly Dictionary<string, IrFunction> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<IrFunction> _recursive = new();
    private readonly Dictionary<IrFunction, int> _component = new();
    private readonly HashSet<IrFunction> _optimised = new();
    private readonly Dictionary<IrFunction, int> _inlineDepth = new();
    private readonly Dictionary<IrFunction, List<IrFunction>> _callees = new();

    /// <summary>Functions with their callees first, as far as cycles allow (see the remarks).</summary>
    public List<IrFunction> BottomUp { get; } = new();

    public CallGraph(IrModule module)
    {
        foreach (var function in module.Functions) _byName[function.Name] = function;
        var callees = _callees;
        foreach (var function in module.Functions)
        {
            var list = new List<IrFunction>();
            var seen = new HashSet<IrFunction>();
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction.Op == Opcode.Call && Function(instruction.Symbol!) is { } callee && seen.Add(callee))
                        list.Add(callee);
            callees[function] = list;
            if (seen.Contains(function)) _recursive.Add(function);
        }
        var components = StronglyConnectedComponents(module, callees);
        for (var c = 0; c < components.Count; c++)
            foreach (var member in components[c]) _component[member] = c;
        var entries = new HashSet<IrFunction>();
        foreach (var (caller, list) in callees)
            foreach (var callee in list)
                if (_component[callee] != _component[caller]) entries.Add(callee);
        var order = new Dictionary<IrFunction, int>();
        for (var i = 0; i < module.Functions.Count; i++) order[module.Functions[i]] = i;
        foreach (var component in components)
        {
            if (component.Count == 1)
            {
                BottomUp.Add(component[0]);
                continue;
            }
            _recursive.UnionWith(component);
            OrderComponent(component, callees, entries, order);
        }
    }

    public IrFunction? Function(string name) => _byName.GetValueOrDefault(name);

    public bool IsRecursive(IrFunction function) => _recursive.Contains(function);

    /// <summary>Are the two functions in one strongly connected component (each reaches the other by calls)?</summary>
    public bool SameComponent(IrFunction a, IrFunction b) =>
        _component.TryGetValue(a, out var x) && _component.TryGetValue(b, out var y) && x == y;

    /// <summary>Has the pipeline finished the function (its body is final, its size known)?</summary>
    public bool IsOptimised(IrFunction function)
    {
        lock (_optimised) return _optimised.Contains(function);
    }

    public void MarkOptimised(IrFunction function)
    {
        lock (_optimised) _optimised.Add(function);
    }

    public int InlineDepth(IrFunction function)
    {
        lock (_inlineDepth) return _inlineDepth.GetValueOrDefault(function);
    }

    public void SetInlineDepth(IrFunction function, int depth)
    {
        lock (_inlineDepth) _inlineDepth[function] = depth;
    }

    /// <summary>The component's number: components are numbered callees first, and each one's members are consecutive in <see cref="BottomUp"/>.</summary>
    public int ComponentOf(IrFunction function) => _component[function];

    /// <summary>The module's functions the function calls directly (each once, in the order first called).</summary>
    public IReadOnlyList<IrFunction> Callees(IrFunction function) => _callees[function];

    /// <summary>Appends a component's members: a post-order walk inside it, from its entries first (module order), then from the rest.</summary>
    private void OrderComponent(List<IrFunction> component, Dictionary<IrFunction, List<IrFunction>> callees,
        HashSet<IrFunction> entries, Dictionary<IrFunction, int> order)
    {
        var id = _component[component[0]];
        var roots = component.OrderBy(f => entries.Contains(f) ? 0 : 1).ThenBy(f => order[f]).ToList();
        var visited = new HashSet<IrFunction>();
        var finished = new List<IrFunction>(component.Count);
        var frames = new Stack<(IrFunction Function, int Next)>();
        foreach (var root in roots)
        {
            if (!visited.Add(root)) continue;
            frames.Push((root, 0));
            while (frames.Count > 0)
            {
                var (function, next) = frames.Pop();
                var list = callees[function];
                if (next < list.Count)
                {
                    frames.Push((function, next + 1));
                    var callee = list[next];
                    if (_component[callee] == id && visited.Add(callee)) frames.Push((callee, 0));
                    continue;
                }
                finished.Add(function);
            }
        }
        BottomUp.AddRange(finished);
    }

    // Iterative Tarjan: a component is listed after every component it calls into.
    private static List<List<IrFunction>> StronglyConnectedComponents(IrModule module, Dictionary<IrFunction, List<IrFunction>> callees)
    {
        var components = new List<List<IrFunction>>();
        var index = new Dictionary<IrFunction, int>();
        var low = new Dictionary<IrFunction, int>();
        var onStack = new HashSet<IrFunction>();
        var stack = new Stack<IrFunction>();
        var frames = new Stack<(IrFunction Function, int Next)>();
        foreach (var root in module.Functions)
        {
            if (index.ContainsKey(root)) continue;
            frames.Push((root, 0));
            while (frames.Count > 0)
            {
                var (function, next) = frames.Pop();
                if (next == 0 && !index.ContainsKey(function))
                {
                    index[function] = low[function] = index.Count;
                    stack.Push(function);
                    onStack.Add(function);
                }
                var list = callees[function];
                if (next < list.Count)
                {
                    frames.Push((function, next + 1));
                    var callee = list[next];
                    if (!index.ContainsKey(callee)) frames.Push((callee, 0));
                    else if (onStack.Contains(callee)) low[function] = Math.Min(low[function], index[callee]);
                    continue;
                }
                // All callees done: fold their low links in, then maybe close a component.
                foreach (var callee in list)
                    if (onStack.Contains(callee)) low[function] = Math.Min(low[function], low[callee]);
                if (low[function] != index[function]) continue;
                var component = new List<IrFunction>();
                IrFunction member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                } while (member != function);
                components.Add(component);
            }
        }
        return components;
    }
}
