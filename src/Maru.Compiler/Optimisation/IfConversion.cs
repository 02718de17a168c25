using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// If-conversion (SSA): a branch that only chooses between cheap values becomes straight-line code
/// and <see cref="Opcode.Select"/>s (x86-64 cmov, AArch64 csel), so an unpredictable test costs no
/// misprediction. Shapes: a diamond (the branch's two successors are arms that jump to one join) and
/// a triangle (one arm jumps to the other successor, the join). An arm is a block entered only from
/// the branch, without phis, whose instructions are all cheap, pure and unable to fault
/// (<see cref="IsCheap"/>: no load, division, multiplication, call or store), at most
/// <see cref="MaxArmInstructions"/> of them; the join's phis whose values differ on the two edges
/// become selects, at most <see cref="MaxSelects"/>, and arms plus selects at most
/// <see cref="MaxHoisted"/> instructions: gcc's rule of thumb that both arms are a couple of
/// instructions, so a branch that guards real work stays a branch. The arms' instructions move up
/// before the branch, the condition's comparison right after them (the backend fuses it into the
/// select when the select is its only reader), the branch becomes a jump, and a join left with the
/// one predecessor is merged into it. Blocks are visited in postorder, so an inner if-conversion
/// (a min of three by nested ifs) leaves a cheap arm for the outer one. A test of a register
/// against a constant whose single predecessors test that register too (a chain of at least
/// <see cref="MaxChainTests"/>) is left to <see cref="SwitchLowering"/>. Linear: each block is
/// converted or merged at most once and the work is the instructions moved.
/// </summary>
internal static class IfConversion
{
    public const int MaxArmInstructions = 3;
    public const int MaxSelects = 3;
    public const int MaxHoisted = 6;
    public const int MaxChainTests = 3;

    public static void Run(IrFunction function)
    {
        var graph = FlowGraph.Of(function, withDominators: false);
        var count = function.Blocks.Count;
        var predecessors = Scratch<int>.Rent(count);
        var single = Scratch<BasicBlock?>.Rent(count);   // the one predecessor, when there is one
        var removed = Scratch<bool>.Rent(count);
        var order = Scratch<BasicBlock?>.Rent(count);
        var reachable = graph.ReversePostorder.Length;
        graph.ReversePostorder.CopyTo(order!);
        for (var b = 0; b < count; b++)
        {
            var preds = graph.Predecessors[b];
            predecessors[b] = preds.Length;
            single[b] = preds.Length == 1 ? preds[0] : null;
        }
        var state = new State(function, predecessors, single, removed);
        var changed = false;
        try
        {
            for (var k = reachable - 1; k >= 0; k--)
            {
                var block = order[k]!;
                for (var round = 0; round < 4 && !removed[block.Index] && state.TryConvert(block); round++) changed = true;
            }
            if (changed) function.Blocks.RemoveAll(block => removed[block.Index]);
        }
        finally
        {
            Array.Clear(single, 0, count);
            Array.Clear(order, 0, count);
            Scratch<int>.Return(predecessors);
            Scratch<BasicBlock?>.Return(single);
            Scratch<bool>.Return(removed);
            Scratch<BasicBlock?>.Return(order);
        }
        if (changed) CopyPropagation.Run(function);   // the merged joins' phis became copies
    }

    /// <summary>Pure, unable to fault, about one cycle: what both paths may run.</summary>
    internal static bool IsCheap(Opcode op) =>
        op.IsComparison() || op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.Select
            or Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.ShiftLeft or Opcode.ShiftRight
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;

