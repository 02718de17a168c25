using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Values a branch decides on its edges. Past <c>br c, T, F</c> the value c is 0 on the edge to F
/// and nonzero on the edge to T (exactly 1 when c is a comparison or a not); past a test
/// <c>c = eq a, K</c> of a constant, a is K where the test held (and where <c>ne a, K</c> failed);
/// past <c>c = not x</c>, x is 0 where c held. These facts hold in every block the edge's target
/// dominates when the target has no other predecessor, and on the edge itself for the target's
/// phi inputs. Uses of a value there become the constant it is known to be, and so do uses of a
/// value computed from known ones in one step (<c>not c</c> where c is known nonzero is 0): Lisp's
/// <c>and</c>/<c>or</c> values, which are their last test's result, then become constants on the
/// paths that decided them, the tests themselves only branches, and later passes fold the rest.
/// The facts are scoped to a preorder walk of the dominator tree (undone on leaving a subtree), so
/// the pass is linear in the function's size.
/// Requires: SSA (one definition per value, every use dominated by it).
/// Guarantees: same values on every path.
/// </summary>
internal static class BranchFacts
{
    /// <summary>What is known about a value: its constant, or only that it is not zero.</summary>
    private enum Knowledge : byte { None, Constant, Nonzero }

    private sealed class Facts(int registers)
    {
        public readonly Knowledge[] Kind = Scratch<Knowledge>.Rent(registers);
        public readonly long[] Value = Scratch<long>.Rent(registers);
        private readonly List<int> _log = new();

        public int Mark => _log.Count;

        public void Set(VReg register, Knowledge kind, long value = 0)
        {
            if (Kind[register.Index] != Knowledge.None) return; // an enclosing fact already says it
            Kind[register.Index] = kind;
            Value[register.Index] = value;
            _log.Add(register.Index);
        }

        public void UndoTo(int mark)
        {
            for (var i = _log.Count - 1; i >= mark; i--) Kind[_log[i]] = Knowledge.None;
            _log.RemoveRange(mark, _log.Count - mark);
        }

        public void Return()
        {
            Scratch<Knowledge>.Return(Kind);
            Scratch<long>.Return(Value);
        }
    }

    /// <summary>The phi inputs each block supplies, flat by supplying block: (the phi's block, the phi, the input's index).</summary>
    private sealed class Supplied
    {
        public readonly int[] Start;
        public readonly BasicBlock[] Target;
        public readonly Phi[] Phi;
        public readonly int[] Input;
        public readonly int Count;

        public Supplied(IrFunction function)
        {
            var blocks = function.Blocks;
            Start = Scratch<int>.Rent(blocks.Count + 1);
            foreach (var block in CollectionsMarshal.AsSpan(blocks))
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                    foreach (var input in phi.Inputs)
                    {
                        Start[input.Predecessor.Index + 1]++;
                        Count++;
                    }
            for (var i = 0; i < blocks.Count; i++) Start[i + 1] += Start[i];
            Target = Scratch<BasicBlock>.Rent(Count);
            Phi = Scratch<Phi>.Rent(Count);
            Input = Scratch<int>.Rent(Count);
            var fill = Scratch<int>.Rent(blocks.Count);
            foreach (var block in CollectionsMarshal.AsSpan(blocks))
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                    for (var i = 0; i < phi.Inputs.Count; i++)
                    {
                        var from = phi.Inputs[i].Predecessor.Index;
                        var at = Start[from] + fill[from]++;
                        Target[at] = block;
                        Phi[at] = phi;
                        Input[at] = i;
                    }
            Scratch<int>.Return(fill);
        }

        public void Return()
        {
            Array.Clear(Target, 0, Count);
            Array.Clear(Phi, 0, Count);
            Scratch<int>.Return(Start);
            Scratch<BasicBlock>.Return(Target);
            Scratch<Phi>.Return(Phi);
            Scratch<int>.Return(Input);
        }
    }

    public static void Run(IrFunction function)
    {
        var any = false;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            any |= block.Terminator is Branch { Condition.IsConstant: false } branch && branch.IfTrue != branch.IfFalse;
        if (!any) return;
        var definition = Scratch<Instruction?>.Rent(function.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d) definition[d.Index] = instruction;

        var graph = FlowGraph.Of(function);
        var supplied = new Supplied(function);
        var facts = new Facts(function.RegisterCount);
        graph.WalkDominatorTree(
            block =>
            {
                var mark = facts.Mark;
                var predecessors = graph.Predecessors[block.Index];
                if (block != graph.Entry && predecessors.Length == 1) LearnEdge(predecessors[0], block, definition, facts);
                RewriteBlock(block, definition, facts, supplied);
                return mark;
            },
            (_, mark) => facts.UndoTo(mark));
        facts.Return();
        supplied.Return();
        Array.Clear(definition, 0, function.RegisterCount);
        Scratch<Instruction?>.Return(definition);
    }

