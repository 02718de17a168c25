using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Byte loops that fill or copy consecutive bytes, done eight bytes at a time. A loop qualifies
/// when it is a header <c>k = phi [pre: k0], [latch: k + 1]; br (k &lt; n)</c> (either operand
/// order, either branch sense; n invariant) and one body block that holds nothing but the
/// increment and either
/// <list type="bullet">
/// <item>a fill: <c>storeb a, k, v</c> (a and v invariant; a and k in either order), or</item>
/// <item>a copy: <c>x = loadb s, k; storeb d, k, x</c> (s and d invariant, x read only by the store).</item>
/// </list>
/// It becomes
/// <code>
///   guard: k0 + 8 &lt;= n (without wrapping), and for a copy d - s not in 1..7; else H
///   W:     j = phi [guard: k0], [W': j + 8]; br (j + 8 &lt;= n), W', T
///   W':    the eight bytes at j as one word; jmp W
///   T:     fill: the word ending at n (bytes the loop has already set to the same value); k = n
///          copy: k = j (the byte loop copies the at most 7 left)
///   H:     the original loop, entered with that k
/// </code>
/// The word loop touches only bytes the byte loop would (k0 .. n-1), so it faults nowhere the
/// original would not. A fill's bytes all get v's low byte, in any order and any number of times:
/// the same memory. A copy reading the word at s + j before writing the word at d + j gives the
/// byte loop's bytes exactly when no byte of the word is one the same word writes first: d - s
/// (modulo 2^64) is 0 or at least 8, or negative; d - s in 1..7 (a forward copy that repeats a
/// pattern) keeps the byte loop. The loop's own exit value of k is unchanged (the original header
/// computes it). Nothing else is in the loop, so no other read or write moves.
/// Requires: SSA, preheaders (after LICM; after LoopAddressing, which leaves the invariant part of
/// an address in the base; after LoopUnrolling, which leaves these loops alone: a fill's word loop
/// is short for most fills, and unrolling it would add a test to each). Guarantees: SSA; the same memory, the same values.
/// Work is linear in the function: a look at each innermost two-block loop, a constant number of
/// new blocks for each.
/// </summary>
internal static class LoopIdioms
{
    private const long ByteBroadcast = 0x0101010101010101;

    private sealed record Plan(BasicBlock Header, BasicBlock Body, BasicBlock Preheader, Phi Induction, Operand Start, Operand Bound,
        Operand Destination, long DestinationOffset, Operand Source, long SourceOffset, Operand Value, bool Copy, Instruction Compare, BasicBlock Exit);