    private sealed class State(IrFunction function, int[] predecessors, BasicBlock?[] single, bool[] removed)
    {
        /// <summary>
        /// A block that only computes cheap values and jumps on, entered only from <paramref name="from"/>
        /// (or, empty, from others too: it then only carries a value on its edge): its target, or null.
        /// </summary>
        private BasicBlock? ArmTarget(BasicBlock arm, BasicBlock from)
        {
            if (arm == from || arm.Phis.Count != 0 || arm.Terminator is not Jump jump) return null;
            if (predecessors[arm.Index] != 1 && arm.Instructions.Count != 0) return null;
            if (arm.Instructions.Count > MaxArmInstructions) return null;
            foreach (var instruction in CollectionsMarshal.AsSpan(arm.Instructions))
                if (!IsCheap(instruction.Op)) return null;
            return jump.Target;
        }

        public bool TryConvert(BasicBlock head)
        {
            if (head.Terminator is not Branch { Condition: { IsConstant: false } condition } branch) return false;
            var (t, f) = (branch.IfTrue, branch.IfFalse);
            if (t == f) return false;
            var joinT = ArmTarget(t, head);
            var joinF = ArmTarget(f, head);
            BasicBlock join, fromT, fromF;
            if (joinT is not null && joinT == joinF) (join, fromT, fromF) = (joinT, t, f);
            else if (joinT is not null && joinT == f) (join, fromT, fromF) = (f, t, head);
            else if (joinF is not null && joinF == t) (join, fromT, fromF) = (t, head, f);
            else return false;
            if (join == head || join == function.Blocks[0]) return false;   // a loop's latch, not a choice
            var hoisted = fromT.Instructions.Count + fromF.Instructions.Count - (fromT == head || fromF == head ? head.Instructions.Count : 0);
            // An inner choice already made branch-free may be one arm; both arms so (a min of three by
            // nested ifs) would run two choices where the branch runs one: the outer test stays a branch.
            if (fromT != head && fromF != head && HasSelect(fromT) && HasSelect(fromF)) return false;
            var selects = 0;
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
                if (!Same(phi.ValueFrom(fromT), phi.ValueFrom(fromF))) selects++;
            if (selects > MaxSelects || hoisted + selects > MaxHoisted) return false;
            var test = DefinitionIn(head, condition.Register);
            if (test is not null && InSwitchChain(head, test)) return false;

            // The arms' instructions, then the test (when the head made it last and no arm reads it), then the selects.
            var instructions = head.Instructions;
            var moveTest = test is not null && instructions[^1] == test && !ReadByArms(condition.Register, fromT, fromF, head);
            if (moveTest) instructions.RemoveAt(instructions.Count - 1);
            if (fromT != head) instructions.AddRange(fromT.Instructions);
            if (fromF != head) instructions.AddRange(fromF.Instructions);
            if (moveTest) instructions.Add(test!);
            var location = test?.Location ?? (instructions.Count > 0 ? instructions[^1].Location : function.Location);
            // An arm entered only from the head goes (its edge to the join with it); a shared empty one stays for its
            // other predecessors; the head's own edge (a triangle) is the one the join keeps.
            var (goneT, goneF) = (fromT == head || predecessors[fromT.Index] == 1, fromF == head || predecessors[fromF.Index] == 1);
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
            {
                var (a, b) = (phi.ValueFrom(fromT)!.Value, phi.ValueFrom(fromF)!.Value);
                var value = a;
                if (test is not null && test.Op.IsComparison() && a.IsConstant && b.IsConstant && (a.Constant, b.Constant) is (1, 0) or (0, 1))
                {
                    // A comparison is 0 or 1 already: the choice of 1 or 0 by it is it, or its negation.
                    if (a.Constant == 1) value = condition;
                    else
                    {
                        var d = function.NewRegister();
                        instructions.Add(new Instruction(test.Op.Negated(), d, [test.Arguments[0], test.Arguments[1]], null, location));
                        value = Operand.Of(d);
                    }
                }
                else if (!a.Equals(b))
                {
                    var d = function.NewRegister();
                    instructions.Add(new Instruction(Opcode.Select, d, [condition, a, b], null, location));
                    value = Operand.Of(d);
                }
                if (goneT) phi.RemovePredecessor(fromT);
                if (goneF) phi.RemovePredecessor(fromF);
                phi.Inputs.Add(new PhiInput(head, value));
            }
            head.Terminator = new Jump(join);
            var joinPredecessors = predecessors[join.Index] + 1;   // the head's edge, new or kept
            foreach (var arm in (ReadOnlySpan<BasicBlock>)[fromT, fromF])
            {
                if (arm == head) { joinPredecessors--; continue; }
                if (--predecessors[arm.Index] > 0) continue;
                joinPredecessors--;
                removed[arm.Index] = true;
                arm.Instructions.Clear();
            }
            predecessors[join.Index] = joinPredecessors;
            if (predecessors[join.Index] == 1)
            {
                single[join.Index] = head;
                Merge(head, join);
            }
            return true;
        }

