using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Unrolling of small innermost counted loops, with reductions split into independent partial
/// results. A loop qualifies when its header is its only exit and tests a basic induction
/// variable against an invariant bound (<c>i &lt; n</c>, <c>i &lt;= n</c> stepping up by a
/// constant, <c>&gt;</c>, <c>&gt;=</c> stepping down; either operand order, either branch
/// sense), it has one preheader and one latch, no calls and no inner loop, and k copies of it stay
/// under <see cref="MaxUnrolledInstructions"/>. It becomes
/// <code>
///   guard: lim = n - (k-1)*step; br (lim &lt; n), U, J        (no guard for a constant bound)
///   U:     br (i &lt; lim), copy 1 .. copy k (each the header's instructions and the body), U
///          else X: partial results combined; J
///   J:     the original loop, which finishes the at most k-1 iterations left (and any the guard refused)
/// </code>
/// <c>i &lt; lim</c> means the next k iterations' own tests would all pass and none of
/// i, i+step, ... i+(k-1)*step wraps, so each copy's test is dropped; the guard refuses a bound
/// whose lim would wrap. So the unrolled loop runs exactly the iterations the original would, and
/// the original runs the rest with its own tests: exact for any bound, including wrap-around.
/// An accumulator (a header phi s read in the loop only by <c>s' = s op x</c>, op one of
/// + * &amp; | ^ or s - x, and s' read only by the phi) gets one independent phi per copy (the
/// first starting at s's initial value, the others at op's identity), combined on the way out:
/// exact in wrapping arithmetic, since those operations are associative and commutative (a
/// subtraction's lanes each subtract their own terms and are added), and the k chains run in
/// parallel instead of one long chain. Within the copies an induction variable's additions of
/// constants are folded, so copy m reads i + m*step, which address folding then turns into
/// displacements. Requires: SSA, preheaders (after LICM). Guarantees: SSA; the same executions.
/// Work is linear in the function: one scan for definitions and uses, a bounded copy per loop.
/// </summary>
internal static class LoopUnrolling
{
    /// <summary>The most instructions (phis included) the k copies of a loop may hold.</summary>
    public const int MaxUnrolledInstructions = 48;

    /// <summary>The largest loop (instructions and phis) unrolled four times; larger ones up to the cap twice.</summary>
    public const int MaxFourfold = 10;

    /// <summary>Independent partial results per accumulator: two chains already overlap a multiply's or a load's latency.</summary>
    public const int Lanes = 2;

    /// <summary>The most blocks a loop may have.</summary>
    public const int MaxBlocks = 8;

    private sealed record Accumulator(Phi Phi, Opcode Combine, long Identity);

    private sealed record Plan(NaturalLoop Loop, BasicBlock Preheader, BasicBlock Latch, BasicBlock Inside, int Factor, Phi Induction, long Step,
        Opcode Test, Operand Bound, Instruction Compare, bool DropCompare, List<Accumulator> Accumulators);

