using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Reassociation of loop addresses: a memory access <c>loadw a, (add p, k)</c> in a loop, with the
/// base <c>a</c> and the addend <c>p</c> invariant and <c>k</c> varying, reads the same word as
/// <c>loadw a', k</c> with <c>a' = a + 8*p</c> computed once in the preheader (exact in wrapping
/// arithmetic: the address is a + 8p + 8k mod 2^64 either way). The index addition leaves the loop
/// and the access becomes one instruction with a scaled-index address (x86 <c>[a' + k*8]</c>,
/// AArch64 <c>[a', k, lsl #3]</c>). This is what a row-major <c>(+ (* i n) k)</c> index costs gcc
/// nothing for. A chain of invariant addends and subtrahends (<c>(- (+ i w) 1)</c>, <c>(- i w)</c>) is
/// peeled to its one varying operand, at least one of them a register (a constant offset alone,
/// <c>(+ k 1)</c>, would make a base register per offset); byte accesses scale by 1. The chain's
/// constant stays on the index where the target takes it as a displacement (AddressFolding then
/// folds it), so a stencil's <c>a[i-w-1] a[i-w] a[i-w+1]</c> share one base; elsewhere it goes into
/// the base. Bases and their partial sums are made once per loop.
/// Only where it pays: every use of the index is such an access (otherwise the addition stays and
/// the new base is one more register live through the loop), and a loop gets at most
/// <see cref="MaxBasesPerLoop"/> new bases (each is a register). Indexes are taken newest first, so
/// an index whose only other uses were longer chains (<c>i-w</c> under <c>i-w-1</c>) is free by its turn.
/// Requires: SSA and preheaders (after LICM and induction variables). Guarantees: the same
/// memory accesses at the same addresses, in the same order.
/// </summary>
internal static class LoopAddressing
{
    private const int MaxBasesPerLoop = 4;
    private const int MaxChain = 4;

    public static void Run(IrFunction function, ITargetCosts costs)
    {
        if (Reassociate(function, costs))
            LoopInvariantCodeMotion.Run(function, costs);   // a new base of an inner loop is often invariant in the outer one too
    }

