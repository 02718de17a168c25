using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// What passes share between runs (FlowGraph.Of's graph, Scratch arrays, per-thread tables) must
/// never leak from one function or compilation into the next, nor go stale after an edge changes.
/// </summary>
[TestClass]
public sealed class SharedAnalysisTests
{
    // entry: br %0, t, f;  t: jmp join;  f: jmp join;  join: ret 0
    private static (IrFunction Function, BasicBlock Entry, BasicBlock True, BasicBlock False, BasicBlock Join) Diamond()
    {
        var function = new IrFunction("diamond", 1, SourceLocation.None);
        var entry = function.NewBlock();
        var ifTrue = function.NewBlock();
        var ifFalse = function.NewBlock();
        var join = function.NewBlock();
        entry.Terminator = new Branch(function.Parameter(0), ifTrue, ifFalse);
        ifTrue.Terminator = new Jump(join);
        ifFalse.Terminator = new Jump(join);
        join.Terminator = new Return(Operand.Of(0));
        return (function, entry, ifTrue, ifFalse, join);
    }

    [TestMethod]
    public void TheGraphIsRebuiltWhenAnEdgeChanges()
    {
        var (function, entry, ifTrue, ifFalse, join) = Diamond();
        var graph = FlowGraph.Of(function);
        CollectionAssert.AreEqual(new[] { ifTrue, ifFalse }, graph.Predecessors[join.Index].ToArray());
        Assert.AreSame(entry, graph.ImmediateDominator[join.Index]);

        // The false arm now returns: the join has one predecessor, which dominates it.
        ifFalse.Terminator = new Return(Operand.Of(1));
        graph = FlowGraph.Of(function);
        CollectionAssert.AreEqual(new[] { ifTrue }, graph.Predecessors[join.Index].ToArray());
        Assert.AreSame(ifTrue, graph.ImmediateDominator[join.Index]);
        Assert.IsTrue(graph.Dominates(ifTrue, join));
        FlowGraph.Forget();
    }

    [TestMethod]
    public void AReusedGraphRenumbersBlocksAndDropsWhatBecameUnreachable()
    {
        var (function, entry, ifTrue, ifFalse, join) = Diamond();
        FlowGraph.Of(function);
        foreach (var block in function.Blocks) block.Index = 0;   // other code numbers blocks too
        var graph = FlowGraph.Of(function);
        Assert.AreEqual(3, join.Index);
        Assert.AreEqual(2, graph.Predecessors[join.Index].Length);

        entry.Terminator = new Jump(ifTrue);
        graph = FlowGraph.Of(function);
        CollectionAssert.DoesNotContain(function.Blocks, ifFalse);
        Assert.AreEqual(3, graph.ReversePostorder.Length);
        FlowGraph.Forget();
    }

