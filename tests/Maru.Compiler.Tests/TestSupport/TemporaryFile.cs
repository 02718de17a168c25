namespace Maru.Compiler.Tests.TestSupport;

/// <summary>A file in a fresh temporary directory, deleted (with the directory) on dispose.</summary>
public sealed class TemporaryFile : IDisposable
{
    public TemporaryFile(string fileName, byte[] contents)
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "maru-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, fileName);
        File.WriteAllBytes(Path, contents);
    }

    public string Directory { get; }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