    private static bool Reassociate(IrFunction function, ITargetCosts costs)
    {
        var graph = FlowGraph.Of(function);
        var loops = NaturalLoop.FindAll(graph);
        if (loops.Count == 0) return false;

        var definition = new Instruction?[function.RegisterCount];
        var uses = new int[function.RegisterCount];
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                foreach (var input in phi.Inputs) Use(uses, input.Value);
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Destination is { } d) definition[d.Index] = instruction;
                foreach (var argument in instruction.Arguments) Use(uses, argument);
            }
            switch (block.Terminator)
            {
                case Branch branch: Use(uses, branch.Condition); break;
                case Return ret: Use(uses, ret.Value); break;
            }
        }

        var member = new int[function.Blocks.Count];
        var definedInLoop = new int[function.RegisterCount];
        var dead = new HashSet<Instruction>();
        var inserted = new Dictionary<Instruction, Instruction>();   // access -> the index addition placed before it
        var changed = false;
        var stamp = 0;
        foreach (var loop in loops)   // innermost (smallest) first
        {
            loop.Mark(member, ++stamp);
            loop.MarkDefinitions(ref definedInLoop, function.RegisterCount, stamp);
            bool Invariant(Operand operand) => operand.IsConstant || definedInLoop[operand.Register.Index] != stamp;

            // The accesses whose index is an addition in this loop and whose base is invariant, by index.
            Dictionary<VReg, List<Instruction>>? accesses = null;
            foreach (var block in CollectionsMarshal.AsSpan(loop.Blocks))
                foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                {
                    if (Scale(instruction.Op) == 0) continue;
                    var (address, index) = (instruction.Arguments[0], instruction.Arguments[1]);
                    if (address.IsConstant || !Invariant(address) || index.IsConstant || Invariant(index)) continue;
                    // (An index made by this pass for an inner loop is past the tables: it is done.)
                    if (index.Register.Index >= definition.Length || definition[index.Register.Index] is not { Op: Opcode.Add or Opcode.Subtract }) continue;
                    accesses ??= new();
                    if (!accesses.TryGetValue(index.Register, out var list)) accesses.Add(index.Register, list = new());
                    list.Add(instruction);
                }
            if (accesses is null) continue;

            var preheader = loop.Preheader(graph, member, stamp);
            var made = new Dictionary<(Opcode, Operand, Operand), Operand>();   // this preheader's sums, made once
            var sums = new List<List<(Operand Value, bool Negative)>>();   // the distinct addend lists of this loop
            var bases = new HashSet<(Operand Address, int Scale, int Sum, long Constant)>();
            foreach (var (index, list) in accesses.OrderByDescending(pair => pair.Key.Index))   // deterministic; newest (longest chains) first
            {
                // The index must die: every use of it is one of these accesses (a stored value is a use too).
                if (uses[index.Index] != list.Count) continue;
                if (!Peel(index, definition, Invariant, out var varying, out var addends, out var constant, out var chain)) continue;
                addends.Sort((x, y) => x.Value.Register.Index != y.Value.Register.Index
                    ? x.Value.Register.Index.CompareTo(y.Value.Register.Index) : x.Negative.CompareTo(y.Negative));
                var sum = Sums(sums, addends);
                var keys = list.Select(access => (Address: access.Arguments[0], Scale: Scale(access.Op), Sum: sum, Constant: ConstantOnIndex(access, constant, costs) ? 0 : constant)).ToList();
                if (bases.Count + keys.Distinct().Count(key => !bases.Contains(key)) > MaxBasesPerLoop) continue;

                for (var i = 0; i < list.Count; i++)
                {
                    var access = list[i];
                    var onIndex = keys[i].Constant == 0;   // the constant stays on the index (a displacement)
                    bases.Add(keys[i]);
                    var rebased = NewBase(function, preheader, access, addends, keys[i].Constant, made);
                    access.Arguments[0] = rebased;
                    if (onIndex && constant != 0)
                    {
                        // varying + constant, next to the access: AddressFolding makes it the displacement.
                        var offset = function.NewRegister();
                        inserted.Add(access, new Instruction(Opcode.Add, offset, [varying, Operand.Of(constant)], null, access.Location));
                        access.Arguments[1] = offset;
                    }
                    else access.Arguments[1] = varying;
                    uses[index.Index]--;
                    Use(uses, varying);
                }
                // The peeled additions that no longer have a use go (each one's operands lose a use).
                foreach (var link in chain)
                {
                    if (uses[link.Destination!.Value.Index] != 0) break;
                    dead.Add(link);
                    foreach (var argument in link.Arguments)
                        if (!argument.IsConstant) uses[argument.Register.Index]--;
                }
            }
            // Everything this loop added or killed is in its blocks: placed now, so outer loops see the new additions as theirs.
            if (dead.Count > 0 || inserted.Count > 0)
            {
                Place(loop.Blocks, inserted, dead);
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>Puts each pending index addition before its access and drops the dead additions, in <paramref name="blocks"/>.</summary>
    private static void Place(IEnumerable<BasicBlock> blocks, Dictionary<Instruction, Instruction> inserted, HashSet<Instruction> dead)
    {
        var buffer = new List<Instruction>();
        foreach (var block in blocks)
        {
            buffer.Clear();
            var touched = false;   // only blocks with something removed or inserted are rewritten
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (dead.Contains(instruction)) { touched = true; continue; }
                if (inserted.TryGetValue(instruction, out var before)) { buffer.Add(before); touched = true; }
                buffer.Add(instruction);
            }
            if (!touched) continue;
            block.Instructions.Clear();
            block.Instructions.AddRange(buffer);
        }
        inserted.Clear();
        dead.Clear();
    }

    private static void Use(int[] uses, Operand operand)
    {
        if (!operand.IsConstant) uses[operand.Register.Index]++;
    }

    /// <summary>Bytes per index unit of a memory access; 0 for other operations.</summary>
    private static int Scale(Opcode op) => op switch
    {
        Opcode.LoadWord or Opcode.StoreWord => 8,
        Opcode.LoadByte or Opcode.StoreByte => 1,
        _ => 0,
    };

    /// <summary>
    /// Splits an index into its one varying operand plus invariant register addends and a constant,
    /// following additions (and subtractions of constants) defined in the loop, at most
    /// <see cref="MaxChain"/> deep. <paramref name="chain"/> lists the additions walked, outermost first.
    /// </summary>
    private static bool Peel(VReg index, Instruction?[] definition, Func<Operand, bool> invariant,
        out Operand varying, out List<(Operand Value, bool Negative)> addends, out long constant, out List<Instruction> chain)
    {
        addends = new();
        chain = new();
        constant = 0;
        varying = Operand.Of(index);
        for (var depth = 0; depth < MaxChain; depth++)
        {
            if (varying.IsConstant || invariant(varying) || varying.Register.Index >= definition.Length) break;
            var link = definition[varying.Register.Index];
            if (link is null) break;
            var (a, b) = link.Arguments.Length == 2 ? (link.Arguments[0], link.Arguments[1]) : (default, default);
            var negative = false;
            if (link.Op == Opcode.Add && invariant(b) && !invariant(a)) { }
            else if (link.Op == Opcode.Add && invariant(a) && !invariant(b)) (a, b) = (b, a);
            else if (link.Op == Opcode.Subtract && invariant(b) && !invariant(a)) negative = true;
            else break;
            if (b.IsConstant) constant = unchecked(negative ? constant - b.Constant : constant + b.Constant);
            else addends.Add((b, negative));
            chain.Add(link);
            varying = a;
        }
        // A constant offset alone would cost a register for every base and offset (a[k+1], a[k-1]);
        // it rides along only with an invariant register addend.
        return addends.Count > 0;
    }

    /// <summary>
    /// Where an access's constant goes: on its index when the target folds it as the displacement of
    /// a register-indexed access (then accesses differing only in it share a base), else into the base.
    /// </summary>
    private static bool ConstantOnIndex(Instruction access, long constant, ITargetCosts costs) =>
        constant == 0 || costs.FoldsDisplacement(Scale(access.Op), registerIndex: true, unchecked(constant * Scale(access.Op)));

    /// <summary>The number of <paramref name="addends"/> among the loop's distinct addend lists (added when new).</summary>
    private static int Sums(List<List<(Operand Value, bool Negative)>> sums, List<(Operand Value, bool Negative)> addends)
    {
        for (var i = 0; i < sums.Count; i++)
            if (sums[i].SequenceEqual(addends)) return i;
        sums.Add(addends);
        return sums.Count - 1;
    }

    /// <summary>base + scale * (addends + constant), in the preheader; each sum (and scaled addend) made once per loop through <paramref name="made"/>.</summary>
    private static Operand NewBase(IrFunction function, BasicBlock preheader, Instruction access, List<(Operand Value, bool Negative)> addends, long constant,
        Dictionary<(Opcode, Operand, Operand), Operand> made)
    {
        var location = access.Location;
        Operand Emit(Opcode op, Operand a, Operand b)
        {
            if (made.TryGetValue((op, a, b), out var existing)) return existing;
            var result = function.NewRegister();
            preheader.Instructions.Add(new Instruction(op, result, [a, b], null, location));
            made.Add((op, a, b), result);
            return result;
        }

        var scale = Scale(access.Op);
        var address = access.Arguments[0];
        foreach (var (addend, negative) in addends)
            address = Emit(negative ? Opcode.Subtract : Opcode.Add, address, scale == 1 ? addend : Emit(Opcode.ShiftLeft, addend, Operand.Of(3)));
        if (constant != 0) address = Emit(Opcode.Add, address, Operand.Of(unchecked(constant * scale)));
        return address;
    }
}
