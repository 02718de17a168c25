using System.Diagnostics;

namespace Maru.Runtime;

/// <summary>
/// The process's private folder for the libraries it compiles: created on first use (named after
/// the process id, readable by its owner only), each library under a name never used before in this
/// process (the dynamic loader caches by path, and macOS caches code signatures per file), and
/// removed with whatever is left in it when the process exits. Folders left by processes that
/// died without exiting normally are removed when a later process that used one exits.
/// <para>
/// Where: on Linux, unless TMPDIR names a temp folder, in /dev/shm (memory: creating, loading and
/// deleting a small file there costs a fraction of what it costs on a disk file system, and the
/// file is only ever read by the loader); otherwise, or when a library cannot be loaded from there
/// (a noexec mount), under the temp folder.
/// </para>
/// </summary>
internal static class LibraryFolder
{
    private const string Prefix = "maru-runtime-";
    private const string MemoryRoot = "/dev/shm";
    private static readonly object s_lock = new();
    private static string? s_path;
    private static bool s_inMemory;
    private static long s_counter;

    /// <summary>A fresh path in the folder for a library called <paramref name="fileName"/> (which must be unique in the process).</summary>
    public static string PathFor(string fileName) => Path.Combine(Folder, fileName);

    /// <summary>A name no other library of this process has: used as the library name (and so the ELF soname) and the file name.</summary>
    public static string NextLibraryName() => "maru" + Interlocked.Increment(ref s_counter).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Folder
    {
        get
        {
            var path = Volatile.Read(ref s_path);
            if (path is not null) return path;
            lock (s_lock)
            {
                if (s_path is not null) return s_path;
                path = CreateFolder(MemoryRootToUse());
                s_inMemory = path is not null;
                path ??= CreateFolder(Path.GetTempPath()) ?? Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-").FullName;
                // The tidying of other processes' folders waits for the exit too: it reads the whole
                // temp folder and starts a thread, which the first compilation should not pay for.
                var created = path;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    TryDeleteFolder(created);
                    RemoveFoldersOfDeadProcesses();
                };
                Volatile.Write(ref s_path, path);
                return path;
            }
        }
    }

    /// <summary>
    /// The library at <paramref name="path"/> could not be loaded. When it was in the memory folder
    /// (mounted noexec, say), later libraries go to a folder under the temp folder instead, and the
    /// path to write this one to again is returned; otherwise null (the failure is the caller's).
    /// </summary>
    public static string? MoveOutOfMemory(string path)
    {
        lock (s_lock)
        {
            if (Path.GetDirectoryName(path) != s_path || !s_inMemory) return null;
            var folder = CreateFolder(Path.GetTempPath());
            if (folder is null) return null;
            var old = s_path!;
            s_inMemory = false;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDeleteFolder(folder);
            Volatile.Write(ref s_path, folder);
            TryDelete(path);
            TryDeleteFolder(old);
            return Path.Combine(folder, Path.GetFileName(path));
        }
    }

    /// <summary>/dev/shm on Linux when it is there and TMPDIR does not name another folder; null otherwise.</summary>
    private static string? MemoryRootToUse() =>
        OperatingSystem.IsLinux() && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TMPDIR")) && Directory.Exists(MemoryRoot) ? MemoryRoot : null;

    /// <summary>A new folder of ours under <paramref name="root"/>, owner-only; null when it cannot be made.</summary>
    private static string? CreateFolder(string? root)
    {
        if (root is null) return null;
        // The random part keeps a reused process id from meeting a folder its predecessor left.
        var path = Path.Combine(root, $"{Prefix}{Environment.ProcessId}-{Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)}");
        try
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
            else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return path;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
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

    /// <summary>maru-runtime-&lt;pid&gt;-* folders whose process is gone (it crashed or was killed), in either place.</summary>
    private static void RemoveFoldersOfDeadProcesses()
    {
        RemoveFoldersOfDeadProcesses(Path.GetTempPath());
        if (MemoryRootToUse() is { } memory) RemoveFoldersOfDeadProcesses(memory);
    }

    private static void RemoveFoldersOfDeadProcesses(string root)
    {
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(root, Prefix + "*"))
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
