namespace Maru.Compiler.Syntax;

/// <summary>A source text and the path diagnostics should print for it (as the user gave it).</summary>
public sealed record SourceFile(string Path, string Text)
{
    public static SourceFile Load(string path) => new(path, File.ReadAllText(path));
}
