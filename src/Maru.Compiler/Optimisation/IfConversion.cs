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
/// one predecessor is merged into it: at once when small (it may be an outer choice's arm), else at
/// the end in reverse postorder (merged at once, a chain of sequential ifs converted from the last
/// would copy its growing tail once per if). Blocks are visited in postorder, so an inner if-conversion
/// (a min of three by nested ifs) leaves a cheap arm for the outer one. A test of a register
/// against a constant whose single predecessors test that register too (a chain of at least
/// <see cref="MaxChainTests"/>) is left to <see cref="SwitchLowering"/>. Linear: each block is
/// converted or merged at most once and the work is the instructions moved.
/// </summary>
internal static class IfConversion
{
    public const int MaxArmInstructions = 3;
    public const int MaxSelects = 1;
    public const int MaxHoisted = 6;
    public const int MaxChainTests = 3;
    public const int MaxDecidingPredecessors = 4;

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
        var inLoop = Scratch<bool>.Rent(count);
        var deferred = Scratch<bool>.Rent(count);
        var decided = Scratch<Instruction?>.Rent(count);
        MarkDecidedTests(graph, decided);   // before the loop search, which may take the graph over
        if (NaturalLoop.GraphWithLoops(function) is { } looped)
            foreach (var loop in NaturalLoop.FindAll(looped))
                foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks)) inLoop[block.Index] = true;
        var state = new State(function, predecessors, single, removed, inLoop, deferred, decided);
        var changed = false;
        try
        {
            for (var k = reachable - 1; k >= 0; k--)
            {
                var block = order[k]!;
                for (var round = 0; round < 4 && !removed[block.Index] && state.TryConvert(block); round++) changed = true;
            }
            if (changed) state.MergeDeferred(order.AsSpan(0, reachable));
            if (changed) function.Blocks.RemoveAll(block => removed[block.Index]);
        }
        finally
        {
            Array.Clear(single, 0, count);
            Array.Clear(order, 0, count);
            Scratch<int>.Return(predecessors);
            Scratch<BasicBlock?>.Return(single);
            Scratch<bool>.Return(removed);
            Scratch<bool>.Return(inLoop);
            Scratch<bool>.Return(deferred);
            Array.Clear(decided, 0, count);
            Scratch<Instruction?>.Return(decided);
            Scratch<BasicBlock?>.Return(order);
        }
        if (changed) CopyPropagation.Run(function);   // the merged joins' phis became copies
    }

    /// <summary>
    /// In a loop, a test an incoming edge has just decided or bounded stays a branch: the predecessor's branch compares
    /// the same two values (the same registers, a phi's value on the edge, or loads of the same address with no store
    /// between). gcc -O2 threads such a branch before its if-conversion sees it (a search loop's exit on `j &lt; m`, then
    /// `if (j == m) count++`; a fallback loop's exit on `pat[q] != text[i]`, then `if (pat[q] == text[i]) q++`): the exit
    /// that decided the test jumps to its arm, and where it only bounded it the outcome follows the exit taken, which
    /// a branch predictor learns; a count or select would be computed on every trip. Outside loops a choice runs once
    /// and is converted as before (a sign's two tests of x against 0). decided[b] is the comparison in b that some
    /// predecessor's branch relates to.
    /// </summary>
    private static void MarkDecidedTests(FlowGraph graph, Instruction?[] decided)
    {
        foreach (var block in graph.ReversePostorder)
        {
            // A loop exit's join has a few predecessors; a block of many (an or's join) is not one, and each predecessor's
            // look at the block and its phis' inputs would cost the block's size again.
            var predecessors = graph.Predecessors[block.Index];
            if (predecessors.Length > MaxDecidingPredecessors) continue;
            if (block.Terminator is not Branch { Condition: { IsConstant: false } own } || TestOf(block, own.Register) is not { } test) continue;
            foreach (var predecessor in predecessors)
            {
                if (predecessor == block || predecessor.Terminator is not Branch { Condition: { IsConstant: false } theirs } branch
                    || branch.IfTrue == branch.IfFalse) continue;
                if (TestOf(predecessor, theirs.Register) is { } other && SameValues(test, block, other, predecessor))
                {
                    decided[block.Index] = test;
                    break;
                }
            }
        }
    }

    /// <summary>The comparison in <paramref name="block"/> that defines <paramref name="condition"/>, or null.</summary>
    internal static Instruction? TestOf(BasicBlock block, VReg condition)
    {
        var instructions = block.Instructions;
        for (var i = instructions.Count - 1; i >= 0; i--)
            if (instructions[i].Destination == condition) return instructions[i].Op.IsComparison() ? instructions[i] : null;
        return null;
    }

    /// <summary>Both comparisons read the same two values, in either order.</summary>
    private static bool SameValues(Instruction test, BasicBlock block, Instruction other, BasicBlock predecessor) =>
        SameValues(test, block, other, predecessor, out _);

    /// <summary>Both comparisons read the same two values; <paramref name="swapped"/>: in the opposite order.</summary>
    internal static bool SameValues(Instruction test, BasicBlock block, Instruction other, BasicBlock predecessor, out bool swapped)
    {
        swapped = false;
        if (test.Arguments is not [var x, var y] || other.Arguments is not [var u, var v]) return false;
        if (Same(x, block, u, predecessor) && Same(y, block, v, predecessor)) return true;
        swapped = true;
        return Same(x, block, v, predecessor) && Same(y, block, u, predecessor);
    }

    /// <summary>
    /// One value on the edge: the same operand (a phi of <paramref name="block"/> as its value on the edge: a rotated
    /// loop's exit tests j + 1 where the block after it tests the phi of j), or a load in <paramref name="block"/>
    /// with nothing stored before it there and a load in <paramref name="predecessor"/> with nothing stored after
    /// it, of the same address.
    /// </summary>
    private static bool Same(Operand a, BasicBlock block, Operand b, BasicBlock predecessor)
    {
        if (!a.IsConstant)
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                if (phi.Destination == a.Register)
                {
                    if (phi.ValueFrom(predecessor) is { } input) a = input;
                    break;
                }
        if (a.Equals(b)) return true;
        if (a.IsConstant || b.IsConstant) return false;
        var (load, at) = LoadIn(block, a.Register);
        var (theirs, theirsAt) = LoadIn(predecessor, b.Register);
        if (load is null || theirs is null || load.Op != theirs.Op || !load.Arguments.AsSpan().SequenceEqual(theirs.Arguments)) return false;
        for (var i = 0; i < at; i++)
            if (block.Instructions[i].Op.HasSideEffects()) return false;
        for (var i = theirsAt + 1; i < predecessor.Instructions.Count; i++)
            if (predecessor.Instructions[i].Op.HasSideEffects()) return false;
        return true;
    }

    private static (Instruction? Load, int At) LoadIn(BasicBlock block, VReg register)
    {
        var instructions = block.Instructions;
        for (var i = instructions.Count - 1; i >= 0; i--)
            if (instructions[i].Destination == register)
                return instructions[i].Op is Opcode.LoadWord or Opcode.LoadByte ? (instructions[i], i) : (null, 0);
        return (null, 0);
    }

    private static bool Same(Operand? a, Operand? b) => a is { } x && b is { } y && x.Equals(y);

    /// <summary>Pure, unable to fault, about one cycle: what both paths may run.</summary>
    internal static bool IsCheap(Opcode op) =>
        op.IsComparison() || op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.Select
            or Opcode.Add or Opcode.Subtract or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;

    private sealed class State(IrFunction function, int[] predecessors, BasicBlock?[] single, bool[] removed, bool[] inLoop, bool[] deferred,
        Instruction?[] decided)
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
            Phi? chosen = null;
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
                if (!Same(phi.ValueFrom(fromT), phi.ValueFrom(fromF)) && !IsCondition(phi.ValueFrom(fromT)!.Value, phi.ValueFrom(fromF)!.Value, condition))
                {
                    selects++;
                    chosen = phi;
                }
            if (selects > MaxSelects || hoisted + selects > MaxHoisted) return false;
            if (InSwitchChain(head)) return false;
            var test = DefinitionIn(head, condition.Register);
            // In a loop, a test an incoming edge has just bounded (the same values compared) stays a branch (see MarkDecidedTests).
            if (inLoop[head.Index] && test is not null && decided[head.Index] == test) return false;
            var counted = selects == 1 && test is not null && test.Op.IsComparison() ? Counted(chosen!, fromT, fromF, head) : null;
            // In a loop only a choice between values already made, or a count: arithmetic in an arm would
            // lengthen the loop's dependence chain where a predicted branch costs nothing (gcc -O2 keeps those).
            if (inLoop[head.Index] && hoisted > 0 && counted is null) return false;

            // The arms' instructions, then the test (when the head made it last and no arm reads it), then the selects.
            var instructions = head.Instructions;
            // The test moves below the arms' instructions (it then sets the flags the select reads), with the
            // load right before it that only it reads (the machine may take that load as its operand); a
            // load moves only past the arms' pure instructions, never past a store.
            var moved = 0;
            if (test is not null && instructions[^1] == test && !test.Op.HasSideEffects() && test.Op != Opcode.Alloca
                && !ReadByArms(condition.Register, fromT, fromF, head))
            {
                moved = 1;
                if (instructions.Count >= 2 && instructions[^2] is { Op: Opcode.LoadWord or Opcode.LoadByte, Destination: { } loaded }
                    && Array.Exists(test.Arguments, a => !a.IsConstant && a.Register == loaded) && !ReadByArms(loaded, fromT, fromF, head))
                    moved = 2;
            }
            var tail = instructions.GetRange(instructions.Count - moved, moved);
            instructions.RemoveRange(instructions.Count - moved, moved);
            if (counted is null)
            {
                if (fromT != head) instructions.AddRange(fromT.Instructions);
                if (fromF != head) instructions.AddRange(fromF.Instructions);
            }
            instructions.AddRange(tail);
            var location = test?.Location ?? (instructions.Count > 0 ? instructions[^1].Location : function.Location);
            // An arm entered only from the head goes (its edge to the join with it); a shared empty one stays for its
            // other predecessors; the head's own edge (a triangle) is the one the join keeps.
            var (goneT, goneF) = (fromT == head || predecessors[fromT.Index] == 1, fromF == head || predecessors[fromF.Index] == 1);
            foreach (var phi in CollectionsMarshal.AsSpan(join.Phis))
            {
                var (a, b) = (phi.ValueFrom(fromT)!.Value, phi.ValueFrom(fromF)!.Value);
                var value = a;
                if (phi == chosen && counted is { } count)
                {
                    // v + 1 when the comparison holds (or fails): v plus (or minus) the comparison's 0 or 1.
                    var step = condition;
                    if (!count.WhenTrue)
                    {
                        var d = function.NewRegister();
                        instructions.Add(new Instruction(test!.Op.Negated(), d, [test.Arguments[0], test.Arguments[1]], null, location));
                        step = Operand.Of(d);
                    }
                    var sum = function.NewRegister();
                    instructions.Add(new Instruction(count.Op, sum, [count.Base, step], null, location));
                    value = Operand.Of(sum);
                }
                else if (test is not null && test.Op.IsComparison() && a.IsConstant && b.IsConstant && (a.Constant, b.Constant) is (1, 0) or (0, 1))
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
                else if (IsCondition(a, b, condition))
                {
                    // (if c c 0) is c, (if c 0 c) is 0 (Lisp's and/or values tested again): no select.
                    value = a.Equals(condition) ? condition : a;
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
            if (joinPredecessors == 1) single[join.Index] = head;
            // Merged now only while small: a merged join can only matter as an outer choice's arm, which must be
            // small itself, and merging a long block into each of a long chain of heads (sequential ifs, inner
            // ones first) would copy it again and again. A longer one is merged at the end, first heads first.
            if (joinPredecessors == 1)
            {
                if (join.Instructions.Count <= MaxHoisted) Merge(head, join);
                else deferred[join.Index] = true;
            }
            return true;
        }

        /// <summary>
        /// The phi is v on one side and v ± 1, the only instruction of that side's arm, on the other (the other
        /// side computing nothing): a conditional count, v ± the comparison (gcc's setcc and add).
        /// </summary>
        private static (Opcode Op, Operand Base, bool WhenTrue)? Counted(Phi phi, BasicBlock fromT, BasicBlock fromF, BasicBlock head)
        {
            var (a, b) = (phi.ValueFrom(fromT)!.Value, phi.ValueFrom(fromF)!.Value);
            if (Step(a, b, fromT, fromF, head) is { } t) return (t.Op, b, true);
            if (Step(b, a, fromF, fromT, head) is { } f) return (f.Op, a, false);
            return null;
        }

        private static (Opcode Op, int _)? Step(Operand stepped, Operand v, BasicBlock arm, BasicBlock other, BasicBlock head)
        {
            if (arm == head || stepped.IsConstant || arm.Instructions.Count != 1 || (other != head && other.Instructions.Count != 0)) return null;
            var instruction = arm.Instructions[0];
            if (instruction.Destination != stepped.Register) return null;
            return instruction switch
            {
                { Op: Opcode.Add, Arguments: [var x, { IsConstant: true, Constant: 1 }] } when x.Equals(v) => (Opcode.Add, 0),
                { Op: Opcode.Add, Arguments: [{ IsConstant: true, Constant: 1 }, var x] } when x.Equals(v) => (Opcode.Add, 0),
                { Op: Opcode.Add, Arguments: [var x, { IsConstant: true, Constant: -1 }] } when x.Equals(v) => (Opcode.Subtract, 0),
                { Op: Opcode.Subtract, Arguments: [var x, { IsConstant: true, Constant: 1 }] } when x.Equals(v) => (Opcode.Subtract, 0),
                _ => null,
            };
        }

        /// <summary>The choice <c>c ? a : b</c> is a (or b) without a select: c itself where the other is 0.</summary>
        private static bool IsCondition(Operand a, Operand b, Operand condition) =>
            a.Equals(condition) && b is { IsConstant: true, Constant: 0 } || a is { IsConstant: true, Constant: 0 } && b.Equals(condition);

        private static bool HasSelect(BasicBlock arm) => arm.Instructions.Exists(instruction => instruction.Op == Opcode.Select);

        /// <summary>
        /// The joins left to their one predecessor, merged in reverse postorder: a chain's first block takes each
        /// following one in turn, so every instruction is copied once (a loop body stays one block for the passes after).
        /// </summary>
        public void MergeDeferred(ReadOnlySpan<BasicBlock?> reversePostorder)
        {
            foreach (var entry in reversePostorder)
            {
                var block = entry!;
                if (removed[block.Index]) continue;
                while (block.Terminator is Jump { Target: var join } && join != block && deferred[join.Index] && !removed[join.Index]
                       && predecessors[join.Index] == 1)
                    Merge(block, join);
            }
        }

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

        /// <summary>The register a block's branch compares with a constant (a branch on a register tests it against 0), or null.</summary>
        private static VReg? TestedAgainstConstant(BasicBlock block)
        {
            if (block.Terminator is not Branch { Condition: { IsConstant: false } c }) return null;
            return DefinitionIn(block, c.Register) switch
            {
                { Op: var op, Arguments: [{ IsConstant: false } x, { IsConstant: true }] } when op.IsComparison() => x.Register,
                { Op: var op, Arguments: [{ IsConstant: true }, { IsConstant: false } x] } when op.IsComparison() => x.Register,
                { Op: Opcode.LogicalNot, Arguments: [{ IsConstant: false } x] } => x.Register,
                { Op: var op } when op.IsComparison() => null,
                _ => c.Register,
            };
        }

        /// <summary>
        /// The head's test of x against a constant ends a chain of such tests of x along single predecessors
        /// that switch lowering takes (a tree or a lookup): at least <see cref="MaxChainTests"/> of them, or two of
        /// an x its definition bounds to a small range (a mask, a byte, a truth value), which a lookup covers whole.
        /// </summary>
        private bool InSwitchChain(BasicBlock head)
        {
            if (TestedAgainstConstant(head) is not { } x) return false;
            var tests = 1;
            var at = head;
            while (tests < MaxChainTests)
            {
                if (single[at.Index] is not { } previous || removed[previous.Index] || TestedAgainstConstant(previous) != x) break;
                tests++;
                at = previous;
            }
            return tests >= MaxChainTests || (tests == 2 && IsSmallRange(x));
        }

        private Instruction?[]? _definitions;

        private bool IsSmallRange(VReg x)
        {
            if (_definitions is null)
            {
                _definitions = new Instruction?[function.RegisterCount];
                foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                    foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                        if (instruction.Destination is { } d && d.Index < _definitions.Length) _definitions[d.Index] = instruction;
            }
            return x.Index < _definitions.Length && _definitions[x.Index] switch
            {
                { Op: Opcode.And, Arguments: [_, { IsConstant: true, Constant: >= 0 and <= 63 }] } => true,
                { Op: Opcode.And, Arguments: [{ IsConstant: true, Constant: >= 0 and <= 63 }, _] } => true,
                { Op: var op } => op.IsComparison() || op is Opcode.LogicalNot or Opcode.LoadByte,
                _ => false,
            };
        }
    }
}
