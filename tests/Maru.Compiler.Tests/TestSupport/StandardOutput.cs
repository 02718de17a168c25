using System.Runtime.InteropServices;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Captures what native code writes to the process's standard output (file descriptor 1, e.g.
/// printf from a compiled Maru function): C stdio is flushed, fd 1 is redirected to a temporary
/// file with dup2 while the action runs, then restored. The whole process shares fd 1, so test
/// classes that use it must be [DoNotParallelize].
/// </summary>
internal static partial class StandardOutput
{
    private static readonly object Gate = new();

    public static string Capture(Action action)
    {
        lock (Gate)
        {
            var file = Path.GetTempFileName();
            try
            {
                Fflush(0);
                var saved = Dup(1);
                Assert.IsGreaterThanOrEqualTo(0, saved);
                var fd = Open(file, 0x1 | 0x40 | 0x200, Convert.ToInt32("644", 8)); // O_WRONLY | O_CREAT | O_TRUNC
                Assert.IsGreaterThanOrEqualTo(0, fd);
                Dup2(fd, 1);
                Close(fd);
                try
                {
                    action();
                }
                finally
                {
                    Fflush(0);
                    Dup2(saved, 1);
                    Close(saved);
                }
                return File.ReadAllText(file);
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "fflush")]
    private static partial int Fflush(nint stream);

    [LibraryImport("libc.so.6", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport("libc.so.6", EntryPoint = "dup2")]
    private static partial int Dup2(int from, int to);

    [LibraryImport("libc.so.6", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);
}
