using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Ir;
using Maru.Compiler.Lowering;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>IR for optimiser tests: lowered from Maru source, optimised whole or pass by pass, and inspected.</summary>
internal static class IrTesting
{
    public static IrModule Lower(string source)
    {
        var diagnostics = new DiagnosticBag();
        var evaluation = Evaluator.Process([new SourceFile("test.l", source)], CompiledLibrary.OptionsAt(OptimisationLevel.O0), diagnostics);
        var module = ModuleLowerer.Lower(evaluation.Unit, diagnostics);
        Assert.IsFalse(diagnostics.HasErrors, string.Join("\n", diagnostics.Items));
        return module;
    }

    /// <summary>The whole O1 pipeline, verifying after every stage (<paramref name="unroll"/> false: loops stay one loop each, for tests reading another pass's loop).</summary>
    public static IrModule Optimise(string source, bool unroll = true)
    {
        var module = Lower(source);
        var options = CompiledLibrary.OptionsAt(OptimisationLevel.O1);
        PassPipeline.Run(module, unroll ? options : new CompilationOptions
        {
            Target = options.Target, LibraryName = options.LibraryName, Optimisation = options.Optimisation, VerifyIr = true, UnrollLoopsForTesting = false,
        });
        return module;
    }

    /// <summary>Lowers <paramref name="source"/> and runs the given passes on one function, verifying after each.</summary>
    public static IrFunction RunPasses(string source, string name, params (Action<IrFunction> Pass, IrForm Leaves)[] passes)
    {
        var function = Function(Lower(source), name);
        foreach (var (pass, leaves) in passes)
        {
            pass(function);
            IrVerifier.Verify(function, leaves);
        }
        return function;
    }

    public static readonly (Action<IrFunction>, IrForm) Ssa = (SsaConstruction.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) Sccp = (ConstantPropagation.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) Copy = (CopyPropagation.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) SimplifyPass = (Simplify.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) Dce = (DeadCodeElimination.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) Cfg = (SimplifyControlFlow.Run, IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) Licm =
        (f => LoopInvariantCodeMotion.Run(f, Maru.Compiler.Backends.CodeGeneration.BackendRegistry.For(CompiledLibrary.Options.Target)!.Costs), IrForm.Ssa);
    public static readonly (Action<IrFunction>, IrForm) SsaOut = (SsaDestruction.Run, IrForm.Plain);

    public static IrFunction Function(IrModule module, string name) => module.Functions.Single(f => f.Name == name);

    public static IEnumerable<Instruction> Instructions(IrFunction function) => function.Blocks.SelectMany(b => b.Instructions);

    public static bool Calls(IrFunction function, string callee) =>
        Instructions(function).Any(i => i.Op == Opcode.Call && i.Symbol == callee);

    /// <summary>Is the block on a cycle of the control-flow graph (inside some loop)?</summary>
    public static bool InLoop(BasicBlock block)
    {
        var seen = new HashSet<BasicBlock>();
        var work = new Stack<BasicBlock>(block.Successors);
        while (work.Count > 0)
        {
            var next = work.Pop();
            if (next == block) return true;
            if (seen.Add(next)) foreach (var s in next.Successors) work.Push(s);
        }
        return false;
    }

    public static BasicBlock BlockOf(IrFunction function, Func<Instruction, bool> predicate) =>
        function.Blocks.Single(b => b.Instructions.Any(predicate));

    /// <summary>Compiles at O0 and at O1 and asserts both give the same result for every argument tuple; returns the O1 results.</summary>
    public static long[] AssertSameAtBothLevels(string source, string function, params long[][] argumentSets)
    {
        using var o0 = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        var results = new long[argumentSets.Length];
        for (var i = 0; i < argumentSets.Length; i++)
        {
            var expected = o0.Call(function, argumentSets[i]);
            results[i] = o1.Call(function, argumentSets[i]);
            Assert.AreEqual(expected, results[i], $"({function} {string.Join(" ", argumentSets[i])}) differs between O0 and O1");
        }
        return results;
    }

    /// <summary>Compiles at O0 and at O1 and asserts every call gives what the test's model of the function says.</summary>
    public static void AssertModelAtBothLevels(string source, IEnumerable<(string Function, long[] Arguments, long Expected)> cases)
    {
        using var o0 = CompiledLibrary.Compile(source, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(source, OptimisationLevel.O1);
        foreach (var (name, arguments, expected) in cases)
        {
            Assert.AreEqual(expected, o0.Call(name, arguments), $"O0 ({name} {string.Join(" ", arguments)})");
            Assert.AreEqual(expected, o1.Call(name, arguments), $"O1 ({name} {string.Join(" ", arguments)})");
        }
    }

    public static readonly long[] Samples =
        [0, 1, -1, 2, -2, 3, -3, 7, -7, 8, -8, 9, 63, 64, 65, 1000, -1000, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, long.MinValue + 1, long.MaxValue - 1];
}
