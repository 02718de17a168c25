namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Base of the execution tests, which must pass at every optimisation level: each test class
/// derives from this, and one concrete [TestClass] per level (at the end of its file) says which.
/// </summary>
public abstract class ExecutionTests
{
    protected abstract OptimisationLevel Level { get; }

    internal CompiledLibrary Compile(string source) => CompiledLibrary.Compile(source, Level);

    internal CompiledLibrary Compile(IReadOnlyList<Maru.Compiler.Syntax.SourceFile> sources) => CompiledLibrary.Compile(sources, Level);

    internal long Evaluate(string expression, string definitions = "") => CompiledLibrary.Evaluate(expression, definitions, Level);
}
