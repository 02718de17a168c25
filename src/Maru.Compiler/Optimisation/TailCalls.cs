using System.Runtime.InteropServices;
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
/// <para>
/// Tail recursion modulo an accumulator: a return of the call's result combined with values known
/// at the call by one associative, commutative op (Add, Multiply, And, Or, Xor under 64-bit
/// wrap-around), in any operand order and nesting (<c>X1 + (self(args) + X2)</c>, <c>(X1 + self(args)) + (X2 + X3)</c>),
/// also becomes a jump back, with <c>acc = acc op X</c> first; subtracting a known value counts
/// as adding (<c>acc = acc - X</c>). The accumulator starts at the identity (0, 1 or -1) in the entry, and
/// every other return of <c>v</c> becomes a return of <c>acc op v</c>. After the call only copies,
/// the accumulating ops and pure computations of values known at the call may run; those
/// computations move before the accumulation (they read nothing the call could change, and our
/// arithmetic never traps), so side effects keep their order. One function uses one op; a site
/// of another op keeps its call. Naive <c>fib</c> thus makes one recursive call per level instead of two.
/// </para>
/// Requires: Plain form. Guarantees: no self call whose value is returned directly.
/// </summary>
internal static class TailCalls
{
    private const int MaxDuplicatedBlocks = 8;
    private const int MaxDuplicatedInstructions = 16;

    /// <summary>One value folded into the accumulator: <c>acc = acc op Value</c>, or <c>acc = acc - Value</c> when <see cref="Subtract"/>.</summary>
    private readonly record struct Term(Operand Value, bool Subtract);

    /// <summary>
    /// What a tail site adds to the result: nothing (<see cref="Op"/> null) or <c>op X1 op X2...</c>,
    /// after the pure computations <see cref="Moved"/> (rewritten to read values as of the call).
    /// </summary>
    private sealed record Site(BasicBlock Block, Opcode? Op, List<Term> Terms, List<Instruction> Moved);

    public static void Run(IrFunction function)
    {
        var entry = function.Blocks[0];
        if (entry.Instructions.Exists(i => i.Op == Opcode.Alloca)) return;
        if (!function.Blocks.Exists(b => b.Instructions.Exists(i => IsSelfCall(function, i)))) return;

        var sites = new List<Site>();
        var affineSites = new List<AffineSite>();
        Opcode? accumulatorOp = null;
        foreach (var block in function.Blocks.ToArray())
        {
            var call = block.Instructions.FindLastIndex(i => IsSelfCall(function, i));
            if (call < 0 || !OnlyPureAfter(block, call)) continue;
            InlineReturnPath(block);
            if (AnalyseAffine(function, block, call) is { } affine) affineSites.Add(affine);
            if (Analyse(function, block, call) is not { } site) continue;
            if (site.Op is { } op)
            {
                accumulatorOp ??= op;
                if (op != accumulatorOp) continue;   // one accumulator, one op: this call stays
            }
            sites.Add(site);
        }
        // The affine form reaches further (a subtraction of the call, a product then a sum, ops
        // mixed between sites); where one op covers as many sites it stays, one operation a step.
        if (affineSites.Count > sites.Count)
        {
            RewriteAffine(function, affineSites);
            return;
        }
        if (sites.Count == 0) return;

        var header = SplitEntry(function);
        VReg? accumulator = null;
        if (accumulatorOp is { } accOp)
        {
            accumulator = function.NewRegister();
            entry.Instructions.Add(new Instruction(Opcode.Copy, accumulator, [Operand.Of(Identity(accOp))], null, function.Location));
            // Every return that is not a tail site returns acc op v (tail sites get their jump below).
            var siteBlocks = sites.Select(s => s.Block == entry ? header : s.Block).ToHashSet();
            foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
            {
                if (block.Terminator is not Return { Value: var value } || siteBlocks.Contains(block)) continue;
                var result = function.NewRegister();
                var location = block.Instructions.Count > 0 ? block.Instructions[^1].Location : function.Location;
                block.Instructions.Add(new Instruction(accOp, result, [accumulator.Value, value], null, location));
                block.Terminator = new Return(result);
            }
        }

        foreach (var site in sites)
        {
            var target = site.Block == entry ? header : site.Block;   // the entry's code moved to the header
            var call = target.Instructions.FindLastIndex(i => IsSelfCall(function, i));
            var arguments = target.Instructions[call].Arguments;
            var location = target.Instructions[call].Location;
            target.Instructions.RemoveRange(call, target.Instructions.Count - call);
            // The terms are operands as of the call: fold them in before any parameter changes.
            target.Instructions.AddRange(site.Moved);
            if (site.Op is { } op)
                foreach (var term in site.Terms)
                    target.Instructions.Add(new Instruction(term.Subtract ? Opcode.Subtract : op, accumulator!.Value, [accumulator.Value, term.Value], null, location));
            JumpBack(function, target, arguments, header, location);
        }
    }

