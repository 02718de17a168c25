using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Inlining of small functions of the module at their direct call sites. The caller's block is
/// split at the call; the callee's blocks are cloned in between with fresh registers; each
/// argument is copied into the clone of its parameter; each return becomes a copy into the call's
/// destination and a jump to the continuation; the callee's allocas move to the caller's entry.
/// The pipeline visits callees before callers (<see cref="CallGraph.BottomUp"/>), so a callee's
/// body is already optimised (and its size known) when it is copied. A function in a call-graph
/// cycle is inlined only into another member of its cycle (strongly connected component), and
/// only once it has been through the pipeline itself: the members of a component are visited in
/// an order that puts each one's callees first as far as the cycle allows (<see cref="CallGraph"/>),
/// so the last member visited absorbs the small ones it calls, and the calls to itself their
/// bodies bring along become self calls, which the second tail-call pass makes a loop (is_even
/// with is_odd inlined is one loop taking two steps per iteration, as gcc does). A small function
/// calling itself gets copies of its own body at those calls, a few levels deep within a size cap (<see cref="InlineSelf"/>).
/// Termination and size: every copied body is an already finished function, never scanned again
/// for calls (each call site is inlined at most once), callers stop growing at <see cref="MaxCallerSize"/>,
/// and a body that is itself the product of <see cref="MaxDepth"/> levels of inlining is not inlined again.
/// Requires: Plain form in caller and callees. Guarantees: Plain form; no call to an inlinable callee.
/// </summary>
internal static class Inlining
{
    /// <summary>Largest callee, in instructions, worth copying to a call site.</summary>
    public const int MaxCalleeSize = 40;

    /// <summary>A caller stops growing past this many instructions.</summary>
    public const int MaxCallerSize = 2000;

    public const int MaxDepth = 3;

    /// <summary>A self-recursive function inlined into itself stops taking further levels past this many instructions.</summary>
    public const int MaxSelfInlinedSize = 160;

    /// <summary>
    /// How many levels of itself a self-recursive function takes. Deeper levels saved instructions
    /// (ack, trib) but made the warm compile of a recursive fib 3-4x slower (the run-time API's
    /// source-to-call went from under 300 µs to 900-1,200 µs), so they stay off until they can be
    /// given a compile-time budget.
    /// </summary>
    public const int MaxSelfInlineLevels = 1;

