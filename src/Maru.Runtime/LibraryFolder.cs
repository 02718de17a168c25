using System.Diagnostics;

namespace Maru.Runtime;

/// <summary>
/// The process's private folder for the libraries it compiles: created on first use under the
/// temp folder (named after the process id), each library under a name never used before in this
/// process (the dynamic loader caches by path, and macOS caches code signatures per file), and
/// removed with whatever is left in it when the process exits. Folders left by processes that
/// died without exiting normally are removed when a later process that used one exits.
/// </summary>
internal static class LibraryFolder
{
    private const string Prefix = "maru-runtime-";
    private static readonly object s_lock = new();
    private static string? s_path;
    private static long s_counter;

    /// <summary>A fresh path in the folder for a library called <paramref name="fileName"/> (which must be unique in the process).</summary>
    public static string PathFor(string fileName) => Path.Combine(Folder, fileName);

    /// <summary>A name no other library of this process has: used as the library name (and so the ELF soname) and the file name.</summary>
    public static string NextLibraryName() => $"maru{Interlocked.Increment(ref s_counter)}";

    public static string Folder
    {
        get
        {
            var path = Volatile.Read(ref s_path);
            if (path is not null) return path;
            lock (s_lock)
            {
                if (s_path is not null) return s_path;
                path = Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-").FullName;
                // The tidying of other processes' folders waits for the exit too: it reads the whole
                // temp folder and starts a thread, which the first compilation should not pay for.
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    TryDeleteFolder(path);
                    RemoveFoldersOfDeadProcesses();
                };
                Volatile.Write(ref s_path, path);
                return path;
            }
        }
    }

    /// <summary>
    /// Writes a library to a new file. The name is unique, so the file is created, never truncated:
    /// File.WriteAllBytes opens with O_TRUNC, and ext4 (auto_da_alloc) then starts writing the data
    /// back to disk when the file is closed, which cost milliseconds per compilation on a busy machine.
    /// </summary>
    public static void Write(string path, byte[] bytes)
    {
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        RandomAccess.Write(handle, bytes, 0);
    }

    public static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Left for the exit handler or the next process: deleting is tidying, never a reason to fail.
        }
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>maru-runtime-&lt;pid&gt;-* folders whose process is gone (it crashed or was killed).</summary>
    private static void RemoveFoldersOfDeadProcesses()
    {
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
            {
                var name = Path.GetFileName(folder.AsSpan())[Prefix.Length..];
                var dash = name.IndexOf('-');
                if (dash <= 0 || !int.TryParse(name[..dash], out var pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
                TryDeleteFolder(folder);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
