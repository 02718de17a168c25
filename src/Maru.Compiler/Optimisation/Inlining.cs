using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Inlining of small functions of the module at their direct call sites. The caller's block is
/// split at the call; the callee's blocks are cloned in between with fresh registers; each
/// argument is copied into the clone of its parameter; each return becomes a copy into the call's
/// destination and a jump to the continuation; the callee's allocas move to the caller's entry.
/// Only callees outside every call-graph cycle are inlined (a small function calling itself gets
/// one copy of its own body at those calls, <see cref="InlineSelfOnce"/>), and the pipeline visits callees before
/// callers (<see cref="CallGraph.BottomUp"/>), so a callee's body is already optimised (and its
/// size known) when it is copied. Depth is bounded: a body that is itself the product of
/// <see cref="MaxDepth"/> levels of inlining is not inlined again.
/// Requires: Plain form in caller and callees. Guarantees: Plain form; no call to an inlinable callee.
/// </summary>
internal static class Inlining
{
    /// <summary>Largest callee, in instructions, worth copying to a call site.</summary>
    public const int MaxCalleeSize = 40;

    /// <summary>A caller stops growing past this many instructions.</summary>
    public const int MaxCallerSize = 2000;

    public const int MaxDepth = 3;

    public static void Run(IrFunction caller, CallGraph calls)
    {
        var depth = 0;
        InlineSelfOnce(caller);
        var size = Size(caller);
        for (var b = 0; b < caller.Blocks.Count; b++)
        {
            var block = caller.Blocks[b];
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var call = block.Instructions[i];
                if (call.Op != Opcode.Call || calls.Function(call.Symbol!) is not { } callee) continue;
                if (callee == caller || calls.IsRecursive(callee) || calls.InlineDepth(callee) >= MaxDepth) continue;
                var calleeSize = Size(callee);
                if (calleeSize > MaxCalleeSize || size + calleeSize > MaxCallerSize) continue;
                if (call.Arguments.Length != callee.ParameterCount) continue;

                var continuation = InlineAt(caller, block, i, callee);
                size += calleeSize;
                depth = Math.Max(depth, calls.InlineDepth(callee) + 1);
                // Carry on after the call: the cloned body is not scanned again.
                b = caller.Blocks.IndexOf(continuation) - 1;
                break;
            }
        }
        calls.SetInlineDepth(caller, depth);
    }

    /// <summary>
    /// A small function that still calls itself (what tail-call and accumulator elimination left)
    /// gets one copy of its own body at each of those call sites, as gcc's recursive inlining does
    /// one level deep: every call that remains then does two levels of the recursion, so about half
    /// as many calls, prologues and epilogues run. The copies keep their own calls (one level only).
    /// </summary>
    private static void InlineSelfOnce(IrFunction function)
    {
        if (Size(function) > MaxCalleeSize) return;
        var selfCalls = 0;
        foreach (var block in function.Blocks)
            foreach (var instruction in block.Instructions)
            {
                if (instruction.Op == Opcode.Alloca) return;   // frame blocks: leave the frame as it is
                if (instruction.Op == Opcode.Call && instruction.Symbol == function.Name && instruction.Arguments.Length == function.ParameterCount) selfCalls++;
            }
        if (selfCalls == 0) return;
        var snapshot = Snapshot(function);
        for (var b = 0; b < function.Blocks.Count; b++)
        {
            var block = function.Blocks[b];
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var call = block.Instructions[i];
                if (call.Op != Opcode.Call || call.Symbol != function.Name || call.Arguments.Length != function.ParameterCount) continue;
                var continuation = InlineAt(function, block, i, snapshot);
                b = function.Blocks.IndexOf(continuation) - 1;   // the copy is not scanned: one level only
                break;
            }
        }
    }

    /// <summary>A detached copy of a Plain-form function (same registers), the body inlined into itself.</summary>
    private static IrFunction Snapshot(IrFunction function)
    {
        var copy = new IrFunction(function.Name, function.ParameterCount, function.Location);
        while (copy.RegisterCount < function.RegisterCount) copy.NewRegister();
        var blocks = new Dictionary<BasicBlock, BasicBlock>();
        foreach (var block in function.Blocks) blocks[block] = copy.NewBlock();
        foreach (var block in function.Blocks)
        {
            var clone = blocks[block];
            foreach (var instruction in block.Instructions)
                clone.Instructions.Add(new Instruction(instruction.Op, instruction.Destination, (Operand[])instruction.Arguments.Clone(),
                    instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments });
            clone.Terminator = block.Terminator switch
            {
                Jump jump => new Jump(blocks[jump.Target]),
                Branch branch => new Branch(branch.Condition, blocks[branch.IfTrue], blocks[branch.IfFalse]),
                var other => other,
            };
        }
        return copy;
    }

    private static int Size(IrFunction function)
    {
        var size = 0;
        foreach (var block in function.Blocks) size += block.Instructions.Count + 1;
        return size;
    }

    /// <summary>Replaces the call at <paramref name="index"/> of <paramref name="block"/> with the callee's body; returns the continuation block.</summary>
    private static BasicBlock InlineAt(IrFunction caller, BasicBlock block, int index, IrFunction callee)
    {
        var call = block.Instructions[index];
        var continuation = caller.NewUnplacedBlock();
        continuation.Instructions.AddRange(block.Instructions.GetRange(index + 1, block.Instructions.Count - index - 1));
        continuation.Terminator = block.Terminator;
        block.Instructions.RemoveRange(index, block.Instructions.Count - index);

        var registers = new VReg?[callee.RegisterCount];
        VReg Map(VReg register) => registers[register.Index] ??= caller.NewRegister();
        Operand MapOperand(Operand operand) => operand.IsConstant ? operand : Map(operand.Register);

        for (var p = 0; p < callee.ParameterCount; p++)
            block.Instructions.Add(new Instruction(Opcode.Copy, Map(callee.Parameter(p)), [call.Arguments[p]], null, call.Location));

        var clones = new Dictionary<BasicBlock, BasicBlock>();
        foreach (var original in callee.Blocks) clones[original] = caller.NewUnplacedBlock();
        var entry = caller.Blocks[0];
        var allocas = entry.Instructions.FindIndex(i => i.Op != Opcode.Alloca);
        if (allocas < 0) allocas = entry.Instructions.Count;
        foreach (var original in callee.Blocks)
        {
            var clone = clones[original];
            foreach (var instruction in original.Instructions)
            {
                var copy = new Instruction(instruction.Op,
                    instruction.Destination is { } d ? Map(d) : null,
                    Array.ConvertAll(instruction.Arguments, MapOperand),
                    instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments };
                if (copy.Op == Opcode.Alloca) entry.Instructions.Insert(allocas++, copy);
                else clone.Instructions.Add(copy);
            }
            clone.Terminator = original.Terminator switch
            {
                Jump jump => new Jump(clones[jump.Target]),
                Branch branch => new Branch(MapOperand(branch.Condition), clones[branch.IfTrue], clones[branch.IfFalse]),
                Return ret => ReturnTo(continuation, clone, call, MapOperand(ret.Value)),
                _ => throw new InvalidOperationException("unterminated block in an inlined function"),
            };
        }
        block.Terminator = new Jump(clones[callee.Blocks[0]]);

        var position = caller.Blocks.IndexOf(block) + 1;
        caller.Blocks.InsertRange(position, callee.Blocks.Select(original => clones[original]));
        caller.Blocks.Insert(position + callee.Blocks.Count, continuation);
        return continuation;
    }

    private static Jump ReturnTo(BasicBlock continuation, BasicBlock clone, Instruction call, Operand value)
    {
        if (call.Destination is { } destination)
            clone.Instructions.Add(new Instruction(Opcode.Copy, destination, [value], null, call.Location));
        return new Jump(continuation);
    }
}

