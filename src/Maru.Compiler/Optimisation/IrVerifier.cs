using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>Which invariants the IR is expected to satisfy at a point of the pipeline.</summary>
public enum IrForm
{
    /// <summary>Variables may be assigned many times; every read is preceded by an assignment on every path.</summary>
    Plain,

    /// <summary>Strict SSA: one definition per register, dominating each use; phis allowed.</summary>
    Ssa,

    /// <summary>What the backend receives: Plain, and no phi anywhere.</summary>
    Final,
}

/// <summary>
/// Checks the structural invariants of a function and throws with the function's IR on the first
/// violation: every block terminated; successors belong to the function; the entry has no
/// predecessors; Alloca only in the entry; operand counts and destinations per opcode; registers
/// in range; definitions reach uses (definite assignment when Plain, dominance when Ssa); phis have
/// one input per predecessor, and none survive into the Final form.
/// </summary>
public static class IrVerifier
{
    public static void Verify(IrFunction function, IrForm form, string stage = "")
    {
        var error = FindError(function, form);
        if (error is not null)
            throw new InvalidOperationException(
                $"IR verification failed in ${function.Name}{(stage.Length > 0 ? $" after '{stage}'" : "")}: {error}\n{IrPrinter.Print(function)}");
    }

    /// <summary>The first violation, or null when the function is well formed.</summary>
    public static string? FindError(IrFunction function, IrForm form)
    {
        if (function.Blocks.Count == 0) return "no blocks";
        var blocks = function.Blocks;
        var members = new HashSet<BasicBlock>(blocks);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            if (block.Terminator is null) return $"{block.Name} is not terminated";
            foreach (var successor in block.Successors)
                if (!members.Contains(successor)) return $"{block.Name} jumps to {successor.Name}, which is not in the function";
            if (block.Phis.Count > 0 && form != IrForm.Ssa) return $"{block.Name} has a phi outside SSA form";
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (CheckShape(instruction, function) is { } shape) return $"{block.Name}: '{instruction}': {shape}";
                if (instruction.Op == Opcode.Alloca && block != blocks[0]) return $"{block.Name}: alloca outside the entry block";
            }
        }
        if (blocks.Any(b => b.Successors.Contains(blocks[0]))) return "the entry block has predecessors";
        if (blocks.Count != new HashSet<int>(blocks.Select(b => b.Id)).Count) return "two blocks share an id";

        // Definitions reaching uses are only meaningful on reachable code.
        var reachable = Reachable(function);
        return form == IrForm.Ssa ? CheckSsa(function, reachable) : CheckDefiniteAssignment(function, reachable);
    }

    private static string? CheckShape(Instruction instruction, IrFunction function)
    {
        var op = instruction.Op;
        var arguments = instruction.Arguments;
        foreach (var argument in arguments)
            if (!argument.IsConstant && (uint)argument.Register.Index >= (uint)function.RegisterCount) return "register out of range";
        if (instruction.Destination is { } d && (uint)d.Index >= (uint)function.RegisterCount) return "destination out of range";
        var needsDestination = op is not (Opcode.StoreGlobal or Opcode.StoreWord or Opcode.StoreByte);
        if (needsDestination != instruction.Destination.HasValue)
            return needsDestination ? "missing destination" : "a store has no destination";
        var needsSymbol = op is Opcode.LoadGlobal or Opcode.StoreGlobal or Opcode.Call or Opcode.CallImport
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;
        if (needsSymbol != (instruction.Symbol is not null)) return needsSymbol ? "missing symbol" : "unexpected symbol";
        var expected = op switch
        {
            Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.StoreGlobal or Opcode.Alloca => 1,
            Opcode.LoadWord or Opcode.LoadByte => 2,
            Opcode.StoreWord or Opcode.StoreByte or Opcode.Select => 3,
            Opcode.LoadGlobal or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress => 0,
            Opcode.Call or Opcode.CallImport => -1,
            Opcode.CallIndirect => -2,
            _ when op.IsBinary() => 2,
            _ => -3,
        };
        if (expected == -3) return "unknown opcode";
        if (expected == -2 && arguments.Length < 1) return "an indirect call needs a callee";
        // A load or store may carry one more operand: its constant byte displacement (AddressFolding).
        if (op is Opcode.LoadWord or Opcode.LoadByte or Opcode.StoreWord or Opcode.StoreByte && arguments.Length == expected + 1)
        {
            if (!arguments[^1].IsConstant) return "a displacement must be a constant";
        }
        else if (expected >= 0 && arguments.Length != expected) return $"expected {expected} operand(s), found {arguments.Length}";
        if (op == Opcode.Alloca && !arguments[0].IsConstant) return "alloca size must be a constant";
        return null;
    }

    private static bool[] Reachable(IrFunction function)
    {
        var index = new Dictionary<BasicBlock, int>();
        for (var i = 0; i < function.Blocks.Count; i++) index[function.Blocks[i]] = i;
        var seen = new bool[function.Blocks.Count];
        var work = new Stack<BasicBlock>();
        seen[0] = true;
        work.Push(function.Blocks[0]);
        while (work.Count > 0)
            foreach (var successor in work.Pop().Successors)
                if (!seen[index[successor]])
                {
                    seen[index[successor]] = true;
                    work.Push(successor);
                }
        return seen;
    }

    // Plain form: a forward "defined on every path" dataflow, over word bit sets of only the
    // registers some block reads before writing them itself (the rest are checked locally), so a
    // long function stays cheap to verify.
    private static string? CheckDefiniteAssignment(IrFunction function, bool[] reachable)
    {
        var blocks = function.Blocks;
        var index = new Dictionary<BasicBlock, int>();
        for (var i = 0; i < blocks.Count; i++) index[blocks[i]] = i;
        var globalOf = new int[function.RegisterCount];
        Array.Fill(globalOf, -1);
        var globals = 0;
        var writtenIn = new int[function.RegisterCount];   // stamps: block + 1
        for (var i = 0; i < blocks.Count; i++)
        {
            void Read(Operand operand)
            {
                if (!operand.IsConstant && writtenIn[operand.Register.Index] != i + 1 && globalOf[operand.Register.Index] < 0)
                    globalOf[operand.Register.Index] = globals++;
            }
            foreach (var instruction in CollectionsMarshal.AsSpan(blocks[i].Instructions))
            {
                foreach (var argument in instruction.Arguments) Read(argument);
                if (instruction.Destination is { } d) writtenIn[d.Index] = i + 1;
            }
            if (TerminatorOperand(blocks[i].Terminator!) is { } used) Read(used);
        }
        var words = (globals + 63) >> 6;
        var defined = new ulong[blocks.Count * words];   // at block entry: all-ones (unknown yet) except the entry
        Array.Fill(defined, ulong.MaxValue);
        Array.Clear(defined, 0, words);
        for (var p = 0; p < function.ParameterCount; p++)
            if (globalOf[p] is var g && g >= 0) defined[g >> 6] |= 1UL << g;
        var generated = new ulong[blocks.Count * words];
        for (var i = 0; i < blocks.Count; i++)
            foreach (var instruction in CollectionsMarshal.AsSpan(blocks[i].Instructions))
                if (instruction.Destination is { } d && globalOf[d.Index] is var g && g >= 0) generated[i * words + (g >> 6)] |= 1UL << g;
        var order = ReversePostorder(blocks, index);   // a forward problem: converges in a few sweeps in this order
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var i in order)
            {
                foreach (var successor in blocks[i].Successors)
                {
                    var at = index[successor] * words;
                    for (var w = 0; w < words; w++)
                    {
                        var value = defined[at + w] & (defined[i * words + w] | generated[i * words + w]);
                        if (value == defined[at + w]) continue;
                        defined[at + w] = value;
                        changed = true;
                    }
                }
            }
        }
        var current = new HashSet<int>();
        for (var i = 0; i < blocks.Count; i++)
        {
            if (!reachable[i]) continue;
            current.Clear();
            bool IsDefined(int register) =>
                current.Contains(register) || globalOf[register] is var g && g >= 0 && (defined[i * words + (g >> 6)] & (1UL << g)) != 0;
            foreach (var instruction in CollectionsMarshal.AsSpan(blocks[i].Instructions))
            {
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant && !IsDefined(argument.Register.Index))
                        return $"{blocks[i].Name}: '{instruction}' reads {argument} before any assignment on some path";
                if (instruction.Destination is { } d) current.Add(d.Index);
            }
            if (TerminatorOperand(blocks[i].Terminator!) is { IsConstant: false } used && !IsDefined(used.Register.Index))
                return $"{blocks[i].Name}: '{blocks[i].Terminator}' reads {used} before any assignment on some path";
        }
        return null;
    }

    /// <summary>Positions of the blocks reachable from the entry, in reverse postorder (iteratively).</summary>
    private static List<int> ReversePostorder(List<BasicBlock> blocks, Dictionary<BasicBlock, int> index)
    {
        var order = new List<int>(blocks.Count);
        var visited = new bool[blocks.Count];
        var stack = new Stack<(int Block, int Next)>();
        visited[0] = true;
        stack.Push((0, 0));
        while (stack.Count > 0)
        {
            var (block, next) = stack.Pop();
            var successors = blocks[block].Successors.ToArray();
            if (next < successors.Length)
            {
                stack.Push((block, next + 1));
                var successor = index[successors[next]];
                if (!visited[successor])
                {
                    visited[successor] = true;
                    stack.Push((successor, 0));
                }
            }
            else
            {
                order.Add(block);
            }
        }
        order.Reverse();
        return order;
    }

    // SSA form: single definitions, dominating their uses (a phi input at the end of its predecessor).
    private static string? CheckSsa(IrFunction function, bool[] reachable)
    {
        if (reachable.Any(r => !r)) return "unreachable blocks in SSA form";
        var graph = FlowGraph.Of(function);
        var definedIn = new BasicBlock?[function.RegisterCount];
        var position = new int[function.RegisterCount];
        for (var p = 0; p < function.ParameterCount; p++)
        {
            definedIn[p] = function.Blocks[0];
            position[p] = -1;
        }
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            for (var i = -block.Phis.Count; i < block.Instructions.Count; i++)
            {
                var destination = i < 0 ? block.Phis[i + block.Phis.Count].Destination : block.Instructions[i].Destination;
                if (destination is not { } d) continue;
                if (definedIn[d.Index] is not null) return $"{d} is defined more than once";
                definedIn[d.Index] = block;
                position[d.Index] = i < 0 ? -1 : i;
            }
        }

        // what: the reader, formatted only for an error (a phi of thousands of inputs is long).
        string? Check(Operand operand, BasicBlock block, int at, object what)
        {
            if (operand.IsConstant) return null;
            var def = definedIn[operand.Register.Index];
            if (def is null) return $"{block.Name}: '{what}' reads {operand}, which is never defined";
            var ok = def == block ? position[operand.Register.Index] < at : graph.Dominates(def, block);
            return ok ? null : $"{block.Name}: '{what}' reads {operand}, whose definition does not dominate it";
        }

        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            var predecessors = graph.Predecessors[block.Index];
            var expected = block.Phis.Count > 0 ? new HashSet<BasicBlock>(predecessors.ToArray()) : null;
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
            {
                if (phi.Inputs.Count != predecessors.Length || !expected!.SetEquals(phi.Inputs.Select(input => input.Predecessor)))
                    return $"{block.Name}: '{phi}' does not have exactly one input per predecessor";
                foreach (var input in phi.Inputs)
                    if (Check(input.Value, input.Predecessor, int.MaxValue, phi) is { } e) return e;
            }
            for (var i = 0; i < block.Instructions.Count; i++)
                foreach (var argument in block.Instructions[i].Arguments)
                    if (Check(argument, block, i, block.Instructions[i]) is { } e) return e;
            if (TerminatorOperand(block.Terminator!) is { } used && Check(used, block, int.MaxValue, block.Terminator!) is { } t) return t;
        }
        return null;
    }

    internal static Operand? TerminatorOperand(Terminator terminator) => terminator switch
    {
        Branch branch => branch.Condition,
        Return ret => ret.Value,
        _ => null,
    };
}
