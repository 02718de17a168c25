using System.Diagnostics;

namespace Maru.Runtime;

/// <summary>
/// The process's private folder for the libraries it compiles: created by the first write into it
/// (named after the process id, readable by its owner only), each library under a name never used before in this
/// process (the dynamic loader caches by path, and macOS caches code signatures per file), and
/// removed with whatever is left in it when the process exits. Folders left by processes that
/// died without exiting normally are removed when a later process that used one exits.
/// <para>
/// Where: on Linux, unless TMPDIR names a temp folder, in /dev/shm (memory: creating, loading and
/// deleting a small file there costs a fraction of what it costs on a disk file system, and the
/// file is only ever read by the loader); otherwise, or when a library cannot be written there or
/// loaded from there (no /dev/shm, a noexec mount), under the temp folder.
/// </para>
/// </summary>
internal static class LibraryFolder
{
    private const string Prefix = "maru-runtime-";
    private const string MemoryRoot = "/dev/shm";
    private static readonly object s_lock = new();
    private static string? s_path;
    private static bool s_inMemory;
    /// <summary>The memory folder once libraries moved out of it: compilations still naming it follow the move.</summary>
    private static string? s_leftMemoryFolder;
    private static long s_counter;

    /// <summary>A fresh path in the folder for a library called <paramref name="fileName"/> (which must be unique in the process).</summary>
    public static string PathFor(string fileName) => Path.Combine(Folder, fileName);

    /// <summary>A name no other library of this process has: used as the library name (and so the ELF soname) and the file name.</summary>
    public static string NextLibraryName() => "maru" + Decimal(Interlocked.Increment(ref s_counter));

    /// <summary>
    /// The digits of a positive number. Not <c>ToString(CultureInfo.InvariantCulture)</c>: the first
    /// use of a culture loads ICU, milliseconds of the first compilation of a process that does not
    /// otherwise need it.
    /// </summary>
    private static string Decimal(long value)
    {
        Span<char> digits = stackalloc char[20];
        var start = digits.Length;
        do
        {
            digits[--start] = (char)('0' + (int)(value % 10));
            value /= 10;
        }
        while (value > 0);
        return new string(digits[start..]);
    }

    /// <summary>
    /// The folder's path, chosen on first use; the folder itself is made by the first write into it
    /// (<see cref="Write"/>, which the native compiler runs too), so that the first compilation of a
    /// process runs no file code on the host when the native compiler writes its library.
    /// </summary>
    public static string Folder
    {
        get
        {
            var path = Volatile.Read(ref s_path);
            if (path is not null) return path;
            lock (s_lock)
            {
                if (s_path is not null) return s_path;
                var memory = MemoryRootToUse();
                s_inMemory = memory is not null;
                path = NewFolderPath(memory ?? Path.GetTempPath());
                // The tidying of other processes' folders waits for the exit too: it reads the whole
                // temp folder and starts a thread, which the first compilation should not pay for.
                var chosen = path;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    TryDeleteFolder(chosen);
                    RemoveFoldersOfDeadProcesses();
                };
                Volatile.Write(ref s_path, path);
                return path;
            }
        }
    }

    /// <summary>
    /// A library could not be written to, or loaded from, <paramref name="path"/>. When it was in
    /// the memory folder (missing, full, or mounted noexec, say), later libraries go to a folder
    /// under the temp folder instead, and the path to write this one to again is returned;
    /// otherwise null (the failure is the caller's).
    /// </summary>
    public static string? MoveOutOfMemory(string path)
    {
        lock (s_lock)
        {
            var directory = Path.GetDirectoryName(path);
            if (directory is not null && directory == s_leftMemoryFolder)
            {
                // A concurrent compilation already moved the folder: this one follows it.
                TryDelete(path);
                return Path.Combine(s_path!, Path.GetFileName(path));
            }
            if (directory != s_path || !s_inMemory) return null;
            var folder = NewFolderPath(Path.GetTempPath());
            var old = s_path!;
            s_inMemory = false;
            s_leftMemoryFolder = old;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDeleteFolder(folder);
            Volatile.Write(ref s_path, folder);
            TryDelete(path);
            TryDeleteFolder(old);
            return Path.Combine(folder, Path.GetFileName(path));
        }
    }

    /// <summary>/dev/shm on Linux when TMPDIR does not name another folder; null otherwise. (Whether it exists is found by the first write.)</summary>
    private static string? MemoryRootToUse() =>
        OperatingSystem.IsLinux() && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TMPDIR")) ? MemoryRoot : null;

    /// <summary>A name for a new folder of ours under <paramref name="root"/>.</summary>
    private static string NewFolderPath(string root)
    {
        // The random part keeps a reused process id from meeting a folder its predecessor left.
        // (GetRandomFileName is 8.3; its dot is dropped by slicing: string.Replace's first use costs a millisecond.)
        var random = Path.GetRandomFileName();
        return Path.Combine(root, Prefix + Decimal(Environment.ProcessId) + "-" + random[..8] + random[9..]);
    }

    /// <summary>
    /// Writes a library to a new file, making the folder (owner-only) if it is not there yet; the
    /// folder's parent must exist (the memory folder's /dev/shm is never created). The name is
    /// unique, so the file is created, never truncated: File.WriteAllBytes opens with O_TRUNC, and
    /// ext4 (auto_da_alloc) then starts writing the data back to disk when the file is closed, which
    /// cost milliseconds per compilation on a busy machine.
    /// </summary>
    /// <exception cref="IOException">The file or its folder could not be made.</exception>
    /// <exception cref="UnauthorizedAccessException">Not allowed.</exception>
    public static void Write(string path, byte[] bytes)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (DirectoryNotFoundException)
        {
            // The first library of the folder (or the folder was removed meanwhile): make it, once.
            CreateFolder(Path.GetDirectoryName(path)!);
            handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        try
        {
            using (handle) RandomAccess.Write(handle, bytes, 0);
        }
        catch
        {
            TryDelete(path); // ours: no partial library is left
            throw;
        }
    }

    private static void CreateFolder(string folder)
    {
        var parent = Path.GetDirectoryName(folder);
        if (parent is null || !Directory.Exists(parent)) throw new DirectoryNotFoundException($"'{parent}' does not exist");
        // Concurrent first writes may both get here: creating an existing folder is not an error.
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
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