/// <summary>
/// The module's direct call graph: which functions are recursive (in a cycle, or calling
/// themselves), a callee-before-caller order for the pipeline, and how deep inlining went in each.
/// </summary>
internal sealed class CallGraph
{
    private readonly Dictionary<string, IrFunction> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<IrFunction> _recursive = new();
    private readonly Dictionary<IrFunction, int> _inlineDepth = new();

    /// <summary>Functions with their callees first (Tarjan's strongly connected components, in the order they complete).</summary>
    public List<IrFunction> BottomUp { get; } = new();

    public CallGraph(IrModule module)
    {
        foreach (var function in module.Functions) _byName[function.Name] = function;
        var callees = new Dictionary<IrFunction, List<IrFunction>>();
        foreach (var function in module.Functions)
        {
            var list = new List<IrFunction>();
            foreach (var block in function.Blocks)
                foreach (var instruction in block.Instructions)
                    if (instruction.Op == Opcode.Call && Function(instruction.Symbol!) is { } callee && !list.Contains(callee))
                        list.Add(callee);
            callees[function] = list;
            if (list.Contains(function)) _recursive.Add(function);
        }
        StronglyConnectedComponents(module, callees);
    }

    public IrFunction? Function(string name) => _byName.GetValueOrDefault(name);

    public bool IsRecursive(IrFunction function) => _recursive.Contains(function);

    public int InlineDepth(IrFunction function) => _inlineDepth.GetValueOrDefault(function);

    public void SetInlineDepth(IrFunction function, int depth) => _inlineDepth[function] = depth;

    // Iterative Tarjan: a component is emitted after every component it calls into.
    private void StronglyConnectedComponents(IrModule module, Dictionary<IrFunction, List<IrFunction>> callees)
    {
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
                if (component.Count > 1) _recursive.UnionWith(component);
                component.Reverse();
                BottomUp.AddRange(component);
            }
        }
    }
}