        private static bool HasSelect(BasicBlock arm) => arm.Instructions.Exists(instruction => instruction.Op == Opcode.Select);

        private static bool Same(Operand? a, Operand? b) => a is { } x && b is { } y && x.Equals(y);

        /// <summary>The join, now entered only from <paramref name="head"/>, appended to it: its phis as copies.</summary>
        private void Merge(BasicBlock head, BasicBlock join)
        {
            var instructions = head.Instructions;
            var location = instructions.Count > 0 ? instructions[^1].Location : function.Location;
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
                instructions.Add(new Instruction(Opcode.Copy, phi.Destination, [phi.Inputs[0].Value], null, location));
            join.Phis.Clear();
            instructions.AddRange(join.Instructions);
            join.Instructions.Clear();
            head.Terminator = join.Terminator;
            foreach (var successor in head.Successors)
            {
                foreach (var phi in CollectionsMarshal.AsSpan(successor.Phis)) phi.ReplacePredecessor(join, head);
                if (single[successor.Index] == join) single[successor.Index] = head;
            }
            removed[join.Index] = true;
        }

        private static Instruction? DefinitionIn(BasicBlock block, VReg register)
        {
            var instructions = block.Instructions;
            for (var i = instructions.Count - 1; i >= 0; i--)
                if (instructions[i].Destination == register) return instructions[i];
            return null;
        }

        private static bool ReadByArms(VReg register, BasicBlock fromT, BasicBlock fromF, BasicBlock head)
        {
            foreach (var arm in (ReadOnlySpan<BasicBlock>)[fromT, fromF])
            {
                if (arm == head) continue;
                foreach (var instruction in CollectionsMarshal.AsSpan(arm.Instructions))
                    foreach (var argument in instruction.Arguments)
                        if (!argument.IsConstant && argument.Register == register) return true;
            }
            return false;
        }

        /// <summary>The register a test compares with a constant, or null.</summary>
        private static VReg? TestedAgainstConstant(Instruction test) => test switch
        {
            { Op: var op, Arguments: [{ IsConstant: false } x, { IsConstant: true }] } when op.IsComparison() => x.Register,
            { Op: var op, Arguments: [{ IsConstant: true }, { IsConstant: false } x] } when op.IsComparison() => x.Register,
            _ => null,
        };

        /// <summary>
        /// The head's test of x against a constant is one of at least <see cref="MaxChainTests"/> such tests of x
        /// along single predecessors: a many-way cond that switch lowering turns into a tree or a lookup.
        /// </summary>
        private bool InSwitchChain(BasicBlock head, Instruction test)
        {
            if (TestedAgainstConstant(test) is not { } x) return false;
            var tests = 1;
            var at = head;
            for (var steps = 0; steps < MaxChainTests && tests < MaxChainTests; steps++)
            {
                if (single[at.Index] is not { } previous || removed[previous.Index]) return false;
                if (previous.Terminator is not Branch { Condition: { IsConstant: false } c }) return false;
                if (DefinitionIn(previous, c.Register) is not { } earlier || TestedAgainstConstant(earlier) != x) return false;
                tests++;
                at = previous;
            }
            return tests >= MaxChainTests;
        }
    }
}
