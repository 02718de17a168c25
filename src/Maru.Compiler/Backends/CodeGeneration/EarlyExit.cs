using System.Runtime.InteropServices;
using Maru.Compiler.Ir;
using Instruction = Maru.Compiler.Ir.Instruction;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// A function that starts by testing parameters (or constants) and, on one outcome of a test,
/// returns a parameter or a constant without doing anything else: fib's <c>(if (&lt; n 2) n ...)</c>,
/// or a chain of such tests, <c>(if (or (= r 0) (= c 0)) 1 ...)</c>. Each test block is one
/// comparison (or logical not) ending in a branch on it, or a branch on a parameter itself; the
/// first is the entry (nothing jumps back to it), each later one is reached only from the one
/// before; one successor of each leads through nothing but copies to a return, the other to the
/// next test or, after the last, to <paramref name="Continue"/>. The O1 code generator tests the
/// chain before the prologue (shrink-wrapping: the early paths save nothing), and a direct call
/// tests the first test at the call site on the argument registers, skipping the call when it
/// holds (the callee would only have returned the value).
/// </summary>
/// <param name="Tests">The tests in order, the entry block's first.</param>
/// <param name="Continue">Where the code goes when no test exits.</param>
internal sealed record EarlyExit(IReadOnlyList<EarlyTest> Tests, BasicBlock Continue)
{
    /// <summary>Longer chains gain little and cost code at every exit.</summary>
    private const int MaxTests = 4;

    public static EarlyExit? Find(IrFunction function, int registerArguments)
    {
        var entry = function.Blocks[0];
        var predecessors = new int[function.Blocks.Count];
        foreach (var each in CollectionsMarshal.AsSpan(function.Blocks))
            foreach (var successor in each.Successors)
                predecessors[successor.Index]++;
        if (predecessors[entry.Index] != 0) return null;

        var tests = new List<EarlyTest>();
        var block = entry;
        while (tests.Count < MaxTests && Test(function, registerArguments, block) is { } test)
        {
            tests.Add(test);
            block = test.Continue;
            // The next test must be reached from this one only (its block is not emitted again).
            if (predecessors[block.Index] != 1 || block == entry) break;
        }
        return tests.Count == 0 ? null : new EarlyExit(tests, tests[^1].Continue);
    }

    /// <summary>The block as an early test: its branch, and which successor returns what.</summary>
    private static EarlyTest? Test(IrFunction function, int registerArguments, BasicBlock block)
    {
        if (block.Terminator is not Branch { Condition.IsConstant: false } branch) return null;
        Instruction? comparison = null;
        if (block.Instructions.Count == 0)
        {
            // A branch on a parameter itself (Simplify made (= x 0) a branch on x with the targets swapped).
            if (!IsRegisterParameter(function, registerArguments, branch.Condition.Register)) return null;
        }
        else
        {
            if (block.Instructions.Count != 1) return null;
            comparison = block.Instructions[0];
            if (comparison.Destination != branch.Condition.Register || !(comparison.Op.IsComparison() || comparison.Op == Opcode.LogicalNot)) return null;
            var constants = 0;
            foreach (var operand in comparison.Arguments)
                if (operand.IsConstant) constants++;
                else if (!IsRegisterParameter(function, registerArguments, operand.Register)) return null;
            if (constants == comparison.Arguments.Length) return null;
        }
        foreach (var (exitWhenTrue, target, other) in new[] { (true, branch.IfTrue, branch.IfFalse), (false, branch.IfFalse, branch.IfTrue) })
            if (target != other && ReturnedOnThePath(function, registerArguments, target) is { } value)
                return new EarlyTest(block, comparison, branch.Condition, exitWhenTrue, value, other);
        return null;
    }

    private static bool IsRegisterParameter(IrFunction function, int registerArguments, VReg register) =>
        register.Index < function.ParameterCount && register.Index < registerArguments;

    /// <summary>What the path from <paramref name="start"/> returns, as a parameter or a constant, if it does nothing else.</summary>
    private static Operand? ReturnedOnThePath(IrFunction function, int registerArguments, BasicBlock start)
    {
        var values = new Dictionary<int, Operand>();
        Operand? Value(Operand operand) =>
            operand.IsConstant ? operand
            : values.TryGetValue(operand.Register.Index, out var known) ? known
            : IsRegisterParameter(function, registerArguments, operand.Register) ? operand
            : null;
        var block = start;
        for (var steps = 0; steps < function.Blocks.Count; steps++)
        {
            if (block == function.Blocks[0]) return null;
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
            {
                if (instruction.Op != Opcode.Copy || Value(instruction.Arguments[0]) is not { } value) return null;
                var destination = instruction.Destination!.Value;
                // A parameter overwritten on the path would be read later from its (stale) argument register.
                if (IsRegisterParameter(function, registerArguments, destination)) return null;
                values[destination.Index] = value;
            }
            switch (block.Terminator)
            {
                case Return ret:
                    return Value(ret.Value);
                case Jump jump:
                    block = jump.Target;
                    break;
                default:
                    return null;
            }
        }
        return null;
    }
}

/// <summary>One test of an <see cref="EarlyExit"/>.</summary>
/// <param name="Block">The test's block (not emitted again after the prologue).</param>
/// <param name="Comparison">The block's comparison (or logical not) of parameters and constants; null when the block branches on a parameter itself.</param>
/// <param name="Condition">What the block branches on.</param>
/// <param name="ExitWhenTrue">The early path is taken when the condition holds (is non-zero).</param>
/// <param name="Value">What the early path returns: a register parameter or a constant.</param>
/// <param name="Continue">The other successor.</param>
internal sealed record EarlyTest(BasicBlock Block, Instruction? Comparison, Operand Condition, bool ExitWhenTrue, Operand Value, BasicBlock Continue);
