using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Strength reduction of products of induction variables (the classic one, as gcc's ivopts and
/// LLVM's loop strength reduction do first). A basic induction variable is a header phi
/// <c>i = phi [preheader: init], [latch: next]</c> whose in-loop value is <c>next = add i, step</c>
/// with <c>step</c> loop-invariant. A product <c>x = mul i, f</c> in the loop with <c>f</c> an
/// invariant register (a 64-bit imul on the loop's path; products by constants are cheap already)
/// becomes a second induction variable <c>x' = phi [preheader: init*f], [latch: x' + step*f]</c>,
/// its increment placed right after <c>next</c>, and every use of x reads x'. Exact in wrapping
/// arithmetic: (i + step) * f = i*f + step*f mod 2^64. This is what turns the row-major index
/// <c>(+ (* k n) j)</c> of a matrix walk into one addition per iteration.
/// Requires: SSA and preheaders (runs after LICM). Guarantees: no such product left in a loop.
/// </summary>
internal static class InductionVariables
{
    private readonly record struct InductionVariable(Operand Initial, Operand Step, Instruction Increment, BasicBlock IncrementBlock);

    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function);
        var loops = NaturalLoop.FindAll(graph);
        if (loops.Count == 0) return;

        var member = new int[function.Blocks.Count];
        var definedInLoop = new int[function.RegisterCount];
        var definition = new Instruction?[function.RegisterCount];
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
        Operand?[]? replacement = null;
        var stamp = 0;
        foreach (var loop in loops)   // innermost (smallest) first
        {
            loop.Mark(member, ++stamp);
            loop.MarkDefinitions(ref definedInLoop, function.RegisterCount, stamp);
            bool Invariant(Operand operand) => operand.IsConstant || definedInLoop[operand.Register.Index] != stamp;

            var preheader = loop.Preheader(graph, member, stamp);
            var inductionVariables = FindInductionVariables(loop, preheader, definition, member, stamp, Invariant);
            if (inductionVariables.Count == 0) continue;

            Dictionary<(VReg, Operand), VReg>? reduced = null;
            foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            {
                for (var index = 0; index < block.Instructions.Count; index++)
                {
                    var instruction = block.Instructions[index];
                    if (instruction.Op != Opcode.Multiply) continue;
                    var (a, b) = (instruction.Arguments[0], instruction.Arguments[1]);
                    if (!a.IsConstant && inductionVariables.ContainsKey(a.Register) && IsInvariantRegister(b)) { }
                    else if (!b.IsConstant && inductionVariables.ContainsKey(b.Register) && IsInvariantRegister(a)) (a, b) = (b, a);
                    else continue;

                    reduced ??= new();
                    if (!reduced.TryGetValue((a.Register, b), out var product))
                    {
                        product = Reduce(function, loop.Header, preheader, inductionVariables[a.Register], b, instruction);
                        reduced.Add((a.Register, b), product);
                    }
                    replacement ??= new Operand?[function.RegisterCount];
                    if (replacement.Length < function.RegisterCount) Array.Resize(ref replacement, function.RegisterCount);
                    replacement[instruction.Destination!.Value.Index] = product;
                    // Reduce added the step after the increment: in this block before the product
                    // (a tail-called loop's n - 1 comes first), the product moved one place on.
                    if (!ReferenceEquals(block.Instructions[index], instruction)) index++;
                    block.Instructions.RemoveAt(index--);
                }
            }

            bool IsInvariantRegister(Operand operand) => !operand.IsConstant && Invariant(operand);
        }
        if (replacement is not null) Substitute(function, replacement);
    }

    /// <summary>Header phis stepped by an invariant amount once per iteration, along the loop's one back edge.</summary>
    private static Dictionary<VReg, InductionVariable> FindInductionVariables(NaturalLoop loop, BasicBlock preheader,
        Instruction?[] definition, int[] member, int stamp, Func<Operand, bool> invariant)
    {
        var found = new Dictionary<VReg, InductionVariable>();
        foreach (var phi in CollectionsMarshal.AsSpan(loop.Header.Phis))
        {
            if (phi.Inputs.Count != 2) continue;
            var (outside, inside) = member[phi.Inputs[0].Predecessor.Index] == stamp ? (phi.Inputs[1], phi.Inputs[0]) : (phi.Inputs[0], phi.Inputs[1]);
            if (outside.Predecessor != preheader || member[inside.Predecessor.Index] != stamp || inside.Value.IsConstant) continue;
            if (inside.Value.Register.Index >= definition.Length || definition[inside.Value.Register.Index] is not { } increment) continue;
            Operand step;
            var arguments = increment.Arguments;
            var self = Operand.Of(phi.Destination);
            if (increment.Op == Opcode.Add && arguments[0].Equals(self) && invariant(arguments[1])) step = arguments[1];
            else if (increment.Op == Opcode.Add && arguments[1].Equals(self) && invariant(arguments[0])) step = arguments[0];
            else if (increment.Op == Opcode.Subtract && arguments[0].Equals(self) && arguments[1].IsConstant) step = Operand.Of(unchecked(-arguments[1].Constant));
            else continue;
            var block = loop.Blocks.FirstOrDefault(b => b.Instructions.Contains(increment));
            if (block is null) continue;
            found.Add(phi.Destination, new InductionVariable(outside.Value, step, increment, block));
        }
        return found;
    }

    /// <summary>Makes x' = i * factor an induction variable of its own and returns it.</summary>
    private static VReg Reduce(IrFunction function, BasicBlock header, BasicBlock preheader, InductionVariable variable, Operand factor, Instruction product)
    {
        var location = product.Location;
        Operand Multiply(Operand value)
        {
            if (value.IsConstant && value.Constant == 0) return Operand.Of(0);
            if (value.IsConstant && value.Constant == 1) return factor;
            var result = function.NewRegister();
            preheader.Instructions.Add(new Instruction(Opcode.Multiply, result, [value, factor], null, location));
            return result;
        }

        var initial = Multiply(variable.Initial);
        var step = Multiply(variable.Step);
        var current = function.NewRegister();
        var next = function.NewRegister();
        var phi = new Phi(current);
        foreach (var predecessor in header.Phis[0].Inputs.Select(input => input.Predecessor))
            phi.Inputs.Add(new PhiInput(predecessor, predecessor == preheader ? initial : next));
        header.Phis.Add(phi);
        var at = variable.IncrementBlock.Instructions.IndexOf(variable.Increment);
        variable.IncrementBlock.Instructions.Insert(at + 1, new Instruction(Opcode.Add, next, [current, step], null, location));
        return current;
    }

    /// <summary>Every use of a removed product reads its induction variable instead.</summary>
    private static void Substitute(IrFunction function, Operand?[] replacement)
    {
        Operand Resolve(Operand operand) =>
            !operand.IsConstant && operand.Register.Index < replacement.Length && replacement[operand.Register.Index] is { } value ? value : operand;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            Rewrite.PhiInputs(block, Resolve);
            Rewrite.Uses(block, Resolve);
        }
    }
}