    public static void Run(IrFunction function)
    {
        if (NaturalLoop.GraphWithLoops(function) is not { } graph) return;
        var loops = NaturalLoop.FindAll(graph);
        List<Plan>? plans = null;
        foreach (var loop in loops)
            if (loop.Blocks.Count == 2 && Analyse(loop, graph) is { } plan) (plans ??= new()).Add(plan);
        if (plans is null) return;
        // A fill may leave straight to the exit when nothing outside the loop reads k or the test
        // (they are defined in the header, which the new path skips) and the exit has no phis.
        var uses = Scratch<int>.Rent(function.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs) Count(input.Value);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments) Count(argument);
            switch (block.Terminator)
            {
                case Branch branch: Count(branch.Condition); break;
                case Return ret: Count(ret.Value); break;
            }
        }
        void Count(Operand operand)
        {
            if (!operand.IsConstant) uses[operand.Register.Index]++;
        }
        var leave = new bool[plans.Count];
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            var k = plan.Induction.Destination;
            var test = plan.Compare.Destination!.Value;
            // k: the compare, the access(es) and the increment, in the loop; the test: the branch.
            var inLoop = 0;
            foreach (var instruction in CollectionsMarshal.AsSpan(plan.Body.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (IsRegister(argument, k)) inLoop++;
            foreach (var argument in plan.Compare.Arguments)
                if (IsRegister(argument, k)) inLoop++;
            leave[p] = plan.Exit.Phis.Count == 0 && uses[k.Index] == inLoop && uses[test.Index] == 1;
        }
        Scratch<int>.Return(uses);
        var placements = new List<(BasicBlock Anchor, BasicBlock Block)>();
        for (var p = 0; p < plans.Count; p++)
            foreach (var block in Rewrite(function, plans[p], leave[p])) placements.Add((plans[p].Header, block));
        BlockPlacement.InsertBefore(function, placements);
    }

    /// <summary>Whether the loop is a byte fill or copy this pass rewrites (LoopUnrolling, which runs first, leaves it alone).</summary>
    public static bool Takes(NaturalLoop loop, FlowGraph graph) => loop.Blocks.Count == 2 && Analyse(loop, graph) is not null;

    private static Plan? Analyse(NaturalLoop loop, FlowGraph graph)
    {
        var head = loop.Header;
        var body = loop.Blocks[1];
        var predecessors = graph.Predecessors[head.Index];
        if (predecessors.Length != 2 || graph.Predecessors[body.Index].Length != 1) return null;
        var preheader = predecessors[0] == body ? predecessors[1] : predecessors[0];
        if (preheader == body || preheader == head) return null;
        if (body.Terminator is not Jump { Target: var back } || back != head) return null;
        if (head.Phis.Count != 1 || body.Phis.Count != 0 || head.Instructions.Count != 1) return null;
        if (head.Terminator is not Branch { Condition: { IsConstant: false } condition } branch) return null;
        var inside = branch.IfTrue == body;
        if (inside == (branch.IfFalse == body)) return null;
        var exit = inside ? branch.IfFalse : branch.IfTrue;
        var compare = head.Instructions[0];
        if (compare.Destination != condition.Register || compare.Arguments.Length != 2) return null;

        var induction = head.Phis[0];
        var k = induction.Destination;
        if (induction.ValueFrom(preheader) is not { } start || induction.ValueFrom(body) is not { IsConstant: false } next) return null;
        // Invariant: a constant, or a register the loop does not define (only k, the compare and the body's).
        bool Invariant(Operand operand)
        {
            if (operand.IsConstant) return true;
            if (operand.Register == k || operand.Register == compare.Destination) return false;
            foreach (var instruction in CollectionsMarshal.AsSpan(body.Instructions))
                if (instruction.Destination == operand.Register) return false;
            return true;
        }
        var test = inside ? compare.Op : compare.Op.Negated();
        Operand bound;
        if (test == Opcode.Less && IsRegister(compare.Arguments[0], k) && Invariant(compare.Arguments[1])) bound = compare.Arguments[1];
        else if (test == Opcode.Greater && IsRegister(compare.Arguments[1], k) && Invariant(compare.Arguments[0])) bound = compare.Arguments[0];
        else return null;
        // Constants that decide the guard: a bound whose n - 7 wraps, or a loop of fewer than eight trips, stays as it is.
        if (start.IsConstant && start.Constant > long.MaxValue - 7 || bound.IsConstant && bound.Constant < long.MinValue + 7
            || start.IsConstant && bound.IsConstant && start.Constant >= bound.Constant - 7) return null;

        // The body: the increment, a fill's store or a copy's load and store, and additions of
        // constants to k that only those accesses read (an index k + c: the byte at base + c + k).
        Instruction? increment = null, store = null, load = null;
        var offsets = new List<Instruction>(2);
        foreach (var instruction in CollectionsMarshal.AsSpan(body.Instructions))
        {
            if (instruction.Op == Opcode.StoreByte && instruction.Arguments.Length == 3 && store is null) store = instruction;
            else if (instruction.Op == Opcode.LoadByte && instruction.Arguments.Length == 2 && load is null) load = instruction;
            else if (OffsetOf(instruction, k) is { } offset && offsets.Count < 4)
            {
                if (instruction.Destination == next.Register)
                {
                    if (offset != 1) return null;
                    increment = instruction;
                }
                offsets.Add(instruction);
            }
            else return null;
        }
        if (increment is null || store is null) return null;
        // The additions are read only as addresses (the increment also by the phi, which reads nothing else).
        foreach (var instruction in CollectionsMarshal.AsSpan(body.Instructions))
            for (var a = 0; a < instruction.Arguments.Length; a++)
                if (a >= 2 || instruction != store && instruction != load)
                    foreach (var offset in offsets)
                        if (IsRegister(instruction.Arguments[a], offset.Destination!.Value)) return null;
        foreach (var offset in offsets)
            if (IsRegister(compare.Arguments[0], offset.Destination!.Value) || IsRegister(compare.Arguments[1], offset.Destination!.Value)) return null;
        if (AddressOf(store, k, offsets) is not var (destination, destinationOffset) || !Invariant(destination)) return null;
        var value = store.Arguments[2];
        if (load is null)
        {
            if (!Invariant(value)) return null;
            return new Plan(head, body, preheader, induction, start, bound, destination, destinationOffset, default, 0, value, false, compare, exit);
        }
        if (value.IsConstant || value.Register != load.Destination || AddressOf(load, k, offsets) is not var (source, sourceOffset)
            || source.IsConstant || destination.IsConstant || !Invariant(source)) return null;   // a copy's two bases are registers (their distance is tested)
        if (UsedOutsideStore(head, body, load.Destination!.Value, store)) return null;
        return new Plan(head, body, preheader, induction, start, bound, destination, destinationOffset, source, sourceOffset, default, true, compare, exit);
    }

    /// <summary>c when the instruction is k + c (c a constant).</summary>
    private static long? OffsetOf(Instruction instruction, VReg k)
    {
        if (instruction.Op != Opcode.Add || instruction.Arguments is not [var a, var b]) return null;
        if (IsRegister(a, k) && b.IsConstant) return b.Constant;
        if (IsRegister(b, k) && a.IsConstant) return a.Constant;
        return null;
    }

    /// <summary>The invariant part and the constant of a byte access's address base + c + k (its two address operands: k or k + c, and base).</summary>
    private static (Operand Base, long Offset)? AddressOf(Instruction access, VReg k, List<Instruction> offsets)
    {
        var (a, b) = (access.Arguments[0], access.Arguments[1]);
        if (IsRegister(b, k)) return (a, 0);
        if (IsRegister(a, k)) return (b, 0);
        foreach (var offset in offsets)
        {
            var added = offset.Destination!.Value;
            if (IsRegister(b, added) && !IsRegister(a, added)) return (a, OffsetOf(offset, k)!.Value);
            if (IsRegister(a, added) && !IsRegister(b, added)) return (b, OffsetOf(offset, k)!.Value);
        }
        return null;
    }

    private static bool IsRegister(Operand operand, VReg register) => !operand.IsConstant && operand.Register == register;

    /// <summary>
    /// Whether the loaded byte is read anywhere but by the store. Its definition in the body
    /// dominates only the body (the body's one successor is the header), so a reader is in the
    /// body or the header's phis.
    /// </summary>
    private static bool UsedOutsideStore(BasicBlock head, BasicBlock body, VReg loaded, Instruction store)
    {
        foreach (var phi in CollectionsMarshal.AsSpan(head.Phis))
            foreach (var input in phi.Inputs)
                if (IsRegister(input.Value, loaded)) return true;
        foreach (var block in (ReadOnlySpan<BasicBlock>)[head, body])
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction == store) continue;
                foreach (var argument in instruction.Arguments)
                    if (IsRegister(argument, loaded)) return true;
            }
        return false;
    }

    /// <summary>Builds the checks and the word loop in front of the header; returns the new blocks in order.</summary>
    private static List<BasicBlock> Rewrite(IrFunction function, Plan plan, bool leaveDirectly)
    {
        var location = plan.Compare.Location;
        var placed = new List<BasicBlock>();
        var head = plan.Header;
        var n = plan.Bound;
        var k0 = plan.Start;
        Operand Emit(BasicBlock block, Opcode op, Operand a, Operand b)
        {
            var destination = function.NewRegister();
            block.Instructions.Add(new Instruction(op, destination, [a, b], null, location));
            return destination;
        }
        // a + b, folded where a constant allows (an address part may be a constant: a pointer walk's 0).
        Operand Sum(BasicBlock block, Operand a, Operand b) =>
            a is { IsConstant: true, Constant: 0 } ? b : b is { IsConstant: true, Constant: 0 } ? a
            : a.IsConstant && b.IsConstant ? Operand.Of(unchecked(a.Constant + b.Constant))
            : a.IsConstant ? Emit(block, Opcode.Add, b, a) : Emit(block, Opcode.Add, a, b);
        var entering = new List<BasicBlock>();   // the checks, which enter the header with k0 when they fail
        BasicBlock? check = null;
        BasicBlock Check()
        {
            var block = function.NewUnplacedBlock();
            if (check is null) plan.Preheader.Terminator = FlowGraph.Retarget(plan.Preheader.Terminator!, head, block);
            placed.Add(block);
            check = block;
            return block;
        }
        void Test(Operand holds)
        {
            var current = check!;
            var next = function.NewUnplacedBlock();
            current.Terminator = new Branch(holds, next, head);
            entering.Add(current);
            placed.Add(next);
            check = next;
        }

        // At least eight trips: k0 + 8 <= n without wrapping (Analyse left out what constants decide).
        if (k0.IsConstant)
        {
            if (!n.IsConstant) Test(Emit(Check(), Opcode.Greater, n, Operand.Of(k0.Constant + 7)));
        }
        else if (n.IsConstant) Test(Emit(Check(), Opcode.Less, k0, Operand.Of(n.Constant - 7)));
        else
        {
            var block = Check();
            var limit = Emit(block, Opcode.Subtract, n, Operand.Of(7));
            Test(Emit(block, Opcode.Less, limit, n));
            Test(Emit(check!, Opcode.Less, k0, limit));
        }
        if (plan.Copy)
        {
            // d - s - 1 >=u 7: the copy's source word is read before any byte of it is written.
            var block = check ?? Check();
            var less = Sum(block, Emit(block, Opcode.Subtract, plan.Destination, plan.Source), Operand.Of(unchecked(plan.DestinationOffset - plan.SourceOffset - 1)));
            Test(Emit(block, Opcode.AboveOrEqual, less, Operand.Of(7)));
        }
        var prepare = check ?? Check();

        // words = (n - k0) / 8, unsigned (n - k0 may exceed the signed range); the bases at k0.
        Operand words;
        if (n.IsConstant && k0.IsConstant) words = Operand.Of((long)(unchecked((ulong)(n.Constant - k0.Constant)) >> 3));
        else
        {
            var span = k0 is { IsConstant: true, Constant: 0 } ? n : Emit(prepare, Opcode.Subtract, n, k0);
            words = Emit(prepare, Opcode.ShiftRight, span, Operand.Of(3));
            // From a constant k0 >= 0 below n, n - k0 is a positive word: the shift is exact without the mask.
            if (!(k0.IsConstant && k0.Constant >= 0)) words = Emit(prepare, Opcode.And, words, Operand.Of(long.MaxValue >> 2));
        }
        Operand At(Operand address) => Sum(prepare, address, k0);
        var destination = At(Sum(prepare, plan.Destination, Operand.Of(plan.DestinationOffset)));
        var source = plan.Copy ? At(Sum(prepare, plan.Source, Operand.Of(plan.SourceOffset))) : default;
        Operand broadcast = default;
        if (!plan.Copy)
            broadcast = plan.Value.IsConstant
                ? Operand.Of(unchecked((plan.Value.Constant & 0xff) * ByteBroadcast))
                : Emit(prepare, Opcode.Multiply, Emit(prepare, Opcode.And, plan.Value, Operand.Of(0xff)), Operand.Of(ByteBroadcast));
        // A copy's byte loop goes on at k0 + 8 * words.
        var resume = plan.Copy ? words.IsConstant ? Operand.Of(unchecked(k0.IsConstant ? k0.Constant + words.Constant * 8 : words.Constant * 8)) : Emit(prepare, Opcode.ShiftLeft, words, Operand.Of(3)) : n;
        if (plan.Copy && !k0.IsConstant) resume = Emit(prepare, Opcode.Add, k0, resume);
        else if (plan.Copy && !words.IsConstant && k0.Constant != 0) resume = Emit(prepare, Opcode.Add, resume, k0);

        // The word loop, tested at the top (rotation puts the test at the bottom): m from 0 while m < words.
        var word = function.NewUnplacedBlock();
        var wordBody = function.NewUnplacedBlock();
        var tail = function.NewUnplacedBlock();
        prepare.Terminator = new Jump(word);
        placed.Add(word);
        placed.Add(wordBody);
        var m = new Phi(function.NewRegister());
        word.Phis.Add(m);
        m.Inputs.Add(new PhiInput(prepare, Operand.Of(0)));
        word.Terminator = new Branch(Emit(word, Opcode.Less, m.Destination, words), wordBody, tail);
        var stored = plan.Copy ? Emit(wordBody, Opcode.LoadWord, source, m.Destination) : broadcast;
        wordBody.Instructions.Add(new Instruction(Opcode.StoreWord, null, [destination, m.Destination, stored], null, location));
        m.Inputs.Add(new PhiInput(wordBody, Emit(wordBody, Opcode.Add, m.Destination, Operand.Of(1))));
        wordBody.Terminator = new Jump(word);

        // Leaving: a fill stores the word ending at n and leaves (or enters the header at n); a copy enters at k0 + 8 * words.
        placed.Add(tail);
        if (!plan.Copy)
            tail.Instructions.Add(new Instruction(Opcode.StoreWord, null, [Sum(tail, Sum(tail, plan.Destination, Operand.Of(plan.DestinationOffset)), n), Operand.Of(-1), broadcast], null, location));
        var induction = plan.Induction;
        for (var i = 0; i < induction.Inputs.Count; i++)
            if (induction.Inputs[i].Predecessor == plan.Preheader) { induction.Inputs.RemoveAt(i); break; }
        foreach (var block in entering) induction.Inputs.Add(new PhiInput(block, k0));
        // (With no check the header would have no other way in: it stays the way out.)
        if (leaveDirectly && !plan.Copy && entering.Count > 0) tail.Terminator = new Jump(plan.Exit);
        else
        {
            tail.Terminator = new Jump(head);
            induction.Inputs.Add(new PhiInput(tail, resume));
        }
        return placed;
    }
}