    [TestMethod]
    public void AFirstBuildDropsAnUnreachableBlockBetweenReachableOnesAndItsPhiInputs()
    {
        // entry: br %0, t, join;  dead: jmp join (nothing reaches it);  t: jmp join;  join: %1 = phi [entry 1, dead 2, t 3]; ret %1
        var function = new IrFunction("dead-middle", 1, SourceLocation.None);
        var entry = function.NewBlock();
        var dead = function.NewBlock();
        var ifTrue = function.NewBlock();
        var join = function.NewBlock();
        entry.Terminator = new Branch(function.Parameter(0), ifTrue, join);
        dead.Terminator = new Jump(join);
        ifTrue.Terminator = new Jump(join);
        var phi = new Phi(function.NewRegister());
        phi.Inputs.Add(new PhiInput(entry, Operand.Of(1)));
        phi.Inputs.Add(new PhiInput(dead, Operand.Of(2)));
        phi.Inputs.Add(new PhiInput(ifTrue, Operand.Of(3)));
        join.Phis.Add(phi);
        join.Terminator = new Return(phi.Destination);

        var graph = FlowGraph.Of(function);
        CollectionAssert.AreEqual(new[] { entry, ifTrue, join }, function.Blocks);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, function.Blocks.Select(b => b.Index).ToArray());
        CollectionAssert.AreEqual(new[] { entry, ifTrue, join }, graph.ReversePostorder.ToArray());
        CollectionAssert.AreEqual(new[] { entry, ifTrue }, graph.Predecessors[join.Index].ToArray());
        CollectionAssert.AreEqual(new[] { entry, ifTrue }, phi.Inputs.Select(i => i.Predecessor).ToArray());
        Assert.AreSame(entry, graph.ImmediateDominator[join.Index]);
        FlowGraph.Forget();
    }

    [TestMethod]
    public void TheLoopPrecheckFindsACycleInAnyBlockOrderAndNoneInADiamond()
    {
        Assert.IsFalse(NaturalLoop.MayExist(Diamond().Function));

        // entry: jmp head;  latch: jmp head (listed before its header);  head: br %0, latch, exit;  exit: ret 0
        var function = new IrFunction("late-header", 1, SourceLocation.None);
        var entry = function.NewBlock();
        var latch = function.NewBlock();
        var head = function.NewBlock();
        var exit = function.NewBlock();
        entry.Terminator = new Jump(head);
        latch.Terminator = new Jump(head);
        head.Terminator = new Branch(function.Parameter(0), latch, exit);
        exit.Terminator = new Return(Operand.Of(0));
        Assert.IsTrue(NaturalLoop.MayExist(function));
        Assert.AreEqual(1, NaturalLoop.FindAll(FlowGraph.Of(function)).Count);

        // A block that branches to itself.
        var self = new IrFunction("self", 1, SourceLocation.None);
        var first = self.NewBlock();
        var spin = self.NewBlock();
        first.Terminator = new Jump(spin);
        var done = self.NewBlock();
        spin.Terminator = new Branch(self.Parameter(0), spin, done);
        done.Terminator = new Return(Operand.Of(0));
        Assert.IsTrue(NaturalLoop.MayExist(self));
        Assert.IsNotNull(NaturalLoop.GraphWithLoops(self));
        Assert.IsNotNull(NaturalLoop.GraphWithLoops(function));

        // An arm a pass appended after the join jumps back in the list, but there is no cycle.
        var (diamond, _, _, ifFalse, join) = Diamond();
        var late = diamond.NewBlock();
        ifFalse.Terminator = new Jump(late);
        late.Terminator = new Jump(join);
        Assert.IsTrue(NaturalLoop.MayExist(diamond));
        Assert.IsNull(NaturalLoop.GraphWithLoops(diamond));
        // ...until the join jumps back to the late arm.
        join.Terminator = new Branch(diamond.Parameter(0), late, join);
        Assert.IsNotNull(NaturalLoop.GraphWithLoops(diamond));
        FlowGraph.Forget();
    }

    [TestMethod]
    public void ImmediateDominatorsAgreeWithReachabilityOnRandomGraphsOfEverySize()
    {
        // Both algorithms (the iterative one below FlowGraph's size limit, Lengauer and Tarjan above it)
        // against the definition: d dominates b when b is unreachable once d is removed. Random graphs
        // with loops, irreducible regions, self loops, jumps back into the entry and unreachable blocks.
        var random = new Random(20261201);
        foreach (var size in new[] { 1, 2, 3, 5, 8, 13, 40, 100, 511, 512, 513, 700 })
            for (var round = 0; round < (size < 100 ? 30 : 3); round++)
            {
                var function = new IrFunction("g", 1, SourceLocation.None);
                var blocks = Enumerable.Range(0, size).Select(_ => function.NewBlock()).ToArray();
                for (var i = 0; i < size; i++)
                {
                    // A chain to the next block (long chains, deep trees), sometimes a jump anywhere; branches also go anywhere.
                    var next = blocks[random.Next(8) == 0 ? random.Next(size) : Math.Min(size - 1, i + 1)];
                    var kind = random.Next(50);
                    blocks[i].Terminator = kind == 0 || (i == size - 1 && kind % 2 == 0) ? new Return(Operand.Of(0))
                        : kind < 20 ? new Jump(next)
                        : random.Next(2) == 0 ? new Branch(function.Parameter(0), next, blocks[random.Next(size)])
                        : new Branch(function.Parameter(0), blocks[random.Next(size)], next);
                }
                var graph = FlowGraph.Of(function);
                var reached = function.Blocks;
                var n = reached.Count;
                if (size == 700) Assert.IsTrue(n > 512, $"only {n} blocks reachable: the large algorithm is not exercised");
                // dominators[b] = the blocks whose removal cuts b off from the entry (and b itself).
                var dominators = new HashSet<BasicBlock>[n];
                for (var b = 0; b < n; b++) dominators[b] = [reached[b]];
                for (var d = 0; d < n; d++)
                {
                    var seen = new HashSet<BasicBlock> { reached[0] };
                    var work = new Stack<BasicBlock>([reached[0]]);
                    while (d != 0 && work.TryPop(out var block))
                        foreach (var next in Successors(block))
                            if (next != reached[d] && seen.Add(next)) work.Push(next);
                    for (var b = 1; b < n; b++)
                        if (b != d && !seen.Contains(reached[b])) dominators[b].Add(reached[d]);
                }
                Assert.AreSame(reached[0], graph.ImmediateDominator[0]);
                for (var b = 1; b < n; b++)
                {
                    // The immediate dominator: the strict dominator with the most dominators of its own.
                    var expected = dominators[b].Where(d => d != reached[b]).MaxBy(d => dominators[reached.IndexOf(d)].Count);
                    Assert.AreSame(expected, graph.ImmediateDominator[b], $"size {size}, round {round}, block {b}");
                    foreach (var d in dominators[b]) Assert.IsTrue(graph.Dominates(d, reached[b]));
                }
            }
        FlowGraph.Forget();

        static IEnumerable<BasicBlock> Successors(BasicBlock block) => block.Terminator switch
        {
            Jump jump => [jump.Target],
            Branch branch => [branch.IfTrue, branch.IfFalse],
            _ => [],
        };
    }

    [TestMethod]
    public void RentedArraysAreClearedForTheLengthAsked()
    {
        var first = Scratch<long>.Rent(100);
        Array.Fill(first, -1L);
        Scratch<long>.Return(first);
        var second = Scratch<long>.Rent(60);
        for (var i = 0; i < 60; i++) Assert.AreEqual(0L, second[i]);
        Scratch<long>.Return(second);
        Scratch<long>.Return(second);   // returned twice: still handed out once
        var third = Scratch<long>.Rent(10);
        var fourth = Scratch<long>.Rent(10);
        Assert.AreNotSame(third, fourth);
    }

    [TestMethod]
    public void CompilationsOnOneThreadDoNotInfluenceEachOther()
    {
        // Different shapes and sizes (loops, phis, division by constants, calls), so the per-thread
        // tables grow, shrink and get reused across functions and compilations.
        string[] programs =
        [
            "(define-function f (n) (let ((a 0) (i 0)) (while (< i n) (set a (+ a (/ i 7))) (set i (+ i 1))) a))",
            "(define-function g (x) (if (= (% x 4) 0) (/ x 4) (or (= x 1) (and (> x 9) (g (- x 1))))))\n" +
            "(define-function h (x y) (let ((s 0)) (while (> x 0) (if (& x 1) (set s (+ s y)) (set s (- s 1))) (set x (>> x 1))) s))",
            string.Concat(Enumerable.Range(0, 40).Select(k => $"(define-function p{k} (x) (if (> x {k}) (+ x {k}) (p{Math.Max(k - 1, 0)} (+ x 1))))\n")),
        ];
        byte[] Compile(string source) =>
            MaruCompiler.Compile([new SourceFile("p.l", source)], new CompilationOptions { Target = TargetPlatform.LinuxX64, LibraryName = "p", GenerateCSharpShims = false })
                .Library ?? throw new AssertFailedException("did not compile");

        // Each alone, on a fresh thread: nothing shared yet.
        var alone = programs.Select(source =>
        {
            byte[]? bytes = null;
            var thread = new Thread(() => bytes = Compile(source));
            thread.Start();
            thread.Join();
            return bytes!;
        }).ToArray();
        // Then all interleaved on this one, twice over.
        for (var round = 0; round < 2; round++)
            for (var i = programs.Length - 1; i >= 0; i--)
                CollectionAssert.AreEqual(alone[i], Compile(programs[i]), $"program {i}, round {round}");
    }
}
