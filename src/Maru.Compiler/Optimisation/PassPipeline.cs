using Maru.Compiler.Backends.CodeGeneration;
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
        new("stores", (f, _, _) => DeadStores.Run(f), IrForm.Ssa),                // stores into local allocations nothing reads
        new("dce", (f, _, _) => DeadCodeElimination.Run(f), IrForm.Ssa),
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Ssa),           // jumps, merges, unreachable
        new("copy", (f, _, _) => CopyPropagation.Run(f), IrForm.Ssa),              // phis of merged blocks
        new("merge", (f, _, _) => TailMerging.Run(f), IrForm.Ssa),                 // arms doing the same -> one block (one switch target)
        new("jumps", (f, _, _) => JumpThreading.Run(f), IrForm.Ssa),               // edges whose predecessor decided the branch -> its successor
        new("ifconv", (f, _, _) => IfConversion.Run(f), IrForm.Ssa),             // cheap two-way choices -> selects (cmov/csel)
        new("licm", (f, _, costs) => LoopInvariantCodeMotion.Run(f, costs), IrForm.Ssa),
        new("iv", (f, _, _) => InductionVariables.Run(f), IrForm.Ssa),               // products of induction variables -> additions
        new("address", (f, _, costs) => LoopAddressing.Run(f, costs), IrForm.Ssa),         // invariant parts of loop addresses -> preheader
        new("unroll", (f, _, _) => LoopUnrolling.Run(f), IrForm.Ssa),             // small counted innermost loops x2/x4, split reductions
        new("idioms", (f, _, _) => LoopIdioms.Run(f), IrForm.Ssa),               // byte fills and copies -> eight bytes at a time
        new("fold", (f, _, costs) => AddressFolding.Run(f, costs), IrForm.Ssa),            // constant offsets -> displacements of accesses
        new("values", (f, _, _) => ValueRanges.Run(f), IrForm.Ssa),               // value ranges: division checks dropped, known constants
        new("ssa-out", (f, _, _) => SsaDestruction.Run(f), IrForm.Plain),         // phis -> copies
        new("switch", (f, _, _) => SwitchLowering.Run(f), IrForm.Plain),         // many-way tests of one value -> a balanced tree
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Plain),
        new("version", (f, _, costs) => DivisorVersioning.Run(f, costs), IrForm.Plain),   // a loop copy for a loop-invariant divisor neither 0 nor -1
        new("rotate", (f, _, _) => LoopRotation.Run(f), IrForm.Plain),           // loop tests at the bottom
        new("flags", (f, _, _) => FlagThreading.Run(f), IrForm.Plain),            // branches on flags decided on the path -> jumps
        new("thread", (f, _, _) => BranchThreading.Run(f), IrForm.Plain),         // branches on copies, decided branches
        new("cfg", (f, _, _) => SimplifyControlFlow.Run(f), IrForm.Plain),
        new("layout", (f, _, _) => BlockLayout.Run(f), IrForm.Plain),            // fall-through chains
        new("schedule", (f, _, _) => FlagScheduling.Run(f), IrForm.Plain),       // a branch's producer next to it: flags reused
        new("divrem", (f, _, _) => DivisionPairing.Run(f), IrForm.Plain),        // x % y next to x / y: one division for both
        new("rmw", (f, _, _) => ReadModifyWriteSinking.Run(f), IrForm.Plain),   // a load next to its op and store back: one instruction on memory
        new("compact", (f, _, _) => RegisterCompaction.Run(f), IrForm.Final),
    ];

    /// <summary>The stage names in order (what a dump can show).</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["lower", .. Passes.Select(p => p.Name)];

    /// <param name="checkBudget">Called after every pass (so also between functions; the caller checks before the first); throws when the compilation must stop (its time limit).</param>
    /// <param name="stream">
    /// When given, receives each function as it is finished and generates it (on several threads,
    /// generating overlaps optimising the rest; else once all are finished, in module order).
    /// </param>
    internal static void Run(IrModule module, CompilationOptions options, Action? checkBudget, IFunctionStream? stream)
    {
        if (options.Optimisation == OptimisationLevel.O0)
        {
            foreach (var function in module.Functions)
            {
                AfterStage("lower", function, IrForm.Final, options);
                stream?.Optimised(function);
            }
            for (var i = 0; stream is not null && i < module.Functions.Count; i++) stream.Generate(i);
            return;
        }
        var costs = Backends.CodeGeneration.BackendRegistry.For(options.Target)?.Costs
                    ?? throw new NotSupportedException($"no backend for {options.Target}");
        var calls = new CallGraph(module);
        try
        {
            var workers = options.DumpIr is null ? ParallelWork.Workers(options, module) : 1;   // dumps come in the sequential order
            if (workers > 1)
            {
                RunInParallel(module, calls, workers, function => Optimise(function, calls, costs, options, checkBudget, stream), stream);
                return;
            }
            foreach (var function in calls.BottomUp) Optimise(function, calls, costs, options, checkBudget, stream);
            for (var i = 0; stream is not null && i < module.Functions.Count; i++) stream.Generate(i);
        }
        finally
        {
            FlowGraph.Forget();   // the shared analysis must not keep this module alive
        }
    }

    public static void Run(IrModule module, CompilationOptions options, Action? checkBudget = null) => Run(module, options, checkBudget, stream: null);

    /// <summary>Runs every pass over one function, then marks it finished (its body final: callers may copy it).</summary>
    private static void Optimise(IrFunction function, CallGraph calls, ITargetCosts costs, CompilationOptions options, Action? checkBudget, IFunctionStream? stream)
    {
        AfterStage("lower", function, IrForm.Plain, options);
        foreach (var pass in Passes)
        {
            if (pass.Name != "unroll" || options.UnrollLoopsForTesting) pass.Run(function, calls, costs);
            AfterStage(pass.Name, function, pass.Leaves, options);
            checkBudget?.Invoke(); // one huge function must not outlast the limit by a whole pipeline
        }
        // Number the blocks by position once, now: an inliner copying this body reads the numbers,
        // and from here on several may do so at once (they then find them right and write nothing).
        for (var b = 0; b < function.Blocks.Count; b++) function.Blocks[b].Index = b;
        calls.MarkOptimised(function);
        stream?.Optimised(function);
        FlowGraph.Forget();
    }

    /// <summary>
    /// Optimises the call graph's components on several threads, each component once every
    /// component it calls into is finished, its members in <see cref="CallGraph.BottomUp"/> order
    /// on one thread. What a function's passes read of others is exactly what the sequential order
    /// shows them (<see cref="Inlining"/> copies only finished callees, and inside a component only
    /// the members before it), so the output is the sequential one, byte for byte. With a
    /// <paramref name="stream"/>, each function is also an item generated once its component is
    /// finished (everything it calls, inlined bodies' calls included, is then final); those come
    /// after the components in number, so a thread takes a ready component first and generates
    /// code while the last large components wait for their callees.
    /// </summary>
    private static void RunInParallel(IrModule module, CallGraph calls, int workers, Action<IrFunction> optimise, IFunctionStream? stream)
    {
        var order = calls.BottomUp;
        var starts = new List<int>();   // component k = order[starts[k]..starts[k+1]]
        for (var i = 0; i < order.Count; i++)
            if (i == 0 || calls.ComponentOf(order[i]) != calls.ComponentOf(order[i - 1])) starts.Add(i);
        var count = starts.Count;
        starts.Add(order.Count);
        var item = new Dictionary<int, int>(count);   // component number -> work item
        for (var k = 0; k < count; k++) item[calls.ComponentOf(order[starts[k]])] = k;
        var generated = stream is null ? 0 : module.Functions.Count;
        var waiting = new int[count + generated];
        var dependants = new List<int>[count];
        for (var k = 0; k < count; k++) dependants[k] = [];
        var seen = new int[count];
        Array.Fill(seen, -1);
        for (var k = 0; k < count; k++)
            for (var i = starts[k]; i < starts[k + 1]; i++)
                foreach (var callee in calls.Callees(order[i]))
                {
                    var c = item[calls.ComponentOf(callee)];
                    if (c == k || seen[c] == k) continue;
                    seen[c] = k;
                    waiting[k]++;
                    dependants[c].Add(k);
                }
        for (var i = 0; i < generated; i++)
        {
            waiting[count + i] = 1;
            dependants[item[calls.ComponentOf(module.Functions[i])]].Add(count + i);
        }
        int[][] lists = [.. dependants.Select(d => d.ToArray()), .. Enumerable.Repeat(Array.Empty<int>(), generated)];
        ParallelWork.Run(workers, waiting, lists, k =>
        {
            if (k >= count)
            {
                stream!.Generate(k - count);
                return;
            }
            for (var i = starts[k]; i < starts[k + 1]; i++) optimise(order[i]);
        }, FlowGraph.Forget);
    }

    private static void AfterStage(string stage, IrFunction function, IrForm form, CompilationOptions options)
    {
        if (options.VerifyIr) IrVerifier.Verify(function, form, stage);
        options.DumpIr?.Invoke(new IrDump(stage, function.Name, IrPrinter.Print(function)));
    }
}
