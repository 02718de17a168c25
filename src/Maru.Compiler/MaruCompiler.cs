using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler;

/// <summary>The compiler's front door: sources in, a library and its C# shims (or located errors) out.</summary>
public static class MaruCompiler
{
    public static CompilationResult Compile(IReadOnlyList<SourceFile> sources, CompilationOptions options)
    {
        var diagnostics = new DiagnosticBag();
        diagnostics.Error(DiagnosticCode.InternalError, SourceLocation.None, "the compilation pipeline is not wired yet");
        return new CompilationResult { Diagnostics = diagnostics.Items };
    }
}
