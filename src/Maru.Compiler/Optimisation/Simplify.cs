using System.Numerics;
using System.Runtime.InteropServices;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Algebraic simplification and strength reduction, one instruction at a time, always keeping the
/// IR's total semantics (x / 0 = 0, x % 0 = 0, MIN / -1 = MIN, shift counts modulo 64):
/// constants move to the right of commutative operations and comparisons; identities (x + 0,
/// x * 1, x | 0, x &lt;&lt; 64 ...) become copies; multiplication by 2^k becomes a shift; signed
/// division and remainder by ±2^k become shifts and masks with the rounding toward zero of the
/// hardware divide; (x % ±2^k) == 0 and != 0 test x &amp; (2^k - 1) instead; a division by ±2^k in
/// a block only reached when x is known to be a multiple of 2^k (through the edge of a branch on
/// such a test) is exact, one shift; a branch on (x != 0), (x == 0) or (not x) branches on x directly;
/// chains of constant operations fold into one, and an equality test (or branch) of v ± k
/// compares v itself (<see cref="Reassociate"/>, <see cref="BranchOnOffset"/>).
/// Requires: SSA (new registers are single definitions). Guarantees: same values; copies it leaves
/// are for copy propagation to remove.
/// </summary>
internal static class Simplify
{
    /// <summary>What the rewrites of one function may know besides the instruction itself.</summary>
    private sealed class Facts
    {
        /// <summary>Registers defined as x % ±2^k (k >= 1; 2^63 for MIN), as lowered (before this pass rewrites them).</summary>
        public readonly Dictionary<VReg, (Operand Dividend, int Log2)> PowerOfTwoRemainders = new();

        /// <summary>The instruction defining each register (SSA: one each), for the registers that existed when the pass began.</summary>
        public Instruction?[] Definitions = [];
        public int RegisterCount;

        public Instruction? Definition(VReg register) => register.Index < RegisterCount ? Definitions[register.Index] : null;

        /// <summary>Per block: registers known to be multiples of 2^k there (the block is only reached over an edge that tested it).</summary>
        public readonly Dictionary<BasicBlock, List<(VReg Value, int Log2)>> Multiples = new();

        public BasicBlock? Block;
    }

    [ThreadStatic] private static List<Instruction>? _output;

    /// <summary>A select whose condition is a constant, or whose two values are one, is a copy.</summary>
    private static void Select(Instruction select)
    {
        var args = select.Arguments;
        if (args[0].IsConstant) select.Rewrite(Opcode.Copy, args[args[0].Constant != 0 ? 1 : 2]);
        else if (args[1].Equals(args[2])) select.Rewrite(Opcode.Copy, args[1]);
    }

