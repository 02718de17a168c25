using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Orders the blocks for the backend, which emits them in list order and lets a jump to the next
/// block fall through. Greedy chains from the entry: after a block comes its jump target; after a
/// branch, the successor that stays in the block's innermost loop when the other leaves it (a
/// loop exit is taken once, staying is taken every iteration: the exit becomes the jump), else
/// the successor the branch's test makes likely (<see cref="Likely"/>: an equality is usually
/// false, a value usually non-zero, a sign test usually finds it not negative, as gcc's opcode
/// heuristics predict: a recursive function's base case `(= n 0)` is the jump and its recursion
/// falls through), else the successor that followed it before (else its false successor), when not yet placed;
/// otherwise the first unplaced block of the previous order starts a new chain. So a rotated
/// loop's body is followed by its bottom test, each if's arm follows its test, and a loop whose
/// test sits in the middle runs one taken branch per iteration, not two.
/// Requires: Plain form. Guarantees: the same blocks, entry first.
/// </summary>
internal static class BlockLayout
{
    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count <= 2) return;
        var loops = LoopNest.Of(function);   // numbers blocks by their place in the list, as below
        var count = blocks.Count;
        var predictions = Predictions(function);
        var original = Scratch<BasicBlock>.Rent(count);
        for (var i = 0; i < count; i++)
        {
            original[i] = blocks[i];
            blocks[i].Index = i;   // the position in the previous order
        }
        var placed = Scratch<bool>.Rent(count);
        var scan = 0;
        var current = original[0];
        blocks.Clear();
        while (true)
        {
            placed[current.Index] = true;
            blocks.Add(current);
            var next = Preferred(current, placed, original, count, loops, predictions);
            if (next is null)
            {
                while (scan < count && placed[scan]) scan++;
                if (scan == count) break;
                next = original[scan];
            }
            current = next;
        }
        Array.Clear(original, 0, count);
        Scratch<BasicBlock>.Return(original);
        Scratch<bool>.Return(placed);
        Scratch<byte>.Return(predictions);
        loops.Return();
    }

    // What a register's definitions say of its value when a branch tests it: a byte per register,
    // these bits or'd over its definitions and the registers it is copied from.
    private const byte NonZero = 1, Zero = 2;

    /// <summary>
    /// gcc's opcode heuristics (and Ball and Larus's) for the registers a branch may test, merged
    /// over each register's definitions: an equality is usually false (a value is one of many), an
    /// inequality true; a parameter, a sum or difference or a non-zero constant is usually
    /// non-zero (a count not yet zero: `(if (= n 0) base (recurse))`), a logical not or the
    /// constant 0 usually zero; a value is usually not negative. A copy brings what its source
    /// says (so the copies SSA destruction made of a phi merge its inputs), and a flag set to 0 in
    /// one place and 1 in another says nothing, as do values both ways. Loaded values and call
    /// results, bit tests and order comparisons between two values say nothing of their own (no
    /// types: a word in memory is as often a flag as a pointer).
    /// </summary>
    private static byte[] Predictions(IrFunction function)
    {
        var registers = function.RegisterCount;
        var predictions = Scratch<byte>.Rent(registers);
        var written = Scratch<bool>.Rent(registers);
        var copies = 0;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Destination is { } d)
                {
                    written[d.Index] = true;
                    if (instruction is { Op: Opcode.Copy, Arguments: [{ IsConstant: false }] }) copies++;
                    else predictions[d.Index] |= Prediction(instruction);
                }
        for (var p = 0; p < function.ParameterCount; p++)
            if (!written[p]) predictions[p] = NonZero;
        Scratch<bool>.Return(written);
        // What copies bring: a few rounds over the copies between registers (each round passes every
        // fact one copy further, in block order; a longer chain against that order stays partial).
        for (var round = 0; round < 4 && copies > 0; round++)
        {
            var changed = false;
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction is { Op: Opcode.Copy, Destination: { } d, Arguments: [{ IsConstant: false } source] })
                    {
                        var merged = (byte)(predictions[d.Index] | predictions[source.Register.Index]);
                        if (merged == predictions[d.Index]) continue;
                        predictions[d.Index] = merged;
                        changed = true;
                    }
            if (!changed) break;
        }
        return predictions;
    }

    private static byte Prediction(Instruction test) => test switch
    {
        { Op: Opcode.Copy, Arguments: [{ IsConstant: true, Constant: var k }] } => k == 0 ? Zero : NonZero,
        { Op: Opcode.Equal or Opcode.LogicalNot } => Zero,
        { Op: Opcode.NotEqual } => NonZero,
        { Op: Opcode.Less or Opcode.LessOrEqual, Arguments: [_, { IsConstant: true, Constant: 0 }] } => Zero,
        { Op: Opcode.Greater or Opcode.GreaterOrEqual, Arguments: [_, { IsConstant: true, Constant: 0 }] } => NonZero,
        { Op: Opcode.Greater or Opcode.GreaterOrEqual, Arguments: [{ IsConstant: true, Constant: 0 }, _] } => Zero,
        { Op: Opcode.Less or Opcode.LessOrEqual, Arguments: [{ IsConstant: true, Constant: 0 }, _] } => NonZero,
        { Op: Opcode.Add or Opcode.Subtract } => NonZero,
        _ => 0,
    };

    /// <summary>The successor <see cref="Predictions"/> makes likely, or null when they say nothing or disagree.</summary>
    private static BasicBlock? Likely(Branch branch, byte[] predictions)
    {
        if (branch.Condition.IsConstant || branch.IfTrue == branch.IfFalse) return null;
        return predictions[branch.Condition.Register.Index] switch
        {
            NonZero => branch.IfTrue,
            Zero => branch.IfFalse,
            _ => null,
        };
    }

    private static BasicBlock? Preferred(BasicBlock block, bool[] placed, BasicBlock[] original, int count, LoopNest loops, byte[] predictions)
    {
        switch (block.Terminator)
        {
            case Jump { Target: var target } when !placed[target.Index]:
                return target;
            case Branch branch:
            {
                if (loops.Staying(block, branch) is { } staying && !placed[staying.Index]) return staying;
                if (Likely(branch, predictions) is { } likely && !placed[likely.Index]) return likely;
                var after = block.Index + 1 < count ? original[block.Index + 1] : null;
                if (after is not null && (after == branch.IfTrue || after == branch.IfFalse) && !placed[after.Index]) return after;
                if (!placed[branch.IfFalse.Index]) return branch.IfFalse;
                if (!placed[branch.IfTrue.Index]) return branch.IfTrue;
                return null;
            }
            default:
                return null;
        }
    }
}
