using System.Diagnostics;
using Maru.Runtime;

// HotReload: watches a Maru file, recompiles it on every save (Maru.Runtime: source text to loaded
// native code, inside this process) and swaps the new code in while a worker thread keeps calling
// (step n). A call in progress finishes in the old code; the old library is unloaded and deleted
// when it returns. A save with errors prints them and keeps the running code.
//
//   dotnet run                  watch lisp/live.l until Ctrl+C
//   dotnet run -- other.l       watch another file
//   dotnet run -- --demo        edit a copy of the file three times by itself, then exit

var demo = args.Contains("--demo");
var path = Path.GetFullPath(args.FirstOrDefault(a => !a.StartsWith("--")) ?? Path.Combine(AppContext.BaseDirectory, "lisp", "live.l"));
if (demo)
{
    var copy = Path.Combine(Directory.CreateTempSubdirectory("maru-hotreload-").FullName, "live.l");
    File.Copy(path, copy);
    path = copy;
}

Func<long, long>? current = null;   // the delegate holds its module for the length of each call
MaruModule? module = null;
var gate = new object();

bool Reload()
{
    string source;
    try
    {
        source = File.ReadAllText(path);
    }
    catch (IOException)
    {
        return false;   // the editor is still writing; the next change event retries
    }
    var clock = Stopwatch.StartNew();
    try
    {
        var next = MaruModule.Compile(source, new MaruCompileOptions { FileName = path });
        var step = next.GetFunction<Func<long, long>>("step");
        var elapsed = clock.Elapsed.TotalMilliseconds;
        MaruModule? old;
        lock (gate)
        {
            old = module;
            (module, current) = (next, step);
        }
        old?.Dispose();   // unloaded once no call into it is in progress
        Console.WriteLine($"[reload] compiled and loaded in {elapsed:F2} ms: {next.LibraryPath}");
        return true;
    }
    catch (MaruCompilationException failure)
    {
        Console.WriteLine($"[reload] not reloaded, the running code stays:\n{failure.Message}");
        return true;
    }
    catch (KeyNotFoundException)
    {
        Console.WriteLine("[reload] not reloaded: the file defines no (step n)");
        return true;
    }
    catch (ArgumentException wrong)
    {
        Console.WriteLine($"[reload] not reloaded: {wrong.Message}");
        return true;
    }
}

Reload();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

var worker = new Thread(() =>
{
    for (long n = 1; !stop.IsCancellationRequested; n++)
    {
        Func<long, long>? step;
        lock (gate) step = current;
        if (step is not null) Console.WriteLine($"step({n}) = {step(n)}");
        Thread.Sleep(demo ? 100 : 1000);
    }
});
worker.Start();

using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
{
    NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName,
};
var changed = new SemaphoreSlim(0);
watcher.Changed += (_, _) => changed.Release();
watcher.Created += (_, _) => changed.Release();
watcher.Renamed += (_, _) => changed.Release();
watcher.EnableRaisingEvents = true;
Console.WriteLine($"watching {path}{(demo ? " (demo: editing it three times)" : "; edit and save it, Ctrl+C to stop")}");

if (demo)
{
    foreach (var body in new[] { "(* n n)", "(+ n 1000", "(- 0 n)" })
    {
        Thread.Sleep(350);
        Console.WriteLine($"[demo] step becomes {body}");
        File.WriteAllText(path, $"(define-function step (n)\n  {body})\n");
        Reload();   // the watcher would too; the demo does not wait for it
    }
    Thread.Sleep(350);
    stop.Cancel();
}
else
{
    while (!stop.IsCancellationRequested)
    {
        try
        {
            changed.Wait(stop.Token);
        }
        catch (OperationCanceledException)
        {
            break;
        }
        Thread.Sleep(50);   // editors write in several steps: let the save finish, then take every event so far
        while (changed.Wait(0)) { }
        Reload();
    }
}
worker.Join();
lock (gate) module?.Dispose();
if (demo) Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
