namespace Maru.Compiler.Diagnostics;

/// <summary>
/// Every diagnostic the compiler can report, each with its own stable number (printed as MARUnnnn).
/// Ranges: 00xx general and I/O, 01xx reader, 02xx definitions and names, 03xx C# interop,
/// 04xx targets, 05xx limits, 06xx compile-time evaluation. Never renumber or reuse a code: users
/// search for them (retired: 204, 206 and 211, from before compile-time evaluation existed).
/// </summary>
public enum DiagnosticCode
{
    // General and I/O.
    InternalError = 1,
    SourceFileNotFound = 2,
    OutputNotWritable = 3,
    NoSourceFiles = 4,
    InvalidOption = 5,
    /// <summary>load/require of something that is not a regular file of bounded size, or not a usable path.</summary>
    SourceFileRejected = 6,
    /// <summary>The run-time API could not write or load the library it compiled (no usable folder: read-only, full, mounted noexec).</summary>
    LibraryNotLoadable = 7,

    // Reader.
    UnterminatedList = 101,
    UnexpectedCloser = 102,
    MismatchedDelimiter = 103,
    UnterminatedString = 104,
    InvalidEscape = 105,
    InvalidCharacterLiteral = 106,
    InvalidNumber = 107,
    MisplacedDot = 108,
    IllegalCharacter = 109,
    MissingQuotedDatum = 110,

    // Definitions, names and forms.
    UnknownVariable = 201,
    WrongArgumentCount = 202,
    NotCallable = 203,
    MalformedForm = 205,
    WrongOperandCount = 207,
    NotCompilable = 208,
    NotAssignable = 209,
    DuplicateParameter = 210,
    CompileTimeOnly = 212,
    /// <summary>One name is both an extern (imported) and a compiled function (exported).</summary>
    ExternAndFunction = 213,

    // C# interop.
    ExportNameCollision = 301,
    InvalidShimName = 302,
    MalformedExportDeclaration = 303,
    UnknownInteropType = 304,
    ExportDeclarationMismatch = 305,
    DuplicateExportDeclaration = 306,

    // Targets.
    UnknownRuntimeIdentifier = 401,
    TargetNotYetSupported = 402,

    // Limits that keep the compiler itself safe.
    NestingTooDeep = 501,
    /// <summary>A reference in the generated code does not reach its target (a relocation out of its instruction's range).</summary>
    CodeTooLarge = 502,
    /// <summary>The whole compilation ran longer than <see cref="CompilationOptions.MaxCompilationTime"/>.</summary>
    CompilationTimeLimitExceeded = 503,
    /// <summary>The compilation was cancelled (MSBuild's cancel, Ctrl+C).</summary>
    CompilationCancelled = 504,
    /// <summary>
    /// A function's expanded code is circular or larger than lowering takes (compile-time code can
    /// share and then mutate pairs of code already expanded, or build a DAG that is huge as a tree).
    /// </summary>
    FunctionTooLarge = 505,

    // Compile-time evaluation: the Maru interpreter that expands macros and runs top-level forms.
    /// <summary>A macro keeps expanding (it expands to a call of itself, directly or not).</summary>
    MacroError = 601,
    /// <summary>Compile-time recursion (calls or expansions) nested beyond the limit.</summary>
    EvaluationDepthExceeded = 602,
    /// <summary><c>(error ...)</c> called by compile-time code; the message is the user's.</summary>
    UserError = 603,
    /// <summary>A compile-time primitive was given a value of the wrong type.</summary>
    TypeError = 604,
    /// <summary>A definition to compile holds a value that has no native form (a list, a symbol, a closure over locals...).</summary>
    NotCompilableValue = 605,
    /// <summary>Compile-time evaluation ran more steps than allowed (an endless loop in a macro or top-level form).</summary>
    EvaluationStepLimitExceeded = 606,
    /// <summary>(compile-end) without (compile-begin), or (compile-begin) never ended.</summary>
    CompileSectionMismatch = 607,
    /// <summary>Warning: a name is defined again; the later definition wins, as in Maru.</summary>
    Redefinition = 608,
    /// <summary>Compile-time code allocated more memory than <see cref="CompilationOptions.MaxEvaluationMemory"/> allows.</summary>
    EvaluationMemoryLimitExceeded = 609,
}
