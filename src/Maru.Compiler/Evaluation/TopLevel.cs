using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// Processes top-level forms into the definitions to compile. This is the seat of Maru's
/// compile-time evaluation: today it understands the defining forms directly; the evaluator
/// (macros, <c>define-form</c>, compile-begin/compile-end) replaces this recognition with real
/// expansion and evaluation, and hands the same <see cref="CompilationUnit"/> to lowering.
/// </summary>
public static class TopLevel
{
    public static CompilationUnit Process(IEnumerable<Datum> forms, DiagnosticBag diagnostics)
    {
        var unit = new CompilationUnit();
        foreach (var form in forms)
        {
            try
            {
                if (form is PairDatum { Head: SymbolDatum { Name: "define-export" } })
                {
                    var declaration = Interop.ExportDeclaration.Parse(form);
                    if (!unit.ExportDeclarations.TryAdd(declaration.FunctionName, declaration))
                        diagnostics.Error(DiagnosticCode.DuplicateExportDeclaration, form.Location,
                            $"'{declaration.FunctionName}' already has an export declaration at {unit.ExportDeclarations[declaration.FunctionName].Location}");
                    continue;
                }
                var definition = Recognise(form);
                if (!unit.TryAdd(definition))
                {
                    var first = unit.Lookup(definition.Name)!;
                    diagnostics.Error(DiagnosticCode.DuplicateDefinition, definition.Location,
                        $"'{definition.Name}' is already defined at {first.Location}");
                }
            }
            catch (CompilationError error)
            {
                diagnostics.Add(error.Diagnostic);
            }
        }
        return unit;
    }

    private static Definition Recognise(Datum form)
    {
        if (form is PairDatum { Head: SymbolDatum head } && form.AsList() is { } items)
        {
            switch (head.Name)
            {
                case "define-function":
                    return FunctionFromDefineFunction(form, items);
                case "define":
                    return FromDefine(form, items);
            }
        }
        throw new CompilationError(DiagnosticCode.UnsupportedTopLevelForm, form.Location,
            $"top-level form {DatumPrinter.Outline(form)} is not supported yet: this version compiles define-function and define of integers and lambdas (compile-time evaluation and macros are not available yet)");
    }

    // (define-function name (params...) body...)
    private static FunctionDefinition FunctionFromDefineFunction(Datum form, List<Datum> items)
    {
        if (items.Count < 3 || items[1] is not SymbolDatum name)
            throw Malformed(form, "define-function", "(define-function name (parameters...) body...)");
        return Function(name.Name, form.Location, Parameters(items[2], name.Name), items.Skip(3).ToList());
    }

    // (define name value) where value is an integer literal or (lambda (params...) body...)
    private static Definition FromDefine(Datum form, List<Datum> items)
    {
        if (items.Count != 3 || items[1] is not SymbolDatum name)
            throw Malformed(form, "define", "(define name value)");
        switch (items[2])
        {
            case IntegerDatum integer:
                return new IntegerDefinition(name.Name, form.Location, integer.Value);
            case NilDatum:
                return new IntegerDefinition(name.Name, form.Location, 0);
            case StringDatum text:
                return new StringDefinition(name.Name, form.Location, text.Value);
            case PairDatum call when call.Head.IsSymbol("extern")
                                     && call.AsList() is [_, PairDatum quoted]
                                     && quoted.AsList() is [SymbolDatum quote, SymbolDatum symbol] && quote.Name == "quote":
                return new ExternDefinition(name.Name, form.Location, symbol.Name);
            case PairDatum lambda when lambda.Head.IsSymbol("lambda"):
                var parts = lambda.AsList();
                if (parts is null || parts.Count < 2)
                    throw Malformed(lambda, "lambda", "(lambda (parameters...) body...)");
                return Function(name.Name, form.Location, Parameters(parts[1], name.Name), parts.Skip(2).ToList());
            default:
                throw new CompilationError(DiagnosticCode.NotCompilable, items[2].Location,
                    $"the value of '{name.Name}' must be an integer literal or a lambda in this version, not {DatumPrinter.Outline(items[2])}");
        }
    }

    /// <summary>A string literal opening a body of several forms is the function's documentation.</summary>
    private static FunctionDefinition Function(string name, SourceLocation location, IReadOnlyList<SymbolDatum> parameters, List<Datum> body) =>
        body is [StringDatum documentation, _, ..]
            ? new FunctionDefinition(name, location, parameters, body.Skip(1).ToList(), documentation.Value)
            : new FunctionDefinition(name, location, parameters, body);

    private static IReadOnlyList<SymbolDatum> Parameters(Datum list, string function)
    {
        var items = list.AsList()
            ?? throw new CompilationError(DiagnosticCode.MalformedForm, list.Location,
                $"the parameters of '{function}' must be a proper list of symbols (rest parameters are not compilable)");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var parameters = new List<SymbolDatum>();
        foreach (var item in items)
        {
            if (item is not SymbolDatum symbol)
                throw new CompilationError(DiagnosticCode.MalformedForm, item.Location, $"parameter of '{function}' must be a symbol, not {DatumPrinter.Outline(item)}");
            if (!seen.Add(symbol.Name))
                throw new CompilationError(DiagnosticCode.DuplicateParameter, item.Location, $"parameter '{symbol.Name}' appears twice in '{function}'");
            parameters.Add(symbol);
        }
        return parameters;
    }

    private static CompilationError Malformed(Datum form, string what, string shape) =>
        new(DiagnosticCode.MalformedForm, form.Location, $"malformed {what}: expected {shape}");
}