    public static void Run(IrFunction function)
    {
        if (NaturalLoop.GraphWithLoops(function) is not { } graph) return;
        var loops = NaturalLoop.FindAll(graph);
        if (loops.Count == 0) return;

        var blockCount = function.Blocks.Count;
        var header = Scratch<bool>.Rent(blockCount);
        foreach (var loop in loops) header[loop.Header.Index] = true;
        List<NaturalLoop>? small = null;
        foreach (var loop in loops)
            if (loop.Blocks.Count <= MaxBlocks && IsInnermost(loop, header)) (small ??= new()).Add(loop);
        Scratch<bool>.Return(header);
        if (small is null) return;

        // Definitions and use counts of every register, for the candidates' analysis.
        var registers = function.RegisterCount;
        var definition = Scratch<Instruction?>.Rent(registers);
        var uses = Scratch<int>.Rent(registers);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs) Use(input.Value);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                foreach (var argument in instruction.Arguments) Use(argument);
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
            }
            switch (block.Terminator)
            {
                case Branch branch: Use(branch.Condition); break;
                case Return ret: Use(ret.Value); break;
            }
        }
        void Use(Operand operand)
        {
            if (!operand.IsConstant) uses[operand.Register.Index]++;
        }

        var member = Scratch<int>.Rent(blockCount);
        var definedInLoop = Scratch<int>.Rent(registers);
        var plans = new List<Plan>();
        var stamp = 0;
        foreach (var loop in small)
        {
            loop.Mark(member, ++stamp);
            loop.MarkDefinitions(ref definedInLoop, registers, stamp);
            if (Analyse(loop, graph, member, definedInLoop, stamp, definition, uses) is { } plan) plans.Add(plan);
        }
        Array.Clear(definition, 0, registers);   // no instruction kept alive by the free list
        Scratch<Instruction?>.Return(definition);
        Scratch<int>.Return(uses);
        Scratch<int>.Return(member);
        Scratch<int>.Return(definedInLoop);
        // The graph describes the function before any change: every plan was made from it, and
        // innermost loops are disjoint, so one loop's rewriting leaves the others' plans valid.
        // The copies' register map is one table for all plans (a plan's entries are those stamped
        // with its number), and each plan's new blocks go before its loop's header in one pass at
        // the end, so many loops cost no table or list walk the size of the function each.
        if (plans.Count == 0) return;
        var map = Scratch<Operand>.Rent(registers);
        var mappedBy = Scratch<int>.Rent(registers);
        var placements = new List<(BasicBlock Anchor, BasicBlock Block)>();
        for (var p = 0; p < plans.Count; p++)
            foreach (var block in Unroll(function, plans[p], map, mappedBy, registers, p + 1)) placements.Add((plans[p].Loop.Header, block));
        Scratch<Operand>.Return(map);
        Scratch<int>.Return(mappedBy);
        BlockPlacement.InsertBefore(function, placements);
    }

    private static bool IsInnermost(NaturalLoop loop, bool[] header)
    {
        for (var i = 1; i < loop.Blocks.Count; i++)
            if (header[loop.Blocks[i].Index]) return false;
        return true;
    }

    private static Plan? Analyse(NaturalLoop loop, FlowGraph graph, int[] member, int[] definedInLoop, int stamp,
        Instruction?[] definition, int[] uses)
    {
        var head = loop.Header;
        var predecessors = graph.Predecessors[head.Index];
        if (predecessors.Length != 2) return null;
        var (preheader, latch) = member[predecessors[0].Index] == stamp ? (predecessors[1], predecessors[0]) : (predecessors[0], predecessors[1]);
        if (member[preheader.Index] == stamp || member[latch.Index] != stamp || latch == head) return null;
        if (head.Terminator is not Branch { Condition: { IsConstant: false } condition } branch) return null;
        if (LoopIdioms.Takes(loop, graph)) return null;   // a byte fill or copy: eight bytes a trip there
        var trueInside = member[branch.IfTrue.Index] == stamp;
        if (trueInside == (member[branch.IfFalse.Index] == stamp) || (trueInside ? branch.IfTrue : branch.IfFalse) == head) return null;

        // Only the header leaves the loop; no calls; a bounded size.
        var size = 0;
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
        {
            size += block.Phis.Count + block.Instructions.Count;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Op.IsCall() || instruction.Op == Opcode.Alloca) return null;
            if (block == head) continue;
            switch (block.Terminator)
            {
                case Jump jump when member[jump.Target.Index] == stamp: break;
                case Branch b when member[b.IfTrue.Index] == stamp && member[b.IfFalse.Index] == stamp: break;
                default: return null;
            }
        }
        // Four copies only of a tiny loop: more live values than registers would cost spills.
        var factor = size <= MaxFourfold ? 4 : 2 * size <= MaxUnrolledInstructions ? 2 : 0;
        if (factor == 0) return null;

        // The exit test: an induction variable against an invariant bound.
        var compare = definition[condition.Register.Index];
        if (compare is null || !compare.Op.IsComparison() || !head.Instructions.Contains(compare)) return null;
        bool Invariant(Operand operand) => operand.IsConstant || definedInLoop[operand.Register.Index] != stamp;
        var test = trueInside ? compare.Op : compare.Op.Negated();
        var (left, right) = (compare.Arguments[0], compare.Arguments[1]);
        if (!Invariant(left) && Invariant(right)) { }
        else if (Invariant(left) && !Invariant(right))
        {
            (left, right) = (right, left);
            test = test.Mirrored();
        }
        else return null;
        var induction = head.Phis.Find(p => p.Destination == left.Register);
        if (induction is null || induction.ValueFrom(latch) is not { IsConstant: false } next) return null;
        if (definition[next.Register.Index] is not { } increment || StepOf(increment, induction.Destination) is not { } step) return null;
        // Up with < or <=, down with > or >=; a step small enough that (k-1)*step is exact.
        if (!(test is Opcode.Less or Opcode.LessOrEqual && step is > 0 and <= 1 << 20)
            && !(test is Opcode.Greater or Opcode.GreaterOrEqual && step is < 0 and >= -(1 << 20))) return null;
        if (right.IsConstant && !LimitFits(right.Constant, step, factor)) return null;

        // Reductions: s read in the loop only by s' = s op x, s' read only by the phi.
        var accumulators = new List<Accumulator>();
        foreach (var phi in CollectionsMarshal.AsSpan(head.Phis))
        {
            if (phi == induction || phi.ValueFrom(latch) is not { IsConstant: false } value) continue;
            if (definition[value.Register.Index] is not { } update || uses[value.Register.Index] != 1) continue;
            if (ReductionOf(update, phi.Destination) is not { } reduction) continue;
            if (UsesInLoop(loop, phi.Destination) != 1) continue;
            accumulators.Add(new Accumulator(phi, reduction.Combine, reduction.Identity));
        }
        return new Plan(loop, preheader, latch, trueInside ? branch.IfTrue : branch.IfFalse, factor, induction, step, test, right, compare, uses[condition.Register.Index] == 1, accumulators);
    }

    /// <summary>Whether n - (k-1)*step stays in range for a constant bound.</summary>
    private static bool LimitFits(long bound, long step, int factor)
    {
        var limit = (Int128)bound - (Int128)step * (factor - 1);
        return limit >= long.MinValue && limit <= long.MaxValue;
    }

    private static long? StepOf(Instruction increment, VReg variable)
    {
        var arguments = increment.Arguments;
        if (arguments.Length != 2) return null;
        if (increment.Op == Opcode.Add && arguments[0].Equals(Operand.Of(variable)) && arguments[1].IsConstant) return arguments[1].Constant;
        if (increment.Op == Opcode.Add && arguments[1].Equals(Operand.Of(variable)) && arguments[0].IsConstant) return arguments[0].Constant;
        if (increment.Op == Opcode.Subtract && arguments[0].Equals(Operand.Of(variable)) && arguments[1].IsConstant && arguments[1].Constant != long.MinValue)
            return -arguments[1].Constant;
        return null;
    }

    /// <summary>How lanes of <c>update</c>'s accumulation combine, and their starting value; null when it is not a reduction of <paramref name="accumulator"/>.</summary>
    private static (Opcode Combine, long Identity)? ReductionOf(Instruction update, VReg accumulator)
    {
        var arguments = update.Arguments;
        if (arguments.Length != 2) return null;
        var self = Operand.Of(accumulator);
        var first = arguments[0].Equals(self);
        var second = arguments[1].Equals(self);
        if (first == second) return null;   // neither, or s op s
        return update.Op switch
        {
            Opcode.Add or Opcode.Or or Opcode.Xor => (update.Op, 0),
            Opcode.Multiply => (Opcode.Multiply, 1),
            Opcode.And => (Opcode.And, -1),
            Opcode.Subtract when first => (Opcode.Add, 0),   // s - x: each lane subtracts its terms; lanes add
            _ => null,
        };
    }

    private static int UsesInLoop(NaturalLoop loop, VReg register)
    {
        var count = 0;
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs)
                    if (!input.Value.IsConstant && input.Value.Register == register) count++;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant && argument.Register == register) count++;
            if (block.Terminator is Branch { Condition: { IsConstant: false } c } && c.Register == register) count++;
        }
        return count;
    }

    /// <summary>Unrolls one loop; returns the new blocks, in order, that go before its header.</summary>
    /// <param name="map">The copies' register map, for registers below <paramref name="originalRegisters"/> (the function's before any plan): an entry is this plan's where <paramref name="mappedBy"/> holds <paramref name="stamp"/>.</param>
    private static List<BasicBlock> Unroll(IrFunction function, Plan plan, Operand[] map, int[] mappedBy, int originalRegisters, int stamp)
    {
        var head = plan.Loop.Header;
        var location = plan.Compare.Location;
        var factor = plan.Factor;
        // Registers made here that are "base + constant" (an induction variable stepped in a copy).
        var offsets = new Dictionary<VReg, (Operand Base, long Offset)>();

        // The guard (a register bound) and the unrolled loop's blocks.
        var guard = plan.Bound.IsConstant ? null : function.NewUnplacedBlock();
        var entry = guard ?? plan.Preheader;
        var top = function.NewUnplacedBlock();
        var leave = function.NewUnplacedBlock();
        var join = function.NewUnplacedBlock();
        var heads = new BasicBlock[factor];
        for (var m = 0; m < factor; m++) heads[m] = function.NewUnplacedBlock();

        Operand limit;
        if (plan.Bound.IsConstant) limit = Operand.Of(unchecked(plan.Bound.Constant - plan.Step * (factor - 1)));
        else
        {
            var lim = function.NewRegister();
            var fits = function.NewRegister();
            guard!.Instructions.Add(new Instruction(Opcode.Subtract, lim, [plan.Bound, Operand.Of(plan.Step * (factor - 1))], null, location));
            // n - (k-1)*step wrapped exactly when it lies on the wrong side of n.
            guard.Instructions.Add(new Instruction(plan.Step > 0 ? Opcode.Less : Opcode.Greater, fits, [lim, plan.Bound], null, location));
            guard.Terminator = new Branch(fits, top, join);
            limit = lim;
        }
        plan.Preheader.Terminator = FlowGraph.Retarget(plan.Preheader.Terminator!, head, guard ?? top);

        // The unrolled loop's phis: one per header phi, k lanes per accumulator.
        var lanes = new Dictionary<Phi, Phi[]>();
        var topPhis = new Phi[head.Phis.Count];
        for (var p = 0; p < head.Phis.Count; p++)
        {
            var phi = head.Phis[p];
            var initial = phi.ValueFrom(plan.Preheader)!.Value;
            var accumulator = plan.Accumulators.Find(a => a.Phi == phi);
            if (accumulator is null)
            {
                topPhis[p] = new Phi(function.NewRegister());
                topPhis[p].Inputs.Add(new PhiInput(entry, initial));
                top.Phis.Add(topPhis[p]);
                continue;
            }
            var laneList = new Phi[Lanes];
            for (var m = 0; m < Lanes; m++)
            {
                laneList[m] = new Phi(function.NewRegister());
                laneList[m].Inputs.Add(new PhiInput(entry, m == 0 ? initial : Operand.Of(accumulator.Identity)));
                top.Phis.Add(laneList[m]);
            }
            topPhis[p] = laneList[0];
            lanes.Add(phi, laneList);
        }
        var inductionIndex = head.Phis.IndexOf(plan.Induction);
        var test = function.NewRegister();
        top.Instructions.Add(new Instruction(plan.Test, test, [Operand.Of(topPhis[inductionIndex].Destination), limit], null, location));
        top.Terminator = new Branch(test, heads[0], leave);

        // The copies, in the loop's reverse postorder (every definition before its uses but phis' back inputs).
        var inside = plan.Inside;
        var clones = new Dictionary<BasicBlock, BasicBlock>();
        var placed = new List<BasicBlock>();
        if (guard is not null) placed.Add(guard);
        placed.Add(top);
        var current = new Operand[head.Phis.Count];
        var laneValues = new Operand[head.Phis.Count, Lanes];
        for (var p = 0; p < head.Phis.Count; p++) current[p] = topPhis[p].Destination;
        for (var m = 0; m < factor; m++)
        {
            for (var p = 0; p < head.Phis.Count; p++)
            {
                var phi = head.Phis[p];
                // A lane's value: its phi in the first copies, then what copy m - Lanes left in it.
                Map(phi.Destination, !lanes.TryGetValue(phi, out var laneList) ? current[p]
                    : m < Lanes ? laneList[m].Destination : laneValues[p, m % Lanes]);
            }
            clones.Clear();
            clones.Add(head, heads[m]);
            foreach (var block in CollectionsMarshal.AsSpan(plan.Loop.Blocks))
                if (block != head) clones.Add(block, function.NewUnplacedBlock());
            var next = m + 1 < factor ? heads[m + 1] : top;
            foreach (var block in CollectionsMarshal.AsSpan(plan.Loop.Blocks))
            {
                var copy = clones[block];
                placed.Add(copy);
                foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                {
                    if (block == head) continue;
                    var clone = new Phi(function.NewRegister());
                    foreach (var input in phi.Inputs) clone.Inputs.Add(new PhiInput(clones[input.Predecessor], Resolve(input.Value)));
                    copy.Phis.Add(clone);
                    Map(phi.Destination, clone.Destination);
                }
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    if (instruction == plan.Compare && plan.DropCompare) continue;
                    copy.Instructions.Add(Clone(instruction));
                }
                copy.Terminator = block == head
                    ? new Jump(clones[inside])
                    : block.Terminator switch
                    {
                        Jump jump => new Jump(jump.Target == head ? next : clones[jump.Target]),
                        Branch branch => new Branch(Resolve(branch.Condition),
                            branch.IfTrue == head ? next : clones[branch.IfTrue], branch.IfFalse == head ? next : clones[branch.IfFalse]),
                        _ => throw new InvalidOperationException("an unrolled loop's body leaves the loop"),
                    };
            }
            // What this copy hands the next: each header phi's value along the back edge.
            var latchCopy = clones[plan.Latch];
            for (var p = 0; p < head.Phis.Count; p++)
            {
                var phi = head.Phis[p];
                var value = Resolve(phi.ValueFrom(plan.Latch)!.Value);
                if (lanes.ContainsKey(phi)) laneValues[p, m % Lanes] = value;
                else current[p] = value;
            }
            if (m + 1 == factor)
                for (var p = 0; p < head.Phis.Count; p++)
                {
                    if (!lanes.TryGetValue(head.Phis[p], out var laneList)) topPhis[p].Inputs.Add(new PhiInput(latchCopy, current[p]));
                    else
                        for (var lane = 0; lane < Lanes; lane++) laneList[lane].Inputs.Add(new PhiInput(latchCopy, laneValues[p, lane]));
                }
        }

        // Leaving: combine the lanes, then enter the original loop with the unrolled loop's values.
        placed.Add(leave);
        placed.Add(join);
        for (var p = 0; p < head.Phis.Count; p++)
        {
            var phi = head.Phis[p];
            Operand value = topPhis[p].Destination;
            if (lanes.TryGetValue(phi, out var laneList))
            {
                var combine = plan.Accumulators.Find(a => a.Phi == phi)!.Combine;
                for (var m = 1; m < Lanes; m++)
                {
                    var combined = function.NewRegister();
                    leave.Instructions.Add(new Instruction(combine, combined, [value, Operand.Of(laneList[m].Destination)], null, location));
                    value = combined;
                }
            }
            var entering = new Phi(function.NewRegister());
            if (guard is not null) entering.Inputs.Add(new PhiInput(guard, phi.ValueFrom(plan.Preheader)!.Value));
            entering.Inputs.Add(new PhiInput(leave, value));
            join.Phis.Add(entering);
            for (var i = 0; i < phi.Inputs.Count; i++)
                if (phi.Inputs[i].Predecessor == plan.Preheader) phi.Inputs[i] = new PhiInput(join, entering.Destination);
        }
        leave.Terminator = new Jump(join);
        join.Terminator = new Jump(head);
        return placed;

        void Map(VReg from, Operand to)
        {
            map[from.Index] = to;
            mappedBy[from.Index] = stamp;
        }

        Operand Resolve(Operand operand) =>
            !operand.IsConstant && operand.Register.Index < originalRegisters && mappedBy[operand.Register.Index] == stamp ? map[operand.Register.Index] : operand;

        Instruction Clone(Instruction instruction)
        {
            var arguments = new Operand[instruction.Arguments.Length];
            for (var a = 0; a < arguments.Length; a++) arguments[a] = Resolve(instruction.Arguments[a]);
            if (instruction.Destination is not { } destination)
                return new Instruction(instruction.Op, null, arguments, instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments };
            var fresh = function.NewRegister();
            Map(destination, fresh);
            var op = instruction.Op;
            // base + c1 + c2 -> base + (c1 + c2): every copy's induction variable is one addition from the loop's.
            if (op is Opcode.Add or Opcode.Subtract && arguments.Length == 2 && !arguments[0].IsConstant && arguments[1].IsConstant
                || op == Opcode.Add && arguments.Length == 2 && arguments[0].IsConstant && !arguments[1].IsConstant)
            {
                var (value, constant) = arguments[0].IsConstant ? (arguments[1], arguments[0].Constant) : (arguments[0], arguments[1].Constant);
                if (op == Opcode.Subtract) constant = unchecked(-constant);
                if (offsets.TryGetValue(value.Register, out var known)) (value, constant) = (known.Base, unchecked(known.Offset + constant));
                offsets[fresh] = (value, constant);
                return constant == 0
                    ? new Instruction(Opcode.Copy, fresh, [value], null, instruction.Location)
                    : new Instruction(Opcode.Add, fresh, [value, Operand.Of(constant)], null, instruction.Location);
            }
            return new Instruction(op, fresh, arguments, instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments };
        }
    }
}
