using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Self tail calls become loops: when a function returns the result of calling itself, the call
/// is replaced by assigning the arguments to the parameters (through temporaries, since each may
/// read the others) and jumping back to a loop header placed just after the entry's allocas. So
/// a tail-recursive function runs in constant stack. A call counts as a tail call when only copies
/// follow it up to a return of its value, possibly through jumps to blocks of copies that return
/// (those are duplicated into the calling block first). Functions with frame blocks (address-of)
/// are left alone: a new activation would need fresh frame blocks while old addresses may live on.
/// Requires: Plain form. Guarantees: no self call whose value is returned directly.
/// </summary>
internal static class TailCalls
{
    private const int MaxDuplicatedBlocks = 8;

    public static void Run(IrFunction function)
    {
        var entry = function.Blocks[0];
        if (entry.Instructions.Exists(i => i.Op == Opcode.Alloca)) return;
        if (!function.Blocks.Exists(b => b.Instructions.Exists(i => IsSelfCall(function, i)))) return;

        BasicBlock? header = null;
        foreach (var block in function.Blocks.ToArray())
        {
            var call = block.Instructions.FindLastIndex(i => IsSelfCall(function, i));
            if (call < 0 || !OnlyCopiesAfter(block, call)) continue;
            InlineReturnPath(block);
            if (!ReturnsResultOf(block, call)) continue;

            header ??= SplitEntry(function);
            var target = block == entry ? header : block;   // the entry's code moved to the header
            if (target != block) call = target.Instructions.FindLastIndex(i => IsSelfCall(function, i));
            var arguments = target.Instructions[call].Arguments;
            var location = target.Instructions[call].Location;
            target.Instructions.RemoveRange(call, target.Instructions.Count - call);
            var temporaries = new Operand[arguments.Length];
            for (var i = 0; i < arguments.Length; i++)
            {
                if (arguments[i].IsConstant)
                {
                    temporaries[i] = arguments[i];
                    continue;
                }
                var temporary = function.NewRegister();
                target.Instructions.Add(new Instruction(Opcode.Copy, temporary, [arguments[i]], null, location));
                temporaries[i] = temporary;
            }
            for (var i = 0; i < arguments.Length; i++)
                target.Instructions.Add(new Instruction(Opcode.Copy, function.Parameter(i), [temporaries[i]], null, location));
            target.Terminator = new Jump(header);
        }
    }

    private static bool IsSelfCall(IrFunction function, Instruction instruction) =>
        instruction.Op == Opcode.Call && instruction.Symbol == function.Name && instruction.Arguments.Length == function.ParameterCount;

    private static bool OnlyCopiesAfter(BasicBlock block, int index)
    {
        for (var i = index + 1; i < block.Instructions.Count; i++)
            if (block.Instructions[i].Op != Opcode.Copy) return false;
        return true;
    }

    /// <summary>While the block jumps to a block of copies that returns (or jumps on to one), takes those copies and the return over.</summary>
    private static void InlineReturnPath(BasicBlock block)
    {
        var path = new List<BasicBlock>();
        var at = block.Terminator;
        while (at is Jump { Target: var next } && path.Count < MaxDuplicatedBlocks && next != block && !path.Contains(next)
               && next.Instructions.TrueForAll(i => i.Op == Opcode.Copy))
        {
            path.Add(next);
            at = next.Terminator;
        }
        if (at is not Return) return;
        foreach (var next in path)
            foreach (var copy in next.Instructions)
                block.Instructions.Add(new Instruction(Opcode.Copy, copy.Destination, [.. copy.Arguments], null, copy.Location));
        block.Terminator = at;
    }

    /// <summary>Does the block return exactly the value of the call at <paramref name="call"/> (through the copies after it)?</summary>
    private static bool ReturnsResultOf(BasicBlock block, int call)
    {
        if (block.Terminator is not Return { Value: { IsConstant: false } returned }) return false;
        var value = returned.Register;
        for (var i = block.Instructions.Count - 1; i > call; i--)
        {
            var instruction = block.Instructions[i];
            if (instruction.Destination != value) continue;
            if (instruction.Arguments[0].IsConstant) return false;
            value = instruction.Arguments[0].Register;
        }
        return block.Instructions[call].Destination == value;
    }

    /// <summary>Moves the entry's code into a new loop header right after it; the entry keeps only its allocas (none here).</summary>
    private static BasicBlock SplitEntry(IrFunction function)
    {
        var entry = function.Blocks[0];
        var header = function.NewUnplacedBlock();
        header.Instructions.AddRange(entry.Instructions);
        header.Terminator = entry.Terminator;
        entry.Instructions.Clear();
        entry.Terminator = new Jump(header);
        function.Blocks.Insert(1, header);
        return header;
    }
}