    public static void Run(IrFunction caller, CallGraph calls)
    {
        var depth = 0;
        InlineSelf(caller);
        var size = Size(caller);
        for (var b = 0; b < caller.Blocks.Count; b++)
        {
            var block = caller.Blocks[b];
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var call = block.Instructions[i];
                if (call.Op != Opcode.Call || calls.Function(call.Symbol!) is not { } callee) continue;
                if (callee == caller || calls.InlineDepth(callee) >= MaxDepth) continue;
                // A cycle member goes only into its own cycle, and only once finished (optimised, its size known).
                if (calls.IsRecursive(callee) && !(calls.SameComponent(caller, callee) && calls.IsOptimised(callee))) continue;
                var calleeSize = Size(callee);
                if (calleeSize > MaxCalleeSize || size + calleeSize > MaxCallerSize) continue;
                if (call.Arguments.Length != callee.ParameterCount) continue;

                InlineAt(caller, b, i, callee);
                size += calleeSize;
                depth = Math.Max(depth, calls.InlineDepth(callee) + 1);
                // Carry on after the call (the continuation, placed after the clones): the cloned body is not scanned again.
                b += callee.Blocks.Count;
                break;
            }
        }
        calls.SetInlineDepth(caller, depth);
    }

    /// <summary>
    /// A small function that still calls itself (what tail-call and accumulator elimination left)
    /// gets copies of its own body at those call sites, as gcc's recursive inlining does: one level
    /// always, then further levels (each a copy at every self call the last level brought) while the
    /// function stays within <see cref="MaxSelfInlinedSize"/> and <see cref="MaxSelfInlineLevels"/>. Every call that remains then does several
    /// levels of the recursion, so fewer calls, prologues and epilogues run, and the copies specialise
    /// (the callee's tests of constants the caller passed fold). The cap bounds code size and compile
    /// time: a body with several self calls (fib-like) multiplies its calls each level and stops sooner.
    /// </summary>
    private static void InlineSelf(IrFunction function)
    {
        var calleeSize = Size(function);
        if (calleeSize > MaxCalleeSize) return;
        var selfCalls = 0;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Op == Opcode.Alloca) return;   // frame blocks: leave the frame as it is
                if (IsSelfCall(function, instruction)) selfCalls++;
            }
        if (selfCalls == 0) return;
        var snapshot = Snapshot(function);
        calleeSize = Size(function, countCopies: false);   // not yet optimised: copy propagation removes most of its copies
        var size = calleeSize;
        for (var level = 0; selfCalls > 0 && level < MaxSelfInlineLevels && (level == 0 || size + selfCalls * calleeSize <= MaxSelfInlinedSize); level++)
        {
            size += selfCalls * calleeSize;
            selfCalls = 0;
            for (var b = 0; b < function.Blocks.Count; b++)
            {
                var block = function.Blocks[b];
                for (var i = 0; i < block.Instructions.Count; i++)
                {
                    if (!IsSelfCall(function, block.Instructions[i])) continue;
                    InlineAt(function, b, i, snapshot);
                    var copyStart = b + 1;
                    b += snapshot.Blocks.Count;   // the continuation comes next; the copy is not scanned this level: counted for the next
                    for (var c = copyStart; c <= b; c++)
                        foreach (var instruction in CollectionsMarshal.AsSpan(function.Blocks[c].Instructions))
                            if (IsSelfCall(function, instruction)) selfCalls++;
                    break;
                }
            }
        }
    }

    private static bool IsSelfCall(IrFunction function, Instruction instruction) =>
        instruction.Op == Opcode.Call && instruction.Symbol == function.Name && instruction.Arguments.Length == function.ParameterCount;

    /// <summary>A detached copy of a Plain-form function (same registers), the body inlined into itself.</summary>
    private static IrFunction Snapshot(IrFunction function)
    {
        var copy = new IrFunction(function.Name, function.ParameterCount, function.Location);
        while (copy.RegisterCount < function.RegisterCount) copy.NewRegister();
        var blocks = new Dictionary<BasicBlock, BasicBlock>();
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks)) blocks[block] = copy.NewBlock();
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            var clone = blocks[block];
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
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

    private static int Size(IrFunction function, bool countCopies = true)
    {
        var size = 0;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            size += block.Instructions.Count + 1;
            if (!countCopies)
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction.Op == Opcode.Copy) size--;
        }
        return size;
    }

    /// <summary>
    /// Replaces the call at <paramref name="index"/> of the caller's block at <paramref name="position"/> with the
    /// callee's body: its clones are placed right after the block, the continuation (the rest of the block) after them.
    /// </summary>
    private static void InlineAt(IrFunction caller, int position, int index, IrFunction callee)
    {
        var block = caller.Blocks[position];
        var call = block.Instructions[index];
        var continuation = caller.NewUnplacedBlock();
        continuation.Instructions.AddRange(CollectionsMarshal.AsSpan(block.Instructions)[(index + 1)..]);   // (one copy, the list sized once)
        continuation.Terminator = block.Terminator;
        block.Instructions.RemoveRange(index, block.Instructions.Count - index);

        var registers = Scratch<VReg?>.Rent(callee.RegisterCount);
        VReg Map(VReg register) => registers[register.Index] ??= caller.NewRegister();
        Operand MapOperand(Operand operand) => operand.IsConstant ? operand : Map(operand.Register);

        for (var p = 0; p < callee.ParameterCount; p++)
            block.Instructions.Add(new Instruction(Opcode.Copy, Map(callee.Parameter(p)), [call.Arguments[p]], null, call.Location));

        // Clones by the callee's block positions (a finished function: nothing holds its numbering;
        // a dictionary per call site was a good part of this pass's garbage).
        var clones = new BasicBlock[callee.Blocks.Count + 1];   // and the continuation last: the blocks placed after the call's
        for (var i = 0; i < callee.Blocks.Count; i++)
        {
            // A finished callee's blocks are numbered already (PassPipeline), and other threads may be
            // copying it: write only a number that is wrong (the self copies of InlineSelf).
            if (callee.Blocks[i].Index != i) callee.Blocks[i].Index = i;
            clones[i] = caller.NewUnplacedBlock();
        }
        clones[^1] = continuation;
        var entry = caller.Blocks[0];
        var allocas = entry.Instructions.FindIndex(i => i.Op != Opcode.Alloca);
        if (allocas < 0) allocas = entry.Instructions.Count;
        foreach (var original in CollectionsMarshal.AsSpan(callee.Blocks))
        {
            var clone = clones[original.Index];
            // Sized once to what growing by Add would end with (its instructions and a return's copy): no arrays of 4, 8, 16... on the way.
            var length = original.Instructions.Count + (original.Terminator is Return && call.Destination is not null ? 1 : 0);
            if (length > 0) clone.Instructions.Capacity = Math.Max(4, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length));
            foreach (var instruction in CollectionsMarshal.AsSpan(original.Instructions))
            {
                var arguments = new Operand[instruction.Arguments.Length];
                for (var a = 0; a < arguments.Length; a++) arguments[a] = MapOperand(instruction.Arguments[a]);
                var copy = new Instruction(instruction.Op,
                    instruction.Destination is { } d ? Map(d) : null,
                    arguments,
                    instruction.Symbol, instruction.Location) { FixedArguments = instruction.FixedArguments };
                if (copy.Op == Opcode.Alloca) entry.Instructions.Insert(allocas++, copy);
                else clone.Instructions.Add(copy);
            }
            clone.Terminator = original.Terminator switch
            {
                Jump jump => new Jump(clones[jump.Target.Index]),
                Branch branch => new Branch(MapOperand(branch.Condition), clones[branch.IfTrue.Index], clones[branch.IfFalse.Index]),
                Return ret => ReturnTo(continuation, clone, call, MapOperand(ret.Value)),
                _ => throw new InvalidOperationException("unterminated block in an inlined function"),
            };
        }
        block.Terminator = new Jump(clones[0]);

        caller.Blocks.InsertRange(position + 1, clones);
        Scratch<VReg?>.Return(registers);
    }

    private static Jump ReturnTo(BasicBlock continuation, BasicBlock clone, Instruction call, Operand value)
    {
        if (call.Destination is { } destination)
            clone.Instructions.Add(new Instruction(Opcode.Copy, destination, [value], null, call.Location));
        return new Jump(continuation);
    }
}