    /// <summary>Adds what taking the edge from <paramref name="from"/> to <paramref name="to"/> says.</summary>
    private static void LearnEdge(BasicBlock from, BasicBlock to, Instruction?[] definition, Facts facts)
    {
        if (from.Terminator is not Branch { Condition.IsConstant: false } branch || branch.IfTrue == branch.IfFalse) return;
        Learn(branch.Condition.Register, to == branch.IfTrue, definition, facts);
    }

    private static void Learn(VReg condition, bool holds, Instruction?[] definition, Facts facts)
    {
        if (!holds) facts.Set(condition, Knowledge.Constant, 0);
        else if (IsBoolean(definition[condition.Index])) facts.Set(condition, Knowledge.Constant, 1);
        else facts.Set(condition, Knowledge.Nonzero);
        if (definition[condition.Index] is not { } test) return;
        switch (test.Op)
        {
            case Opcode.LogicalNot when !test.Arguments[0].IsConstant:
                var x = test.Arguments[0].Register;
                if (holds) facts.Set(x, Knowledge.Constant, 0);
                else if (IsBoolean(definition[x.Index])) facts.Set(x, Knowledge.Constant, 1);
                else facts.Set(x, Knowledge.Nonzero);
                break;
            case Opcode.Equal when holds:
            case Opcode.NotEqual when !holds:
                var (a, b) = (test.Arguments[0], test.Arguments[1]);
                if (b.IsConstant && !a.IsConstant) facts.Set(a.Register, Knowledge.Constant, b.Constant);
                else if (a.IsConstant && !b.IsConstant) facts.Set(b.Register, Knowledge.Constant, a.Constant);
                break;
        }
    }

    private static bool IsBoolean(Instruction? instruction) =>
        instruction is not null && (instruction.Op.IsComparison() || instruction.Op == Opcode.LogicalNot);

    /// <summary>Replaces the block's uses of known values, and the phi inputs it supplies on each of its edges.</summary>
    private static void RewriteBlock(BasicBlock block, Instruction?[] definition, Facts facts, Supplied supplied)
    {
        var resolver = new Resolver(definition, facts);
        Rewrite.Uses(block, ref resolver, definitions: false);
        for (var at = supplied.Start[block.Index]; at < supplied.Start[block.Index + 1]; at++)
        {
            var (phi, input) = (supplied.Phi[at], supplied.Input[at]);
            var mark = facts.Mark;
            LearnEdge(block, supplied.Target[at], definition, facts);
            phi.Inputs[input] = phi.Inputs[input] with { Value = Resolve(phi.Inputs[input].Value, definition, facts) };
            facts.UndoTo(mark);
        }
    }

    private readonly struct Resolver(Instruction?[] definition, Facts facts) : Rewrite.IOperandRewriter
    {
        public Operand Use(Operand operand) => Resolve(operand, definition, facts);
        public VReg Definition(VReg register) => register;
    }

    /// <summary>The constant a value is known to be here, or the value itself.</summary>
    private static Operand Resolve(Operand operand, Instruction?[] definition, Facts facts)
    {
        if (operand.IsConstant) return operand;
        var register = operand.Register;
        if (facts.Kind[register.Index] == Knowledge.Constant) return Operand.Of(facts.Value[register.Index]);
        // One step further: a not or a test against zero of a known value.
        if (definition[register.Index] is not { } instruction) return operand;
        switch (instruction.Op)
        {
            case Opcode.LogicalNot when IsZero(instruction.Arguments[0], facts) is { } zero:
                return Operand.Of(zero ? 1 : 0);
            case Opcode.Equal or Opcode.NotEqual when ZeroTest(instruction) is { } tested && IsZero(tested, facts) is { } zero:
                return Operand.Of((instruction.Op == Opcode.Equal) == zero ? 1 : 0);
            case var op when op.IsBinary()
                             && Constant(instruction.Arguments[0], facts) is { } a
                             && Constant(instruction.Arguments[1], facts) is { } b
                             && !(instruction.Arguments[0].IsConstant && instruction.Arguments[1].IsConstant):
                return Operand.Of(op.Evaluate(a, b));
            default:
                return operand;
        }
    }

    /// <summary>Whether a value is known to be zero (true) or nonzero (false) here; null when unknown.</summary>
    private static bool? IsZero(Operand operand, Facts facts)
    {
        if (operand.IsConstant) return operand.Constant == 0;
        return facts.Kind[operand.Register.Index] switch
        {
            Knowledge.Constant => facts.Value[operand.Register.Index] == 0,
            Knowledge.Nonzero => false,
            _ => null,
        };
    }

    private static long? Constant(Operand operand, Facts facts) =>
        operand.IsConstant ? operand.Constant
        : facts.Kind[operand.Register.Index] == Knowledge.Constant ? facts.Value[operand.Register.Index]
        : null;

    /// <summary>The operand an eq/ne compares with the constant 0, if it does.</summary>
    private static Operand? ZeroTest(Instruction instruction)
    {
        var (a, b) = (instruction.Arguments[0], instruction.Arguments[1]);
        if (b is { IsConstant: true, Constant: 0 } && !a.IsConstant) return a;
        if (a is { IsConstant: true, Constant: 0 } && !b.IsConstant) return b;
        return null;
    }
}