    public static void Run(IrFunction function)
    {
        var facts = Gather(function);
        var output = _output ??= new List<Instruction>();   // one per thread: a block's rewritten instructions
        var count = function.RegisterCount;
        // The definitions below (branches): the table Gather made still holds for every instruction
        // (rewrites keep the instruction and its destination); the instructions added here define
        // registers from facts.RegisterCount on, entered as their blocks are rewritten.
        var definition = facts.Definitions;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            output.Clear();
            facts.Block = block;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Op.IsBinary()) Binary(function, instruction, output, facts);
                else if (instruction.Op == Opcode.Select) Select(instruction);
                output.Add(instruction);
            }
            if (output.Count != block.Instructions.Count)
            {
                block.Instructions.Clear();
                block.Instructions.AddRange(output);
                Cover(function, facts, ref definition, ref count);
                foreach (var instruction in CollectionsMarshal.AsSpan(output))
                    if (instruction.Destination is { } d) definition[d.Index] = instruction;
            }
        }

        output.Clear();
        if (output.Capacity > 1 << 12) _output = null;

        Cover(function, facts, ref definition, ref count);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            if (block.Terminator is Branch branch)
                block.Terminator = BranchOnOffset(function, block, SimplifyBranch(branch, definition), definition, count);
        Array.Clear(definition, 0, count);
        Scratch<Instruction?>.Return(definition);
    }

    /// <summary>
    /// Makes the definition table cover the function's registers: entries from <paramref name="count"/>
    /// (the registers it covers so far) up cleared (a rented array is clean only for the length asked),
    /// grown into a longer rented array when needed (then also <see cref="Facts.Definitions"/>, which
    /// <see cref="Binary"/> reads below facts.RegisterCount).
    /// </summary>
    private static void Cover(IrFunction function, Facts facts, ref Instruction?[] definition, ref int count)
    {
        var wanted = function.RegisterCount;
        if (wanted <= count) return;
        if (definition.Length < wanted)
        {
            var grown = Scratch<Instruction?>.Rent(wanted);
            Array.Copy(definition, grown, count);
            Array.Clear(definition, 0, count);
            Scratch<Instruction?>.Return(definition);
            facts.Definitions = definition = grown;
        }
        else Array.Clear(definition, count, wanted - count);
        count = wanted;
    }

    /// <summary>The register a shift count <paramref name="count"/> masks with a constant whose low six bits are all set, if it is such an And.</summary>
    private static Operand? UnmaskedCount(Operand count, Facts facts)
    {
        if (count.IsConstant || facts.Definition(count.Register) is not { Op: Opcode.And, Arguments: [var a, var b] }) return null;
        if (b.IsConstant && !a.IsConstant && (b.Constant & 63) == 63) return a;
        if (a.IsConstant && !b.IsConstant && (a.Constant & 63) == 63) return b;
        return null;
    }

    /// <summary>Rewrites one binary instruction; any extra instructions it needs go to <paramref name="output"/> before it.</summary>
    private static bool Binary(IrFunction function, Instruction instruction, List<Instruction> output, Facts facts)
    {
        var op = instruction.Op;
        var x = instruction.Arguments[0];
        var y = instruction.Arguments[1];
        if (x.IsConstant && y.IsConstant)
            return Become(instruction, Opcode.Copy, Operand.Of(op.Evaluate(x.Constant, y.Constant)));
        if (x.IsConstant && Mirrored(op) is { } mirror)
        {
            instruction.Rewrite(mirror, y, x);
            (op, x, y) = (mirror, y, x);
            Binary(function, instruction, output, facts);
            return true;
        }
        if (x.Equals(y))
        {
            switch (op)
            {
                case Opcode.Subtract or Opcode.Xor or Opcode.NotEqual or Opcode.Less or Opcode.Greater or Opcode.Below or Opcode.Above:
                    return Become(instruction, Opcode.Copy, Operand.Of(0));
                case Opcode.Equal or Opcode.LessOrEqual or Opcode.GreaterOrEqual or Opcode.BelowOrEqual or Opcode.AboveOrEqual:
                    return Become(instruction, Opcode.Copy, Operand.Of(1));
                case Opcode.And or Opcode.Or:
                    return Become(instruction, Opcode.Copy, x);
            }
        }
        if (op is Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical && UnmaskedCount(y, facts) is { } count)
        {
            // Counts are taken modulo 64: a mask keeping at least the low six bits changes nothing (bit arrays' (<< 1 (& i 63))).
            instruction.Rewrite(op, x, count);
            y = count;
        }
        if (x.IsConstant)
        {
            // Only the non-commutative operations get here with a constant on the left.
            if (x.Constant == 0 && op is Opcode.Divide or Opcode.Remainder or Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical)
                return Become(instruction, Opcode.Copy, Operand.Of(0));  // 0/y = 0 for every y, even 0 and -1
            if (x.Constant == -1 && op == Opcode.ShiftRight)
                return Become(instruction, Opcode.Copy, Operand.Of(-1));
            if (x.Constant == 0 && op == Opcode.Subtract)
                return Become(instruction, Opcode.Negate, y);
            return false;
        }
        if (!y.IsConstant) return false;
        var c = y.Constant;
        if (Reassociate(instruction, op, x, c, facts))
        {
            Binary(function, instruction, output, facts);
            return true;
        }
        switch (op)
        {
            case Opcode.Add or Opcode.Subtract or Opcode.Or or Opcode.Xor when c == 0:
                return Become(instruction, Opcode.Copy, x);
            case Opcode.ShiftLeft or Opcode.ShiftRight or Opcode.ShiftRightLogical:
                if ((c & 63) == 0) return Become(instruction, Opcode.Copy, x);
                if (c is < 0 or > 63) return Become(instruction, op, x, Operand.Of(c & 63));
                return false;
            case Opcode.And:
                if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));
                if (c == -1) return Become(instruction, Opcode.Copy, x);
                // (y >> k) & (2^(64-k) - 1) keeps exactly the bits an unsigned shift brings down: y >>> k
                // (how Maru spells C's shift of an unsigned word; one instruction, and known non-negative).
                if (!x.IsConstant && facts.Definition(x.Register) is { Op: Opcode.ShiftRight, Arguments: [var unsignedOf, { IsConstant: true } k] }
                    && k.Constant is >= 1 and <= 63 && c == (long)(ulong.MaxValue >> (int)k.Constant))
                    return Become(instruction, Opcode.ShiftRightLogical, unsignedOf, k);
                return false;
            case Opcode.Or when c == -1:
                return Become(instruction, Opcode.Copy, Operand.Of(-1));
            case Opcode.Multiply:
                if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));
                if (c == 1) return Become(instruction, Opcode.Copy, x);
                if (c == -1) return Become(instruction, Opcode.Negate, x);
                if (IsPowerOfTwo(c)) return Become(instruction, Opcode.ShiftLeft, x, Operand.Of(Log2(c)));  // also c = MIN = 2^63
                return false;
            case Opcode.Equal or Opcode.NotEqual when c == 0 && !x.IsConstant
                                                     && facts.PowerOfTwoRemainders.TryGetValue(x.Register, out var remainder):
            {
                // x % ±2^k is zero exactly when the low k bits of x are (the remainder takes the
                // dividend's sign but not its magnitude): (x % 2^k) == 0 <=> (x & (2^k - 1)) == 0.
                var mask = unchecked((long)((1UL << remainder.Log2) - 1));
                var low = Emit(function, instruction, Opcode.And, output, remainder.Dividend, Operand.Of(mask));
                return Become(instruction, op, low, Operand.Of(0));
            }
            case Opcode.Divide when c != long.MinValue && IsPowerOfTwo(Math.Abs(c)) && !x.IsConstant
                                    && IsKnownMultiple(facts, x.Register, Log2(Math.Abs(c))):
            {
                // An exact division needs no rounding: x / 2^k = x >> k, x / -2^k = -(x >> k).
                if (c == 1) return Become(instruction, Opcode.Copy, x);
                if (c == -1) return Become(instruction, Opcode.Negate, x);
                if (c > 0) return Become(instruction, Opcode.ShiftRight, x, Operand.Of(Log2(c)));
                var shifted = Emit(function, instruction, Opcode.ShiftRight, output, x, Operand.Of(Log2(-c)));
                return Become(instruction, Opcode.Negate, shifted);
            }
            case Opcode.Divide:
                return Divide(function, instruction, x, c, output, facts);
            case Opcode.Remainder:
                return Remainder(function, instruction, x, c, output, facts);
        }
        return false;
    }

    /// <summary>
    /// Folds a constant operation into the constant operation that made its operand, exact in
    /// wrapping arithmetic: (v ± k1) ± k2 = v + (±k1 ± k2), (v op k1) op k2 = v op (k1 op k2) for
    /// op in and, or, xor, mul; (v ± k) == K is v == K ∓ k (also !=: equality survives wrapping,
    /// order does not, so &lt; and &gt; are left alone). The inner value may stay live for other
    /// readers; the outer no longer waits for it (a chain n-1, n-2 becomes two independent
    /// operations on n, and a test of n-1 against 0 a test of n against 1).
    /// </summary>
    private static bool Reassociate(Instruction instruction, Opcode op, Operand x, long c, Facts facts)
    {
        if (x.IsConstant || facts.Definition(x.Register) is not { Arguments: [{ IsConstant: false } v, { IsConstant: true } inner] } definition)
            return false;
        var k = inner.Constant;
        switch (op, definition.Op)
        {
            case (Opcode.Add or Opcode.Subtract, Opcode.Add or Opcode.Subtract):
            {
                var offset = unchecked((definition.Op == Opcode.Add ? k : -k) + (op == Opcode.Add ? c : -c));
                return Become(instruction, op, v, Operand.Of(op == Opcode.Add ? offset : unchecked(-offset)));
            }
            case (Opcode.Equal or Opcode.NotEqual, Opcode.Add or Opcode.Subtract):
                return ComparedWith(definition.Op, k, c) is { } compared && Become(instruction, op, v, Operand.Of(compared));
            case (Opcode.And, Opcode.And):
                return Become(instruction, op, v, Operand.Of(k & c));
            case (Opcode.Or, Opcode.Or):
                return Become(instruction, op, v, Operand.Of(k | c));
            case (Opcode.Xor, Opcode.Xor):
                return Become(instruction, op, v, Operand.Of(k ^ c));
            case (Opcode.Multiply, Opcode.Multiply):
                return Become(instruction, op, v, Operand.Of(unchecked(k * c)));
        }
        return false;
    }

    /// <summary>
    /// (v ± k) == c is v == c ∓ k in wrapping arithmetic (and so for !=): the constant v is
    /// compared with instead, when every target compares with it in the instruction itself
    /// (x86-64 imm32, AArch64 cmp/cmn imm12), else null. Serves both the instruction
    /// (<see cref="Reassociate"/>) and the branch on v ± k, a test against 0 (<see cref="BranchOnOffset"/>).
    /// </summary>
    private static long? ComparedWith(Opcode offset, long k, long c)
    {
        var compared = unchecked(offset == Opcode.Add ? c - k : c + k);
        return compared is > -4096 and < 4096 ? compared : null;
    }

    private static bool Divide(IrFunction function, Instruction instruction, Operand x, long c, List<Instruction> output, Facts facts)
    {
        if (c == 0) return Become(instruction, Opcode.Copy, Operand.Of(0));           // x / 0 = 0
        if (c == 1) return Become(instruction, Opcode.Copy, x);
        if (c == -1) return Become(instruction, Opcode.Negate, x);                    // MIN / -1 = MIN = -MIN
        if (c == long.MinValue) return Become(instruction, Opcode.Equal, x, Operand.Of(long.MinValue));
        var magnitude = Math.Abs(c);
        if (!IsPowerOfTwo(magnitude))
        {
            var exact = DivideByMultiplying(function, instruction, x, magnitude, facts, output);
            return c > 0 ? Become(instruction, Opcode.Copy, exact) : Become(instruction, Opcode.Negate, exact);
        }
        // Truncating division by 2^k: add 2^k - 1 to negative dividends before shifting, so
        // (x + ((x >> 63) & (2^k - 1))) >> k rounds toward zero like idiv. x / -2^k = -(x / 2^k).
        var k = Log2(magnitude);
        var quotient = RoundedTowardZero(function, instruction, x, k, output);
        if (c > 0) return Become(instruction, Opcode.ShiftRight, quotient, Operand.Of(k));
        var shifted = Emit(function, instruction, Opcode.ShiftRight, output, quotient, Operand.Of(k));
        return Become(instruction, Opcode.Negate, shifted);
    }

    private static bool Remainder(IrFunction function, Instruction instruction, Operand x, long c, List<Instruction> output, Facts facts)
    {
        if (c is 0 or 1 or -1) return Become(instruction, Opcode.Copy, Operand.Of(0)); // x % 0 = 0, x % ±1 = 0
        if (c == long.MinValue) return false;
        var magnitude = Math.Abs(c);
        if (!IsPowerOfTwo(magnitude))
        {
            // x % c = x - (x / |c|) * |c| (the sign of c never matters to the remainder).
            var quotient = DivideByMultiplying(function, instruction, x, magnitude, facts, output);
            var product = Emit(function, instruction, Opcode.Multiply, output, quotient, Operand.Of(magnitude));
            return Become(instruction, Opcode.Subtract, x, product);
        }
        // The remainder has the dividend's sign: x - ((x + bias) & -2^k), and x % -d = x % d.
        var k = Log2(magnitude);
        var biased = RoundedTowardZero(function, instruction, x, k, output);
        var multiple = Emit(function, instruction, Opcode.And, output, biased, Operand.Of(-magnitude));
        return Become(instruction, Opcode.Subtract, x, multiple);
    }

    /// <summary>
    /// x / d for a constant 3 &lt;= d &lt; 2^63 that is not a power of two, without a divide
    /// (Granlund and Montgomery; Hacker's Delight 10-1): q = mulh(x, M) (+ x when M had to wrap
    /// negative), shifted right by s, plus 1 when negative so it truncates toward zero like idiv.
    /// Exact for every 64-bit x, MIN included, so no case of the total semantics is left over.
    /// </summary>
    private static Operand DivideByMultiplying(IrFunction function, Instruction at, Operand x, long d, Facts facts, List<Instruction> output)
    {
        var (multiplier, shift) = DivisionMagic.Signed(d);
        Operand q = Emit(function, at, Opcode.MultiplyHigh, output, x, Operand.Of(multiplier));
        if (multiplier < 0) q = Emit(function, at, Opcode.Add, output, q, x);
        if (shift > 0) q = Emit(function, at, Opcode.ShiftRight, output, q, Operand.Of(shift));
        if (IsNonNegative(x, facts)) return q;
        var sign = Emit(function, at, Opcode.ShiftRight, output, q, Operand.Of(63));
        return Emit(function, at, Opcode.Subtract, output, q, sign);
    }

    /// <summary>Is x certainly >= 0: a byte load, a 0/1 truth value, or masked by a non-negative constant (one level, no search).</summary>
    private static bool IsNonNegative(Operand x, Facts facts)
    {
        if (x.IsConstant) return x.Constant >= 0;
        if (facts.Definition(x.Register) is not { } def) return false;
        return def.Op switch
        {
            Opcode.LoadByte or Opcode.LogicalNot => true,
            _ when def.Op.IsComparison() => true,
            Opcode.And => def.Arguments is [{ IsConstant: true, Constant: >= 0 }, _] or [_, { IsConstant: true, Constant: >= 0 }],
            _ => false,
        };
    }

    /// <summary>x + ((x >> 63) &amp; (2^k - 1)): the dividend biased so an arithmetic shift by k truncates toward zero.</summary>
    private static Operand RoundedTowardZero(IrFunction function, Instruction at, Operand x, int k, List<Instruction> output)
    {
        var sign = Emit(function, at, Opcode.ShiftRight, output, x, Operand.Of(63));
        var bias = Emit(function, at, Opcode.And, output, sign, Operand.Of((1L << k) - 1));
        return Emit(function, at, Opcode.Add, output, x, bias);
    }

    private static bool IsKnownMultiple(Facts facts, VReg value, int log2) =>
        facts.Block is { } block && facts.Multiples.TryGetValue(block, out var known) && known.Exists(m => m.Value == value && m.Log2 >= log2);

    /// <summary>
    /// The power-of-two remainders, and which blocks know a value to be a multiple of 2^k: those
    /// reached only (through a chain of single-predecessor blocks) over the edge of a branch on
    /// x % 2^k, (x % 2^k) == 0, (x % 2^k) != 0 or x &amp; (2^k - 1) that means "no remainder".
    /// </summary>
    private static Facts Gather(IrFunction function)
    {
        var facts = new Facts { RegisterCount = function.RegisterCount };
        var definition = facts.Definitions = Scratch<Instruction?>.Rent(facts.RegisterCount);
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Destination is not { } d) continue;
                definition[d.Index] = instruction;
                if (instruction is { Op: Opcode.Remainder, Arguments: [var dividend, { IsConstant: true, Constant: var c }] }
                    && !dividend.IsConstant && (c == long.MinValue || (Math.Abs(c) >= 2 && IsPowerOfTwo(Math.Abs(c)))))
                    facts.PowerOfTwoRemainders[d] = (dividend, c == long.MinValue ? 63 : Log2(Math.Abs(c)));
            }

        // Facts established on each edge out of a branch that tests divisibility, kept by the edge's
        // target: a walk below only asks for the edge into a block from its unique predecessor, and
        // the only edges into such a block come from that predecessor.
        var blocks = function.Blocks;
        List<(VReg Value, int Log2)>? edgeFacts = null;
        int[]? factInto = null;   // by block position: 1 + the fact's place in edgeFacts, 0 when none
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.Terminator is not Branch branch || branch.IfTrue == branch.IfFalse) continue;
            if (DivisibilityTest(branch.Condition, facts) is not ({ } value, var log2, var zeroWhenTrue)) continue;
            if (factInto is null)
            {
                for (var b = 0; b < blocks.Count; b++) blocks[b].Index = b;
                factInto = Scratch<int>.Rent(blocks.Count);
                edgeFacts = [];
            }
            edgeFacts!.Add((value, log2));
            factInto[(zeroWhenTrue ? branch.IfTrue : branch.IfFalse).Index] = edgeFacts.Count;
        }
        if (factInto is null) return facts;

        // The unique predecessor of each block (null when none or several).
        var predecessor = Scratch<BasicBlock?>.Rent(blocks.Count);
        var predecessors = Scratch<int>.Rent(blocks.Count);
        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var edges = FlowGraph.EdgesOf(block);
            for (var s = 0; s < edges.Count; s++)
            {
                var successor = edges[s].Index;
                predecessor[successor] = predecessors[successor]++ == 0 ? block : null;
            }
        }

        foreach (var block in CollectionsMarshal.AsSpan(blocks))
        {
            var at = block;
            for (var steps = 0; steps < 8 && predecessor[at.Index] is { } from && from != block; steps++)
            {
                if (factInto[at.Index] is var fact and > 0)
                {
                    if (!facts.Multiples.TryGetValue(block, out var list)) facts.Multiples[block] = list = new();
                    list.Add(edgeFacts![fact - 1]);
                }
                at = from;
            }
        }
        Array.Clear(predecessor, 0, blocks.Count);
        Scratch<BasicBlock?>.Return(predecessor);
        Scratch<int>.Return(predecessors);
        Scratch<int>.Return(factInto);
        return facts;
    }

    /// <summary>Does the condition test x for divisibility by 2^k, and is it zero (true) or non-zero when x is a multiple?</summary>
    private static (VReg? Value, int Log2, bool ZeroWhenTrue) DivisibilityTest(Operand condition, Facts facts)
    {
        var zeroWhenTrue = false;  // a bare remainder or mask is non-zero when x is NOT a multiple
        for (var steps = 0; steps < 4 && !condition.IsConstant; steps++)
        {
            if (facts.PowerOfTwoRemainders.TryGetValue(condition.Register, out var remainder))
                return remainder.Dividend.IsConstant ? (null, 0, false) : (remainder.Dividend.Register, remainder.Log2, zeroWhenTrue);
            if (facts.Definition(condition.Register) is not { } def) break;
            if (def is { Op: Opcode.And, Arguments: [var l, var r] } && (r.IsConstant ? (l, r) : (r, l)) is ({ IsConstant: false } masked, { IsConstant: true, Constant: var mask })
                && mask > 0 && IsPowerOfTwo(mask + 1))
                return (masked.Register, Log2(mask + 1), zeroWhenTrue);
            if (def is { Op: Opcode.NotEqual or Opcode.Equal, Arguments: [var a, var b] } && (a, b) is (_, { IsConstant: true, Constant: 0 }) or ({ IsConstant: true, Constant: 0 }, _))
                (condition, zeroWhenTrue) = (b is { IsConstant: true, Constant: 0 } ? a : b, def.Op == Opcode.Equal ? !zeroWhenTrue : zeroWhenTrue);
            else if (def is { Op: Opcode.LogicalNot, Arguments: [var n] })
                (condition, zeroWhenTrue) = (n, !zeroWhenTrue);
            else
                break;
        }
        return (null, 0, false);
    }

    private static Terminator SimplifyBranch(Branch branch, Instruction?[] definition)
    {
        var condition = branch.Condition;
        var swapped = false;
        // Peel (x != 0), (x == 0) and (not x) off the condition, flipping the targets as needed.
        for (var steps = 0; steps < 4 && !condition.IsConstant && definition[condition.Register.Index] is { } def; steps++)
        {
            if (def.Op == Opcode.NotEqual && def.Arguments[1] is { IsConstant: true, Constant: 0 })
                condition = def.Arguments[0];
            else if (def.Op == Opcode.Equal && def.Arguments[1] is { IsConstant: true, Constant: 0 })
                (condition, swapped) = (def.Arguments[0], !swapped);
            else if (def.Op == Opcode.LogicalNot)
                (condition, swapped) = (def.Arguments[0], !swapped);
            else
                break;
        }
        if (condition.Equals(branch.Condition)) return branch;
        return swapped ? new Branch(condition, branch.IfFalse, branch.IfTrue) : new Branch(condition, branch.IfTrue, branch.IfFalse);
    }

    /// <summary>
    /// A branch on v ± k (non-zero when v != ∓k) branches on a comparison of v with ∓k made at
    /// the end of the block (which the backend fuses into cmp/jcc): the test no longer waits for
    /// the addition, which dies when nothing else reads it.
    /// </summary>
    private static Terminator BranchOnOffset(IrFunction function, BasicBlock block, Terminator terminator, Instruction?[] definition, int count)
    {
        if (terminator is not Branch { Condition: { IsConstant: false } condition } branch || branch.IfTrue == branch.IfFalse
            || condition.Register.Index >= count
            || definition[condition.Register.Index] is not { Op: Opcode.Add or Opcode.Subtract, Arguments: [{ IsConstant: false } v, { IsConstant: true } k] } sum)
            return terminator;
        if (ComparedWith(sum.Op, k.Constant, 0) is not { } compared || compared == 0) return terminator;
        var test = function.NewRegister();
        block.Instructions.Add(new Instruction(Opcode.NotEqual, test, [v, Operand.Of(compared)], null, sum.Location));
        return branch with { Condition = Operand.Of(test) };
    }

    private static Opcode? Mirrored(Opcode op) => op switch
    {
        Opcode.Add or Opcode.Multiply or Opcode.And or Opcode.Or or Opcode.Xor or Opcode.Equal or Opcode.NotEqual => op,
        Opcode.Less => Opcode.Greater,
        Opcode.Greater => Opcode.Less,
        Opcode.LessOrEqual => Opcode.GreaterOrEqual,
        Opcode.GreaterOrEqual => Opcode.LessOrEqual,
        Opcode.Below => Opcode.Above,
        Opcode.Above => Opcode.Below,
        Opcode.BelowOrEqual => Opcode.AboveOrEqual,
        Opcode.AboveOrEqual => Opcode.BelowOrEqual,
        _ => null,
    };

    private static bool Become(Instruction instruction, Opcode op, Operand a)
    {
        instruction.Rewrite(op, a);
        return true;
    }

    private static bool Become(Instruction instruction, Opcode op, Operand a, Operand b)
    {
        instruction.Rewrite(op, a, b);
        return true;
    }

    private static VReg Emit(IrFunction function, Instruction at, Opcode op, List<Instruction> output, params Operand[] arguments)
    {
        var destination = function.NewRegister();
        output.Add(new Instruction(op, destination, arguments, null, at.Location));
        return destination;
    }

    private static bool IsPowerOfTwo(long c) => c != 0 && (c & (c - 1)) == 0;

    private static int Log2(long c) => BitOperations.TrailingZeroCount((ulong)c);
}
