using System.Runtime.InteropServices;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Writes library bytes to a temporary file and loads them into this process with the platform
/// loader (dlopen on Linux); dispose unloads and deletes the file.
/// </summary>
public sealed class LoadedNativeLibrary : IDisposable
{
    private readonly TemporaryFile _file;

    public LoadedNativeLibrary(string fileName, byte[] contents)
    {
        _file = new TemporaryFile(fileName, contents);
        try
        {
            Handle = NativeLibrary.Load(_file.Path);
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public IntPtr Handle { get; }

    public string Path => _file.Path;

    public IntPtr Export(string name) => NativeLibrary.GetExport(Handle, name);

    public bool TryExport(string name, out IntPtr address) => NativeLibrary.TryGetExport(Handle, name, out address);

    public void Dispose()
    {
        NativeLibrary.Free(Handle);
        _file.Dispose();
    }
}