    /// <summary>The arguments become the parameters (through temporaries: each may read the others) and the block jumps back.</summary>
    private static void JumpBack(IrFunction function, BasicBlock target, Operand[] arguments, BasicBlock header, Diagnostics.SourceLocation location)
    {
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

    private static long Identity(Opcode op) => op switch
    {
        Opcode.Multiply => 1,
        Opcode.And => -1,
        _ => 0,
    };

    private static bool IsSelfCall(IrFunction function, Instruction instruction) =>
        instruction.Op == Opcode.Call && instruction.Symbol == function.Name && instruction.Arguments.Length == function.ParameterCount;

    private static bool IsAccumulating(Opcode op) => op is Opcode.Add or Opcode.Multiply or Opcode.And or Opcode.Or or Opcode.Xor;

    /// <summary>Pure and unable to fault or depend on memory: may be computed earlier than written.</summary>
    private static bool IsPure(Opcode op) =>
        op.IsBinary() || op is Opcode.Copy or Opcode.Negate or Opcode.LogicalNot or Opcode.Select
            or Opcode.GlobalAddress or Opcode.FunctionAddress or Opcode.ImportAddress or Opcode.StringAddress;

    private static bool OnlyPureAfter(BasicBlock block, int index)
    {
        for (var i = index + 1; i < block.Instructions.Count; i++)
            if (!IsPure(block.Instructions[i].Op)) return false;
        return true;
    }

    /// <summary>
    /// While the block jumps to a short block of pure computations that returns (or jumps on to one),
    /// takes those instructions and the return over. Inlining leaves such join blocks after a call
    /// (the callee's result, combined with the caller's, returned from the continuation).
    /// </summary>
    private static void InlineReturnPath(BasicBlock block)
    {
        var path = new List<BasicBlock>();
        var at = block.Terminator;
        var size = 0;
        while (at is Jump { Target: var next } && path.Count < MaxDuplicatedBlocks && next != block && !path.Contains(next)
               && next.Instructions.TrueForAll(i => IsPure(i.Op)) && (size += next.Instructions.Count) <= MaxDuplicatedInstructions)
        {
            path.Add(next);
            at = next.Terminator;
        }
        if (at is not Return) return;
        foreach (var next in path)
            foreach (var instruction in CollectionsMarshal.AsSpan(next.Instructions))
                block.Instructions.Add(new Instruction(instruction.Op, instruction.Destination, [.. instruction.Arguments], instruction.Symbol, instruction.Location));
        block.Terminator = at;
    }

    /// <summary>
    /// A value after the call, in terms of the values as of the call: an operand with that value
    /// (<see cref="Before"/>), the call's result combined with terms (<see cref="Terms"/>), or
    /// anything else (both null).
    /// </summary>
    private readonly record struct Symbolic(Operand? Before, Opcode? Op, List<Term>? Terms)
    {
        public static readonly Symbolic Unknown = new(null, null, null);
        public bool IsResult => Terms is not null;
    }

    /// <summary>
    /// Does the block return the call's result, perhaps combined by one associative, commutative
    /// op with values known at the call? Interprets what follows the call symbolically; a pure
    /// computation of known values is recorded to run at the call instead, into a fresh register.
    /// </summary>
    private static Site? Analyse(IrFunction function, BasicBlock block, int call) =>
        InterpretAfterCall(function, block, call, new Symbolic(null, null, []), known => new(known, null, null), v => v.Before,
            (instruction, operands, _) => Accumulate(instruction.Op, operands)) is ({ IsResult: true } final, var moved)
            ? new Site(block, final.Op, final.Terms!, moved)
            : null;

    /// <summary>
    /// Interprets what follows the call in its block, each value in the analysis' terms <typeparamref name="T"/>:
    /// the call's result is <paramref name="result"/>, a value known at the call is <paramref name="known"/> of it,
    /// and <paramref name="combine"/> gives an instruction's value from its operands' (it may record instructions
    /// to run at the call). A pure computation of known values is recorded to run at the call instead, into a fresh
    /// register. Gives the returned value's terms and what must run at the call, or null if the block does not
    /// return after the call.
    /// </summary>
    private static (T Returned, List<Instruction> Moved)? InterpretAfterCall<T>(
        IrFunction function, BasicBlock block, int call, T result, Func<Operand, T> known, Func<T, Operand?> before,
        Func<Instruction, T[], List<Instruction>, T> combine)
    {
        if (block.Terminator is not Return { Value: var returned }) return null;
        if (block.Instructions[call].Destination is not { } resultRegister) return null;
        var values = new Dictionary<VReg, T> { [resultRegister] = result };
        var moved = new List<Instruction>();
        T Resolve(Operand operand) =>
            !operand.IsConstant && values.TryGetValue(operand.Register, out var value) ? value : known(operand);

        for (var i = call + 1; i < block.Instructions.Count; i++)
        {
            var instruction = block.Instructions[i];
            var destination = instruction.Destination!.Value;
            if (instruction.Op == Opcode.Copy)
            {
                values[destination] = Resolve(instruction.Arguments[0]);
                continue;
            }
            var operands = instruction.Arguments.Select(Resolve).ToArray();
            if (Array.TrueForAll(operands, o => before(o) is not null))
            {
                var fresh = function.NewRegister();
                moved.Add(new Instruction(instruction.Op, fresh, [.. operands.Select(o => before(o)!.Value)], instruction.Symbol, instruction.Location));
                values[destination] = known(fresh);
                continue;
            }
            values[destination] = combine(instruction, operands, moved);
        }
        return (Resolve(returned), moved);
    }

    /// <summary>The result with one more term (<c>result op X</c>, <c>X op result</c>, or <c>result - X</c> as adding), or Unknown.</summary>
    private static Symbolic Accumulate(Opcode op, Symbolic[] operands)
    {
        if (operands.Length != 2) return Symbolic.Unknown;
        var (left, right) = (operands[0], operands[1]);
        if (op == Opcode.Subtract)
            return left.IsResult && right.Before is { } subtracted && left.Op is null or Opcode.Add
                ? new(null, Opcode.Add, [.. left.Terms!, new Term(subtracted, Subtract: true)])
                : Symbolic.Unknown;
        if (!IsAccumulating(op)) return Symbolic.Unknown;
        var (accumulated, term) = left.IsResult ? (left, right) : (right, left);
        return accumulated.IsResult && term.Before is { } value && (accumulated.Op is null || accumulated.Op == op)
            ? new(null, op, [.. accumulated.Terms!, new Term(value, Subtract: false)])
            : Symbolic.Unknown;
    }

    /// <summary>
    /// A tail site of the affine form: the block returns <c>P + Q * self(args)</c> with P and Q
    /// values as of the call (<see cref="Moved"/> computes them, and what they need, at the call).
    /// </summary>
    private sealed record AffineSite(BasicBlock Block, Operand P, Operand Q, List<Instruction> Moved);

    /// <summary>A value after the call as known values (<see cref="Before"/>), or <c>P + Q * result</c>, or neither.</summary>
    private readonly record struct Affine(Operand? Before, Operand P, Operand Q, bool IsResult)
    {
        public static readonly Affine Unknown = new(null, default, default, false);
    }

    /// <summary>
    /// Does the block return an affine function of the call's result, <c>P + Q * result</c>, with
    /// P and Q known at the call? Sums, differences on either side, products by known values,
    /// negation and shifts left by constants of the result compose (exactly, in wrapping arithmetic).
    /// </summary>
    private static AffineSite? AnalyseAffine(IrFunction function, BasicBlock block, int call)
    {
        return InterpretAfterCall(function, block, call, new Affine(null, Operand.Of(0), Operand.Of(1), true), known => new(known, default, default, false),
            v => v.Before, Combine) is ({ IsResult: true } final, var moved)
            ? new AffineSite(block, final.P, final.Q, moved)
            : null;

        Affine Combine(Instruction instruction, Affine[] operands, List<Instruction> moved)
        {
            var location = instruction.Location;
            Operand Emit(Opcode op, Operand a, Operand b)
            {
                if (a.IsConstant && b.IsConstant) return Operand.Of(op.Evaluate(a.Constant, b.Constant));
                if (op is Opcode.Add && a is { IsConstant: true, Constant: 0 }) return b;
                if (op is Opcode.Add or Opcode.Subtract && b is { IsConstant: true, Constant: 0 }) return a;
                if (op == Opcode.Multiply && (a is { IsConstant: true, Constant: 0 } || b is { IsConstant: true, Constant: 0 })) return Operand.Of(0);
                if (op == Opcode.Multiply && a is { IsConstant: true, Constant: 1 }) return b;
                if (op == Opcode.Multiply && b is { IsConstant: true, Constant: 1 }) return a;
                var fresh = function.NewRegister();
                moved.Add(new Instruction(op, fresh, [a, b], null, location));
                return fresh;
            }

            if (instruction.Op == Opcode.Negate && operands[0].IsResult)
                return new(null, Emit(Opcode.Subtract, Operand.Of(0), operands[0].P), Emit(Opcode.Subtract, Operand.Of(0), operands[0].Q), true);
            if (operands.Length != 2) return Affine.Unknown;
            var (left, right) = (operands[0], operands[1]);
            switch (instruction.Op)
            {
                case Opcode.Add when left.IsResult && right.Before is { } x:
                    return new(null, Emit(Opcode.Add, left.P, x), left.Q, true);
                case Opcode.Add when right.IsResult && left.Before is { } x:
                    return new(null, Emit(Opcode.Add, x, right.P), right.Q, true);
                case Opcode.Subtract when left.IsResult && right.Before is { } x:
                    return new(null, Emit(Opcode.Subtract, left.P, x), left.Q, true);
                case Opcode.Subtract when right.IsResult && left.Before is { } x:
                    return new(null, Emit(Opcode.Subtract, x, right.P), Emit(Opcode.Subtract, Operand.Of(0), right.Q), true);
                case Opcode.Multiply when left.IsResult && right.Before is { } x:
                    return new(null, Emit(Opcode.Multiply, left.P, x), Emit(Opcode.Multiply, left.Q, x), true);
                case Opcode.Multiply when right.IsResult && left.Before is { } x:
                    return new(null, Emit(Opcode.Multiply, x, right.P), Emit(Opcode.Multiply, x, right.Q), true);
                case Opcode.ShiftLeft when left.IsResult && right.Before is { IsConstant: true } k:
                    var factor = Operand.Of(1L << (int)(k.Constant & 63));
                    return new(null, Emit(Opcode.Multiply, left.P, factor), Emit(Opcode.Multiply, left.Q, factor), true);
                default:
                    return Affine.Unknown;
            }
        }
    }

    /// <summary>
    /// Every affine site becomes a jump back: with the function's result being <c>A + B * self(current)</c>
    /// (A = 0, B = 1 at entry), a site returning <c>P + Q * self(args)</c> sets <c>A = A + B*P</c>,
    /// <c>B = B*Q</c>; every other return of v returns <c>A + B*v</c>.
    /// </summary>
    private static void RewriteAffine(IrFunction function, List<AffineSite> sites)
    {
        var entry = function.Blocks[0];
        var header = SplitEntry(function);
        var a = function.NewRegister();
        var b = function.NewRegister();
        entry.Instructions.Add(new Instruction(Opcode.Copy, a, [Operand.Of(0)], null, function.Location));
        entry.Instructions.Add(new Instruction(Opcode.Copy, b, [Operand.Of(1)], null, function.Location));
        var siteBlocks = sites.Select(s => s.Block == entry ? header : s.Block).ToHashSet();
        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not Return { Value: var value } || siteBlocks.Contains(block)) continue;
            var location = block.Instructions.Count > 0 ? block.Instructions[^1].Location : function.Location;
            var scaled = function.NewRegister();
            var result = function.NewRegister();
            block.Instructions.Add(new Instruction(Opcode.Multiply, scaled, [b, value], null, location));
            block.Instructions.Add(new Instruction(Opcode.Add, result, [a, scaled], null, location));
            block.Terminator = new Return(result);
        }
        foreach (var site in sites)
        {
            var target = site.Block == entry ? header : site.Block;
            var call = target.Instructions.FindLastIndex(i => IsSelfCall(function, i));
            var arguments = target.Instructions[call].Arguments;
            var location = target.Instructions[call].Location;
            target.Instructions.RemoveRange(call, target.Instructions.Count - call);
            target.Instructions.AddRange(site.Moved);
            if (!site.P.IsConstant || site.P.Constant != 0)
            {
                var product = function.NewRegister();
                target.Instructions.Add(new Instruction(Opcode.Multiply, product, [b, site.P], null, location));
                target.Instructions.Add(new Instruction(Opcode.Add, a, [a, product], null, location));
            }
            if (!site.Q.IsConstant || site.Q.Constant != 1)
                target.Instructions.Add(new Instruction(Opcode.Multiply, b, [b, site.Q], null, location));
            JumpBack(function, target, arguments, header, location);
        }
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
