using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// Opens a file for reading without ever blocking in open(2). A FIFO named by load/require would
/// otherwise stall the build until some other process writes to it; opened with O_NONBLOCK it
/// reads as an unseekable, empty stream, which the caller refuses as "not a regular file".
/// (O_NONBLOCK has no effect on regular files.) Windows has no such files, so it opens normally.
/// </summary>
internal static class NonBlockingFile
{
    public static FileStream OpenRead(string path)
    {
        if (OperatingSystem.IsWindows() || !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);

        // The flag values differ by kernel (the same on every Linux architecture we run on).
        var flags = OperatingSystem.IsLinux() ? LinuxNonBlock | LinuxCloseOnExec : MacNonBlock | MacCloseOnExec;
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var fd = open(bytes, flags);
        if (fd < 0)
            throw new IOException($"{Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} ({path})");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            return new FileStream(handle, FileAccess.Read, bufferSize: 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private const int LinuxNonBlock = 0x800, LinuxCloseOnExec = 0x80000;
    private const int MacNonBlock = 0x4, MacCloseOnExec = 0x1000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int open(byte[] path, int flags);
}
