using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Loop-invariant code motion over natural loops (a back edge t -> h where h dominates t; the body
/// is what reaches t without passing h). Each loop first gets a preheader: a block with the loop's
/// outside edges only, made when the existing outside predecessor is not one already. Then, inner
/// loops first, every pure computation whose operands are all defined outside the loop moves to
/// the end of the preheader. Memory reads, calls, stores and allocas never move (a load hoisted
/// out of a loop that does not run could fault); our arithmetic never traps, so moving it is safe
/// even when the loop runs zero times.
/// Requires: SSA. Guarantees: every loop has a preheader; no invariant pure computation in a loop.
/// </summary>
internal static class LoopInvariantCodeMotion
{
    private sealed record Loop(BasicBlock Header, bool[] Body, int Size);

    public static void Run(IrFunction function, ITargetCosts costs)
    {
        var graph = new FlowGraph(function);
        var loops = FindLoops(graph);
        if (loops.Count == 0) return;
        var added = false;
        foreach (var loop in loops) added |= EnsurePreheader(graph, loop);
        if (added)
        {
            graph = new FlowGraph(function);
            loops = FindLoops(graph);
        }

        var definedInLoop = new bool[function.RegisterCount];
        var kept = new List<Instruction>();
        foreach (var loop in loops)   // innermost (smallest) first
        {
            var preheader = Preheader(graph, loop);
            if (definedInLoop.Length < function.RegisterCount) definedInLoop = new bool[function.RegisterCount];   // hoisted constants added registers
            else Array.Clear(definedInLoop);
            foreach (var block in function.Blocks)
            {
                if (!loop.Body[block.Index]) continue;
                foreach (var phi in block.Phis) definedInLoop[phi.Destination.Index] = true;
                foreach (var instruction in block.Instructions)
                    if (instruction.Destination is { } d) definedInLoop[d.Index] = true;
            }
            foreach (var block in graph.ReversePostorder)
            {
                if (!loop.Body[block.Index]) continue;
                kept.Clear();
                foreach (var instruction in block.Instructions)
                {
                    if (IsMovable(instruction.Op) && OperandsOutside(instruction, definedInLoop))
                    {
                        preheader.Instructions.Add(instruction);
                        definedInLoop[instruction.Destination!.Value.Index] = false;
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
            HoistWideConstants(function, graph, loop, preheader, costs);
        }
    }

    /// <summary>
    /// A constant the target cannot take as an operand for free (x86-64: beyond a sign-extended
    /// imm32, a 10-byte <c>mov r, imm64</c>; AArch64: more than one movz/movn) costs instructions
    /// wherever an instruction uses it. Inside a loop, such operands of arithmetic, comparisons,
    /// loads and stores read a register instead, set once by <c>%k = copy C</c> at the end of the
    /// preheader (one per constant and loop; an enclosing loop then hoists that copy further out
    /// like any invariant). No copy propagation runs after this pass, so the register stays.
    /// </summary>
    private static void HoistWideConstants(IrFunction function, FlowGraph graph, Loop loop, BasicBlock preheader, ITargetCosts costs)
    {
        Dictionary<long, VReg>? registers = null;
        foreach (var block in graph.ReversePostorder)
        {
            if (!loop.Body[block.Index]) continue;
            foreach (var instruction in block.Instructions)
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

    private static bool UsesConstantsFromRegisters(Opcode op) =>
        op.IsBinary() || op is Opcode.LoadWord or Opcode.LoadByte or Opcode.StoreWord or Opcode.StoreByte;

    /// <summary>Pure, cannot fault, and not tied to the frame: arithmetic, comparisons and symbol addresses.</summary>
    private static bool IsMovable(Opcode op) =>
        op.IsBinary() || op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;

    private static bool OperandsOutside(Instruction instruction, bool[] definedInLoop)
    {
        foreach (var argument in instruction.Arguments)
            if (!argument.IsConstant && definedInLoop[argument.Register.Index]) return false;
        return true;
    }

    /// <summary>Natural loops, one per header (back edges to one header share a loop), smallest first.</summary>
    private static List<Loop> FindLoops(FlowGraph graph)
    {
        var blocks = graph.Function.Blocks;
        var loops = new List<Loop>();
        var work = new Stack<BasicBlock>();
        foreach (var header in blocks)
        {
            bool[]? body = null;
            var size = 0;
            foreach (var latch in graph.Predecessors[header.Index])
            {
                if (!graph.Dominates(header, latch)) continue;
                if (body is null)
                {
                    body = new bool[blocks.Count];
                    body[header.Index] = true;
                    size = 1;
                }
                if (body[latch.Index]) continue;
                body[latch.Index] = true;
                size++;
                work.Push(latch);
                while (work.Count > 0)
                    foreach (var predecessor in graph.Predecessors[work.Pop().Index])
                        if (!body[predecessor.Index])
                        {
                            body[predecessor.Index] = true;
                            size++;
                            work.Push(predecessor);
                        }
            }
            if (body is not null) loops.Add(new Loop(header, body, size));
        }
        // Stable: equal sizes keep block order, so the result is deterministic.
        return loops.OrderBy(loop => loop.Size).ToList();
    }

    private static BasicBlock Preheader(FlowGraph graph, Loop loop)
    {
        foreach (var predecessor in graph.Predecessors[loop.Header.Index])
            if (!loop.Body[predecessor.Index]) return predecessor;
        throw new InvalidOperationException("a natural loop without an entry edge");
    }

    /// <summary>Gives the loop a single outside predecessor that only jumps to the header; true when one was made.</summary>
    private static bool EnsurePreheader(FlowGraph graph, Loop loop)
    {
        var header = loop.Header;
        var outside = graph.Predecessors[header.Index].Where(p => !loop.Body[p.Index]).ToList();
        if (outside.Count == 1 && FlowGraph.SuccessorCount(outside[0]) == 1) return false;

        var function = graph.Function;
        var preheader = function.NewUnplacedBlock();
        preheader.Terminator = new Jump(header);
        foreach (var phi in header.Phis)
        {
            var incoming = phi.Inputs.Where(input => !loop.Body[input.Predecessor.Index]).ToList();
            phi.Inputs.RemoveAll(input => !loop.Body[input.Predecessor.Index]);
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
        function.Blocks.Insert(function.Blocks.IndexOf(header), preheader);
        return true;
    }
}
