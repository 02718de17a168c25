using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>What a dump hook receives: the IR of one function after one stage.</summary>
public sealed record IrDump(string Stage, string FunctionName, string Text);

/// <summary>
/// The optimising middle end. The passes run in the order listed in <see cref="Passes"/>, one
/// function at a time, callees before callers so inlining copies optimised bodies. After every
/// stage the IR can be verified (<see cref="CompilationOptions.VerifyIr"/>) and dumped
/// (<see cref="CompilationOptions.DumpIr"/>). At O0 the lowered IR goes to the backend as is.
/// </summary>
public static class PassPipeline
{
    private sealed record Pass(string Name, Action<IrFunction, CallGraph, ITargetCosts> Run, IrForm Leaves);

    private static readonly Pass[] Passes =
    [
        // Tail calls before inlining, so a self tail call is a loop before a small function gets a copy
        // of itself; and again after it: a cycle member's inlined body brings back calls to this function.
        new("tailcalls", (f, _, _) => TailCalls.Run(f), IrForm.Plain),             // self tail calls -> loops
        new("inline", (f, calls, _) => Inlining.Run(f, calls), IrForm.Plain),              // small callees (cycle members: into their cycle)
        new("tailcalls", (f, _, _) => TailCalls.Run(f), IrForm.Plain),             // self calls the inlined bodies brought
        new("ssa", (f, _, _) => SsaConstruction.Run(f), IrForm.Ssa),               // pruned SSA
        new("sccp", (f, _, _) => ConstantPropagation.Run(f), IrForm.Ssa),          // constants, decided branches
        new("copy", (f, _, _) => CopyPropagation.Run(f), IrForm.Ssa),
        new("simplify", (f, _, _) => Simplify.Run(f), IrForm.Ssa),                 // identities, strength reduction
        new("copy", (f, _, _) => CopyPropagation.Run(f), IrForm.Ssa),
        new("gvn", (f, _, _) => GlobalValueNumbering.Run(f), IrForm.Ssa),         // common subexpressions, repeated loads
        new("copy", (f, _, _) => CopyPropagation.Run(f), IrForm.Ssa),
        new("facts", (f, _, _) => BranchFacts.Run(f), IrForm.Ssa),                 // values a branch decides on its edges (a repeated test is one value after gvn)
        new("simplify", (f, _, _) => Simplify.Run(f), IrForm.Ssa),                 // fold what the facts made constant
        new("ranges", (f, _, _) => RangeChecks.Run(f), IrForm.Ssa),                // lo <= x <= hi tests -> one unsigned compare
        new("dce", (f, _, _) => DeadCodeElimination.Run(f), IrForm.Ssa),
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Ssa),           // jumps, merges, unreachable
        new("copy", (f, _, _) => CopyPropagation.Run(f), IrForm.Ssa),              // phis of merged blocks
        new("licm", (f, _, costs) => LoopInvariantCodeMotion.Run(f, costs), IrForm.Ssa),
        new("iv", (f, _, _) => InductionVariables.Run(f), IrForm.Ssa),               // products of induction variables -> additions
        new("address", (f, _, costs) => LoopAddressing.Run(f, costs), IrForm.Ssa),         // invariant parts of loop addresses -> preheader
        new("fold", (f, _, costs) => AddressFolding.Run(f, costs), IrForm.Ssa),            // constant offsets -> displacements of accesses
        new("ssa-out", (f, _, _) => SsaDestruction.Run(f), IrForm.Plain),         // phis -> copies
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Plain),
        new("rotate", (f, _, _) => LoopRotation.Run(f), IrForm.Plain),           // loop tests at the bottom
        new("flags", (f, _, _) => FlagThreading.Run(f), IrForm.Plain),            // branches on flags decided on the path -> jumps
        new("thread", (f, _, _) => BranchThreading.Run(f), IrForm.Plain),         // branches on copies, decided branches
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Plain),
        new("layout", (f, _, _) => BlockLayout.Run(f), IrForm.Plain),            // fall-through chains
        new("compact", (f, _, _) => RegisterCompaction.Run(f), IrForm.Final),
    ];

    /// <summary>The stage names in order (what a dump can show).</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["lower", .. Passes.Select(p => p.Name)];

    /// <param name="checkBudget">Called after every pass (so also between functions; the caller checks before the first); throws when the compilation must stop (its time limit).</param>
    public static void Run(IrModule module, CompilationOptions options, Action? checkBudget = null)
    {
        if (options.Optimisation == OptimisationLevel.O0)
        {
            foreach (var function in module.Functions) AfterStage("lower", function, IrForm.Final, options);
            return;
        }
        var costs = Backends.CodeGeneration.BackendRegistry.For(options.Target)?.Costs
                    ?? throw new NotSupportedException($"no backend for {options.Target}");
        var calls = new CallGraph(module);
        try
        {
            foreach (var function in calls.BottomUp)
            {
                AfterStage("lower", function, IrForm.Plain, options);
                foreach (var pass in Passes)
                {
                    pass.Run(function, calls, costs);
                    AfterStage(pass.Name, function, pass.Leaves, options);
                    checkBudget?.Invoke(); // one huge function must not outlast the limit by a whole pipeline
                }
                calls.MarkOptimised(function);
                FlowGraph.Forget();
            }
        }
        finally
        {
            FlowGraph.Forget();   // the shared analysis must not keep this module alive
        }
    }

    private static void AfterStage(string stage, IrFunction function, IrForm form, CompilationOptions options)
    {
        if (options.VerifyIr) IrVerifier.Verify(function, form, stage);
        options.DumpIr?.Invoke(new IrDump(stage, function.Name, IrPrinter.Print(function)));
    }
}
