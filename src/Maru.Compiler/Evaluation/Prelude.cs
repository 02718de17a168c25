using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>The prelude (Evaluation/Prelude/prelude.l, embedded): the boot.l vocabulary, written for Maru.Sdk.</summary>
internal static class Prelude
{
    /// <summary>The file name prelude locations carry; errors never point there when a user location is known.</summary>
    public const string FileName = "<prelude>";

    private static readonly Lazy<string> Text = new(() =>
    {
        using var stream = typeof(Prelude).Assembly.GetManifestResourceStream("Maru.Compiler.Prelude.l")
            ?? throw new InvalidOperationException("the prelude resource is missing from Maru.Compiler");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static SourceFile Source => new(FileName, Text.Value);
}
