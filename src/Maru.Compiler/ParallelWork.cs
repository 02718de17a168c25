using System.Runtime.ExceptionServices;

namespace Maru.Compiler;

/// <summary>
/// Runs numbered work items on the calling thread plus up to <c>workers - 1</c> helpers from the
/// thread pool, each item once every item it depends on has finished (the optimiser's call-graph
/// components: a caller inlines its callees' finished bodies). The caller works too, so the work
/// completes even when the pool has no thread to spare; a helper that starts after the work is
/// done leaves without touching it, and <see cref="Run"/> returns only once no helper is inside an
/// item. Ready items are taken lowest number first. Which thread runs an item never matters to
/// the output: an item reads only what its finished dependencies wrote and per-thread scratch
/// state (<c>Scratch</c>, <c>FlowGraph.Of</c>), so the bytes are those of the sequential order.
/// The first failure (by item number among those that failed) is rethrown on the caller's thread
/// as it was thrown; items not yet started then never start.
/// </summary>
internal sealed class ParallelWork
{
    private readonly object _lock = new();
    private readonly int[] _waiting;                 // unfinished dependencies of each item
    private readonly int[][] _dependants;            // items waiting for each item
    private readonly PriorityQueue<int, int> _ready = new();
    private readonly Action<int> _work;
    private readonly Action? _threadDone;
    private int _unfinished;
    private int _helpers;                            // helpers inside Work
    private int _running;                            // items being worked on
    private bool _closed;                            // the caller has left: late helpers do nothing
    private int _failedItem = int.MaxValue;
    private ExceptionDispatchInfo? _failure;

    /// <summary>
    /// A module of fewer IR instructions than this is optimised and generated on the caller's
    /// thread alone: waking a helper and handing items over costs more than it saves on a small
    /// module (the run-time API's warm compile of one small function is a few hundred microseconds).
    /// The passes and the code generator take about 3 µs per instruction (eval.l: 10,000 instructions,
    /// 30 ms), so this is several milliseconds of work, against tens of microseconds to wake a helper.
    /// </summary>
    public const int MinParallelInstructions = 2000;

    /// <summary>How many threads (the caller's included) to use on a module of <paramref name="instructions"/> IR instructions.</summary>
    public static int Workers(CompilationOptions options, int instructions) =>
        options.ParallelismForTesting ?? (instructions < MinParallelInstructions ? 1 : Math.Min(Environment.ProcessorCount, MaxWorkers));

    /// <summary>How many threads to use on the module (its IR instructions now, plus a block's terminator each).</summary>
    public static int Workers(CompilationOptions options, Ir.IrModule module)
    {
        var size = 0;
        foreach (var function in module.Functions)
            foreach (var block in function.Blocks) size += block.Instructions.Count + 1;
        return Workers(options, size);
    }

    /// <summary>More threads than this gain little: the work ends with a few large callers that wait for everything below them.</summary>
    private const int MaxWorkers = 4;

    private ParallelWork(int[] waiting, int[][] dependants, Action<int> work, Action? threadDone)
    {
        _waiting = waiting;
        _dependants = dependants;
        _work = work;
        _threadDone = threadDone;
        _unfinished = waiting.Length;
        for (var i = 0; i < waiting.Length; i++)
            if (waiting[i] == 0) _ready.Enqueue(i, i);
    }

    /// <summary>Runs items 0..n-1 with no order between them.</summary>
    public static void Run(int workers, int count, Action<int> work, Action? threadDone = null)
    {
        var none = new int[count][];
        Array.Fill(none, []);
        Run(workers, new int[count], none, work, threadDone);
    }

    /// <param name="waiting">Per item, how many items it waits for (consumed).</param>
    /// <param name="dependants">Per item, the items waiting for it (each counted once in their <paramref name="waiting"/>).</param>
    /// <param name="threadDone">Run by each helper thread when it leaves (per-thread state it must not keep).</param>
    public static void Run(int workers, int[] waiting, int[][] dependants, Action<int> work, Action? threadDone = null)
    {
        var schedule = new ParallelWork(waiting, dependants, work, threadDone);
        for (var i = 1; i < Math.Min(workers, waiting.Length); i++)
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Help(), schedule, preferLocal: false);
        schedule.Work();
        lock (schedule._lock)
        {
            schedule._closed = true;
            while (schedule._helpers > 0) Monitor.Wait(schedule._lock);
        }
        schedule._failure?.Throw();
        if (schedule._unfinished != 0) throw new InvalidOperationException("a dependency cycle among parallel work items");
    }

    private void Help()
    {
        lock (_lock)
        {
            if (_closed) return;
            _helpers++;
        }
        try
        {
            Work();
        }
        finally
        {
            _threadDone?.Invoke();
            Ir.ScratchLists.ReleaseLarge();
            lock (_lock)
            {
                _helpers--;
                Monitor.PulseAll(_lock);
            }
        }
    }

    private void Work()
    {
        while (true)
        {
            int item;
            lock (_lock)
            {
                while (true)
                {
                    if (_failure is not null || _unfinished == 0) return;
                    if (_ready.TryDequeue(out item, out _)) break;
                    if (_running == 0) return;   // nothing ready and nothing that could make it ready: a cycle (Run reports it)
                    Monitor.Wait(_lock);
                }
                _running++;
            }
            try
            {
                _work(item);
            }
            catch (Exception exception)
            {
                lock (_lock)
                {
                    _running--;
                    if (item < _failedItem)
                    {
                        _failedItem = item;
                        _failure = ExceptionDispatchInfo.Capture(exception);
                    }
                    Monitor.PulseAll(_lock);
                }
                return;
            }
            lock (_lock)
            {
                _running--;
                _unfinished--;
                var woke = _unfinished == 0;
                foreach (var dependant in _dependants[item])
                    if (--_waiting[dependant] == 0)
                    {
                        _ready.Enqueue(dependant, dependant);
                        woke = true;
                    }
                if (woke || _running == 0) Monitor.PulseAll(_lock);
            }
        }
    }
}
