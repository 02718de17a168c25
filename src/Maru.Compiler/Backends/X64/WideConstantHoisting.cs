using Maru.Compiler.Ir;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Before O1 allocation: a 64-bit constant that does not fit a sign-extended imm32 costs a
/// <c>mov r, imm64</c> into a scratch register wherever an instruction reads it. Inside a loop
/// that is on every iteration. Such a constant read in a loop instead gets a virtual register
/// defined on every edge entering the loop (at the end of the block the edge leaves), so the
/// allocator keeps it in a register across the loop, or spills it like any other value when
/// registers are short.
/// <para>
/// Loops are spans of the layout: a back edge (to the same or an earlier block) encloses the
/// blocks between, and overlapping spans merge, so the definition sits outside the outermost
/// loop. Every path from the entry to a block of the span enters it through one of the edges
/// that get a definition, which makes the rewrite sound for any control flow; a span that holds
/// the entry block is left alone. Operands whose constancy the emitter exploits stay constants:
/// shift counts, divisors (no zero / -1 check is needed for them), stored bytes, frame sizes,
/// and the source of a plain copy (a <c>mov r, imm64</c> costs no more than the register copy
/// that would replace it, and frees a register).
/// </para>
/// The input function is not modified: when something is hoisted the result is a copy sharing
/// the untouched instructions.
/// </summary>
internal static class WideConstantHoisting
{
    public static IrFunction Apply(IrFunction function)
    {
        var blocks = function.Blocks;
        var count = blocks.Count;
        var position = new Dictionary<BasicBlock, int>(count);
        for (var b = 0; b < count; b++) position.Add(blocks[b], b);

        // Spans of merged back-edge intervals: spanOf[b] = index of the span holding block b, or -1.
        var spanEnd = new int[count];
        for (var b = 0; b < count; b++) spanEnd[b] = -1;
        var hasLoop = false;
        for (var b = 0; b < count; b++)
            foreach (var s in blocks[b].Successors)
            {
                var target = position[s];
                if (target > b) continue;
                spanEnd[target] = Math.Max(spanEnd[target], b);
                hasLoop = true;
            }
        if (!hasLoop) return function;
        var spanOf = new int[count];
        var spanStarts = new List<int>();
        for (int b = 0, end = -1; b < count; b++)
        {
            if (b > end && spanEnd[b] >= 0) spanStarts.Add(b);
            if (spanEnd[b] > end) end = spanEnd[b];
            spanOf[b] = b <= end ? spanStarts.Count - 1 : -1;
        }

        // The wide constants read in each span.
        Dictionary<(int Span, long Constant), VReg>? hoisted = null;
        var nextRegister = function.RegisterCount;
        for (var b = 0; b < count; b++)
        {
            var span = spanOf[b];
            if (span < 0 || spanStarts[span] == 0) continue;
            foreach (var instruction in blocks[b].Instructions)
                for (var a = 0; a < instruction.Arguments.Length; a++)
                    if (IsHoistable(instruction, a))
                    {
                        hoisted ??= new();
                        var key = (span, instruction.Arguments[a].Constant);
                        if (!hoisted.ContainsKey(key)) hoisted.Add(key, new VReg(nextRegister++));
                    }
        }
        if (hoisted is null) return function;

        var copy = new IrFunction(function.Name, function.ParameterCount, function.Location);
        copy.ResetRegisterCount(nextRegister);
        var map = new Dictionary<BasicBlock, BasicBlock>(count);
        foreach (var block in blocks)
        {
            var clone = new BasicBlock(block.Id);
            map.Add(block, clone);
            copy.Blocks.Add(clone);
        }
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            var clone = map[block];
            var span = spanOf[b];
            foreach (var instruction in block.Instructions)
            {
                var rewritten = instruction;
                if (span >= 0)
                    for (var a = 0; a < instruction.Arguments.Length; a++)
                    {
                        if (!IsHoistable(instruction, a) || !hoisted.TryGetValue((span, instruction.Arguments[a].Constant), out var register)) continue;
                        if (ReferenceEquals(rewritten, instruction))
                            rewritten = new Instruction(instruction.Op, instruction.Destination, (Operand[])instruction.Arguments.Clone(), instruction.Symbol, instruction.Location);
                        rewritten.Arguments[a] = register;
                    }
                clone.Instructions.Add(rewritten);
            }
            clone.Terminator = block.Terminator switch
            {
                Jump jump => new Jump(map[jump.Target]),
                Branch branch => new Branch(branch.Condition, map[branch.IfTrue], map[branch.IfFalse]),
                var other => other,
            };

            // Definitions at the end of each block with an edge into another span (before a
            // comparison feeding the branch, so the two stay adjacent and fuse).
            List<int>? entered = null;
            foreach (var successor in block.Successors)
            {
                var target = spanOf[position[successor]];
                if (target >= 0 && target != span && !(entered?.Contains(target) ?? false)) (entered ??= new()).Add(target);
            }
            if (entered is null) continue;
            var at = clone.Instructions.Count;
            if (at > 0 && block.Terminator is Branch { Condition.IsConstant: false } condition && clone.Instructions[^1].Destination == condition.Condition.Register)
                at--;
            foreach (var ((target, constant), register) in hoisted)
                if (entered.Contains(target))
                    clone.Instructions.Insert(at++, new Instruction(Opcode.Copy, register, [Operand.Of(constant)], null, function.Location));
        }
        return copy;
    }

    private static bool IsHoistable(Instruction instruction, int argument)
    {
        var operand = instruction.Arguments[argument];
        if (!operand.IsConstant || operand.Constant is >= int.MinValue and <= int.MaxValue) return false;
        return instruction.Op switch
        {
            Opcode.Copy or Opcode.Alloca => false,
            Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.Divide or Opcode.Remainder => argument == 0,
            Opcode.StoreByte => argument != 2,
            _ => true,
        };
    }
}
