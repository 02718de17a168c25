using System.Diagnostics;
using System.Globalization;
using System.Text;
using Maru.Compiler.Interop;

namespace Maru.Differential;

/// <summary>One call of a compiled function in a batch: the library, the Maru name and the arguments.</summary>
public sealed record QemuCall(string Library, string Function, IReadOnlyList<long> Arguments);

/// <summary>What a call did under qemu: its result and what it printed, or why it did not run.</summary>
public sealed record QemuResult(long? Value, string Output, string? Error);

/// <summary>
/// Runs linux-arm64 libraries under qemu-aarch64 on this x86-64 machine: a small loader, built
/// once per test run with aarch64-linux-gnu-gcc, reads commands on stdin (<c>lib PATH</c>,
/// <c>call SYMBOL ARGS...</c>), dlopens each library and calls functions with up to 10 word
/// arguments on a thread with a 1 GiB stack (deep recursion tests the code, not qemu's default
/// stack). Many libraries and calls go through one qemu process, so its start-up does not
/// dominate. Each call's output is framed by \x01 lines so standard output can be told apart.
/// </summary>
public static class QemuArm64
{
    private const string LoaderSource = """
        #include <dlfcn.h>
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        typedef long long (*fn_t)(long long, long long, long long, long long, long long,
                                  long long, long long, long long, long long, long long);
        static void *run(void *unused) {
          static char line[16384]; void *lib = NULL; (void)unused;
          while (fgets(line, sizeof line, stdin)) {
            char *tok = strtok(line, " \n");
            if (!tok) continue;
            if (!strcmp(tok, "lib")) {
              char *path = strtok(NULL, "\n");
              lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
              if (!lib) printf("\001dlopen %s\n", dlerror());
            } else if (!strcmp(tok, "call")) {
              char *name = strtok(NULL, " \n"); long long a[10] = {0}; int n = 0; char *t;
              while ((t = strtok(NULL, " \n")) && n < 10) a[n++] = strtoll(t, NULL, 10);
              fn_t f = lib ? (fn_t)dlsym(lib, name) : NULL;
              if (!f) { printf("\001error no symbol %s\n", name); fflush(stdout); continue; }
              printf("\001begin\n"); fflush(stdout);
              long long r = f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
              fflush(stdout);
              printf("\001result %lld\n", r);
            }
            fflush(stdout);
          }
          return NULL;
        }
        int main(void) {
          pthread_attr_t attr; pthread_t thread;
          pthread_attr_init(&attr);
          pthread_attr_setstacksize(&attr, (size_t)1 << 30);
          if (pthread_create(&thread, &attr, run, NULL) != 0) return 2;
          pthread_join(thread, NULL);
          return 0;
        }
        """;

    private static readonly Lazy<string> s_loader = new(BuildLoader, LazyThreadSafetyMode.ExecutionAndPublication);

    public const string Missing = "qemu-aarch64 or aarch64-linux-gnu-gcc missing: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross";

    public static bool Available => OnPath("qemu-aarch64") && OnPath("aarch64-linux-gnu-gcc");

    private static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, name)));

    /// <summary>Runs a tool to completion: exit code, standard output, standard error.</summary>
    private static (int ExitCode, string Output, string Error) Execute(string name, IEnumerable<string> arguments, string? input, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(name)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input ?? "");
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} ran longer than {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    private static string BuildLoader()
    {
        var directory = Directory.CreateTempSubdirectory("maru-qemu-loader-").FullName;
        var source = Path.Combine(directory, "loader.c");
        File.WriteAllText(source, LoaderSource);
        var loader = Path.Combine(directory, "loader");
        var build = Execute("aarch64-linux-gnu-gcc", ["-O1", "-o", loader, source, "-ldl", "-lpthread"], null, TimeSpan.FromMinutes(2));
        if (build.ExitCode != 0) throw new InvalidOperationException("building the arm64 loader failed\n" + build.Error);
        return loader;
    }

    /// <summary>Runs every call in order in one qemu process; a crash leaves the calls after it with an error.</summary>
    public static IReadOnlyList<QemuResult> Run(IReadOnlyList<QemuCall> calls, TimeSpan? timeout = null)
    {
        var script = new StringBuilder();
        string? current = null;
        foreach (var call in calls)
        {
            if (call.Library != current)
            {
                script.Append("lib ").Append(call.Library).Append('\n');
                current = call.Library;
            }
            script.Append("call ").Append(SymbolNames.ToSymbolName(call.Function));
            foreach (var argument in call.Arguments) script.Append(' ').Append(argument.ToString(CultureInfo.InvariantCulture));
            script.Append('\n');
        }
        var run = Execute("qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", s_loader.Value], script.ToString(), timeout ?? TimeSpan.FromMinutes(5));
        var results = new List<QemuResult>();
        var output = new StringBuilder();
        var inCall = false;
        var loadError = "";
        foreach (var line in run.Output.Split('\n'))
        {
            if (line.StartsWith("\u0001begin", StringComparison.Ordinal)) { inCall = true; output.Clear(); continue; }
            if (line.StartsWith("\u0001result ", StringComparison.Ordinal))
            {
                results.Add(new QemuResult(long.Parse(line["\u0001result ".Length..], CultureInfo.InvariantCulture), output.ToString(), null));
                inCall = false;
                continue;
            }
            if (line.StartsWith("\u0001dlopen ", StringComparison.Ordinal)) { loadError = line[1..]; continue; }
            if (line.StartsWith("\u0001error ", StringComparison.Ordinal)) { results.Add(new QemuResult(null, "", line[1..] + " " + loadError)); continue; }
            if (inCall) output.Append(line).Append('\n');
        }
        while (results.Count < calls.Count)
            results.Add(new QemuResult(null, output.ToString(), $"not run: the batch stopped (exit code {run.ExitCode}) {run.Error.Trim()}"));
        return results;
    }
}
