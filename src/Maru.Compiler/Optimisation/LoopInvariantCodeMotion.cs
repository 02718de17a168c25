using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Loop-invariant code motion over natural loops (a back edge t -> h where h dominates t; the body
/// is what reaches t without passing h). Each loop first gets a preheader: a block with the loop's
/// outside edges only, made when the existing outside predecessor is not one already. Then, inner
/// loops first, every pure computation whose operands are all defined outside the loop moves to
/// the end of the preheader; our arithmetic never traps, so moving it is safe even when the loop
/// runs zero times. Calls, stores and allocas never move. A read of memory moves only out of a
/// loop that writes none (no store, no call): there it reads the same value on every trip. A
/// global's read cannot fault and moves from anywhere in such a loop; a load through an address
/// could fault, so it moves only from a block the loop's first trip surely runs (see
/// <see cref="MarkFirstTrip"/>): where the original load would not run, the hoisted one must not.
/// Requires: SSA. Guarantees: every loop has a preheader; no invariant pure computation in a loop.
/// </summary>
internal static class LoopInvariantCodeMotion
{
    public static void Run(IrFunction function, ITargetCosts costs)
    {
        if (NaturalLoop.GraphWithLoops(function) is not { } graph) return;
        var loops = NaturalLoop.FindAll(graph);
        if (loops.Count == 0) return;
        var member = new int[function.Blocks.Count];
        var stamp = 0;
        var preheaders = new List<(BasicBlock Header, BasicBlock Preheader)>();
        foreach (var loop in loops)
        {
            loop.Mark(member, ++stamp);
            if (EnsurePreheader(graph, loop, member, stamp) is { } made) preheaders.Add((loop.Header, made));
        }
        if (preheaders.Count > 0)
        {
            BlockPlacement.InsertBefore(function, preheaders);
            graph = FlowGraph.Of(function);
            loops = NaturalLoop.FindAll(graph);
            member = new int[function.Blocks.Count];
            stamp = 0;
        }

        // Stamps (the loop's number) rather than cleared arrays: the work is the sum of the loop sizes.
        var definedInLoop = new int[function.RegisterCount];
        var kept = new List<Instruction>();
        int[]? firstTrip = null;   // stamps: blocks the loop's first trip surely runs
        var branchOnly = costs.BranchOnRegisterCostsAComparison ? OnlyReadByOwnBranch(function) : null;
        foreach (var loop in loops)   // innermost (smallest) first
        {
            loop.Mark(member, ++stamp);
            var preheader = loop.Preheader(graph, member, stamp);
            loop.MarkDefinitions(ref definedInLoop, function.RegisterCount, stamp);
            var readsMayMove = WritesNoMemory(loop);
            if (readsMayMove) MarkFirstTrip(loop, preheader, member, stamp, firstTrip ??= new int[member.Length]);
            foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            {
                kept.Clear();
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    var op = instruction.Op;
                    var movable = IsMovable(op)
                                  || (readsMayMove && (op == Opcode.LoadGlobal
                                                       || (op is Opcode.LoadWord or Opcode.LoadByte && firstTrip![block.Index] == stamp)));
                    if (movable && OperandsOutside(instruction, definedInLoop, stamp)
                        && !(branchOnly is not null && instruction.Op.IsComparison() && branchOnly[instruction.Destination!.Value.Index]))
                    {
                        preheader.Instructions.Add(instruction);
                        definedInLoop[instruction.Destination!.Value.Index] = 0;
                    }
                    else
                    {
                        kept.Add(instruction);
                    }
                }
                if (kept.Count != block.Instructions.Count)
                {
                    block.Instructions.Clear();
                    block.Instructions.AddRange(kept);
                }
            }
            HoistWideConstants(function, loop, preheader, costs);
        }
        if (branchOnly is not null) Scratch<bool>.Return(branchOnly);
    }

    /// <summary>Whether nothing in the loop writes memory: no store and no call (a callee may store).</summary>
    private static bool WritesNoMemory(NaturalLoop loop)
    {
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                if (instruction.Op.HasSideEffects()) return false;
        return true;
    }

    /// <summary>
    /// Stamps into <paramref name="firstTrip"/> the blocks every entry into the loop runs: from the
    /// header, the path of jumps and of branches decided on the first trip, whose condition is a
    /// constant once the header's phis take their values from the preheader (a counted loop from a
    /// constant start below a constant bound, a flag set before the loop), until the path leaves
    /// the loop, comes back to a block on it, or meets a branch it cannot decide. Nothing on the
    /// path can end the trip early: the loop has no call, and division is total. The work is the
    /// path's length.
    /// </summary>
    private static void MarkFirstTrip(NaturalLoop loop, BasicBlock preheader, int[] member, int stamp, int[] firstTrip)
    {
        var header = loop.Header;
        var block = header;
        while (true)
        {
            firstTrip[block.Index] = stamp;
            var next = block.Terminator switch
            {
                Jump jump => jump.Target,
                Branch branch when OnFirstTrip(branch.Condition, block, header, preheader) is { } value => value != 0 ? branch.IfTrue : branch.IfFalse,
                _ => null,
            };
            if (next is null || member[next.Index] != stamp || firstTrip[next.Index] == stamp) return;
            block = next;
        }
    }

    /// <summary>
    /// The constant <paramref name="operand"/> has on the loop's first trip in <paramref name="block"/>
    /// (a block on that trip's path), if it is one: a constant, a header phi's constant from the
    /// preheader, or a comparison or arithmetic of such computed in <paramref name="block"/> itself.
    /// </summary>
    private static long? OnFirstTrip(Operand operand, BasicBlock block, BasicBlock header, BasicBlock preheader, int depth = 0)
    {
        if (operand.IsConstant) return operand.Constant;
        var register = operand.Register;
        foreach (var phi in CollectionsMarshal.AsSpan(header.Phis))
            if (phi.Destination == register)
                return phi.ValueFrom(preheader) is { IsConstant: true } entry ? entry.Constant : null;
        if (depth == 2) return null;
        var instructions = block.Instructions;
        for (var i = instructions.Count - 1; i >= 0; i--)
        {
            var instruction = instructions[i];
            if (instruction.Destination != register) continue;
            if (!instruction.Op.IsBinary()) return null;
            return OnFirstTrip(instruction.Arguments[0], block, header, preheader, depth + 1) is { } a
                   && OnFirstTrip(instruction.Arguments[1], block, header, preheader, depth + 1) is { } b
                ? instruction.Op.Evaluate(a, b)
                : null;
        }
        return null;
    }

    /// <summary>
    /// A constant the target cannot take as an operand for free (x86-64: beyond a sign-extended
    /// imm32, a 10-byte <c>mov r, imm64</c>; AArch64: more than one movz/movn) costs instructions
    /// wherever an instruction uses it. Inside a loop, such operands of arithmetic, comparisons,
    /// loads and stores read a register instead, set once by <c>%k = copy C</c> at the end of the
    /// preheader (one per constant and loop; an enclosing loop then hoists that copy further out
    /// like any invariant). No copy propagation runs after this pass, so the register stays.
    /// </summary>
    private static void HoistWideConstants(IrFunction function, NaturalLoop loop, BasicBlock preheader, ITargetCosts costs)
    {
        Dictionary<long, VReg>? registers = null;
        foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
        {
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (!UsesConstantsFromRegisters(instruction.Op)) continue;
                var arguments = instruction.Arguments;
                for (var a = 0; a < arguments.Length; a++)
                {
                    if (!arguments[a].IsConstant || costs.IsCheapConstant(arguments[a].Constant)) continue;
                    registers ??= new Dictionary<long, VReg>();
                    var constant = arguments[a].Constant;
                    if (!registers.TryGetValue(constant, out var register))
                    {
                        register = function.NewRegister();
                        registers.Add(constant, register);
                        preheader.Instructions.Add(new Instruction(Opcode.Copy, register, [Operand.Of(constant)], null, instruction.Location));
                    }
                    arguments[a] = register;
                }
            }
        }
    }

    /// <summary>
    /// The registers (a rented array) whose only reader is the branch of the block that defines them (a comparison
    /// there fuses into cmp + jcc; see <see cref="ITargetCosts.BranchOnRegisterCostsAComparison"/>).
    /// </summary>
    private static bool[] OnlyReadByOwnBranch(IrFunction function)
    {
        var count = function.RegisterCount;
        var reads = Scratch<int>.Rent(count);
        var result = Scratch<bool>.Rent(count);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in CollectionsMarshal.AsSpan(phi.Inputs))
                    if (!input.Value.IsConstant) reads[input.Value.Register.Index]++;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                foreach (var argument in instruction.Arguments)
                    if (!argument.IsConstant) reads[argument.Register.Index]++;
            if (IrVerifier.TerminatorOperand(block.Terminator!) is { IsConstant: false } used) reads[used.Register.Index]++;
        }
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            if (block.Terminator is Branch { Condition: { IsConstant: false } condition } && reads[condition.Register.Index] == 1)
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                    if (instruction.Destination == condition.Register) result[condition.Register.Index] = true;
        Scratch<int>.Return(reads);
        return result;
    }

    private static bool UsesConstantsFromRegisters(Opcode op) =>
        op.IsBinary() || op is Opcode.LoadWord or Opcode.LoadByte or Opcode.StoreWord or Opcode.StoreByte;

    /// <summary>Pure, cannot fault, and not tied to the frame: arithmetic, comparisons and symbol addresses.</summary>
    private static bool IsMovable(Opcode op) =>
        op.IsBinary() || op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.Select
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;

    private static bool OperandsOutside(Instruction instruction, int[] definedInLoop, int stamp)
    {
        foreach (var argument in instruction.Arguments)
            if (!argument.IsConstant && definedInLoop[argument.Register.Index] == stamp) return false;
        return true;
    }

    /// <summary>Gives the loop a single outside predecessor that only jumps to the header; returns the new block (to be placed before the header), if one was made.</summary>
    private static BasicBlock? EnsurePreheader(FlowGraph graph, NaturalLoop loop, int[] member, int stamp)
    {
        var header = loop.Header;
        bool Inside(BasicBlock block) => member[block.Index] == stamp;
        var outside = new List<BasicBlock>();
        foreach (var predecessor in graph.Predecessors[header.Index])
            if (!Inside(predecessor)) outside.Add(predecessor);
        if (outside.Count == 1 && FlowGraph.SuccessorCount(outside[0]) == 1) return null;

        var function = graph.Function;
        var preheader = function.NewUnplacedBlock();
        preheader.Terminator = new Jump(header);
        foreach (var phi in CollectionsMarshal.AsSpan(header.Phis))
        {
            var incoming = phi.Inputs.Where(input => !Inside(input.Predecessor)).ToList();
            phi.Inputs.RemoveAll(input => !Inside(input.Predecessor));
            if (incoming.Count == 1)
            {
                phi.Inputs.Add(new PhiInput(preheader, incoming[0].Value));
                continue;
            }
            var merged = new Phi(function.NewRegister());
            merged.Inputs.AddRange(incoming);
            preheader.Phis.Add(merged);
            phi.Inputs.Add(new PhiInput(preheader, merged.Destination));
        }
        foreach (var predecessor in outside)
            predecessor.Terminator = FlowGraph.Retarget(predecessor.Terminator!, header, preheader);
        return preheader;
    }
}
