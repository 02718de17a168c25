using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Interop;

/// <summary>
/// <c>(define-export name (parameter type)... [result-type])</c>: says what C# should see for a
/// compiled function. Types are written as Maru type names: <c>&lt;long&gt;</c> (the default),
/// <c>&lt;pointer&gt;</c>, <c>&lt;bool&gt;</c>, <c>&lt;string&gt;</c>, <c>&lt;bytes&gt;</c>, <c>&lt;mutable-bytes&gt;</c> and
/// <c>(&lt;callback&gt; type...)</c>. Parameters not mentioned stay <c>&lt;long&gt;</c>. A span
/// parameter takes two Maru parameters: the one named (the address) and the next (the length).
/// </summary>
public sealed record ExportDeclaration(
    string FunctionName,
    SourceLocation Location,
    IReadOnlyList<(SymbolDatum Parameter, InteropType Type, IReadOnlyList<InteropType> CallbackParameters)> Parameters,
    InteropType Result)
{
    public static ExportDeclaration Parse(Datum form)
    {
        var items = form.AsList();
        if (items is null || items.Count < 2 || items[1] is not SymbolDatum name)
            throw Malformed(form, "expected (define-export function (parameter type)... [result-type])");
        var parameters = new List<(SymbolDatum, InteropType, IReadOnlyList<InteropType>)>();
        var result = InteropType.Long;
        for (var i = 2; i < items.Count; i++)
        {
            var item = items[i];
            if (item is SymbolDatum resultType && i == items.Count - 1)
            {
                result = ParseType(resultType);
                if (result is not (InteropType.Long or InteropType.Pointer or InteropType.Bool))
                    throw new CompilationError(DiagnosticCode.UnknownInteropType, item.Location,
                        $"an export returns <long>, <pointer> or <bool>, not {resultType.Name}");
                continue;
            }
            if (item.AsList() is not [SymbolDatum parameter, var type])
                throw Malformed(item, "expected (parameter type), e.g. (name <string>)");
            if (type is SymbolDatum simple)
            {
                var parsed = ParseType(simple);
                if (parsed == InteropType.Callback)
                    throw Malformed(type, "a callback type lists its parameter types: (<callback> <long>...)");
                parameters.Add((parameter, parsed, []));
            }
            else if (type.AsList() is [SymbolDatum head, .. var callbackTypes] && head.Name == "<callback>")
            {
                var argumentTypes = new List<InteropType>();
                foreach (var argument in callbackTypes)
                {
                    var argumentType = argument is SymbolDatum symbol ? ParseType(symbol) : InteropType.Callback;
                    if (argumentType is not (InteropType.Long or InteropType.Pointer))
                        throw new CompilationError(DiagnosticCode.UnknownInteropType, argument.Location,
                            $"callback parameters are <long> or <pointer>, not {DatumPrinter.Outline(argument)}");
                    argumentTypes.Add(argumentType);
                }
                parameters.Add((parameter, InteropType.Callback, argumentTypes));
            }
            else
            {
                throw new CompilationError(DiagnosticCode.UnknownInteropType, type.Location, $"unknown interop type {DatumPrinter.Outline(type)}");
            }
        }
        return new ExportDeclaration(name.Name, form.Location, parameters, result);
    }

    private static InteropType ParseType(SymbolDatum type) => type.Name switch
    {
        "<long>" => InteropType.Long,
        "<pointer>" => InteropType.Pointer,
        "<bool>" => InteropType.Bool,
        "<string>" => InteropType.String,
        "<bytes>" => InteropType.Bytes,
        "<mutable-bytes>" => InteropType.MutableBytes,
        "<callback>" => InteropType.Callback,
        _ => throw new CompilationError(DiagnosticCode.UnknownInteropType, type.Location,
            $"unknown interop type {type.Name}: use <long>, <pointer>, <bool>, <string>, <bytes>, <mutable-bytes> or (<callback> type...)"),
    };

    /// <summary>The C# signature of <paramref name="maruParameters"/> under this declaration, checking it fits the function.</summary>
    public ExportSignature Resolve(IReadOnlyList<string> maruParameters)
    {
        var declared = new Dictionary<string, (SymbolDatum Parameter, InteropType Type, IReadOnlyList<InteropType> Callback)>(StringComparer.Ordinal);
        foreach (var entry in Parameters)
        {
            var index = IndexOf(maruParameters, entry.Parameter.Name);
            if (index < 0)
                throw new CompilationError(DiagnosticCode.ExportDeclarationMismatch, entry.Parameter.Location,
                    $"'{FunctionName}' has no parameter '{entry.Parameter.Name}' (its parameters are: {string.Join(" ", maruParameters)})");
            if (!declared.TryAdd(entry.Parameter.Name, entry))
                throw new CompilationError(DiagnosticCode.ExportDeclarationMismatch, entry.Parameter.Location,
                    $"parameter '{entry.Parameter.Name}' of '{FunctionName}' is declared twice");
            if (entry.Type is InteropType.Bytes or InteropType.MutableBytes && index == maruParameters.Count - 1)
                throw new CompilationError(DiagnosticCode.ExportDeclarationMismatch, entry.Parameter.Location,
                    $"span parameter '{entry.Parameter.Name}' of '{FunctionName}' needs a following parameter to receive its length");
        }

        var result = new List<InteropParameter>();
        for (var i = 0; i < maruParameters.Count; i++)
        {
            if (!declared.TryGetValue(maruParameters[i], out var entry))
            {
                result.Add(new InteropParameter(maruParameters[i], InteropType.Long, []));
                continue;
            }
            var parameter = new InteropParameter(maruParameters[i], entry.Type, entry.Callback);
            result.Add(parameter);
            if (parameter.MaruParameterCount == 2)
            {
                if (declared.TryGetValue(maruParameters[i + 1], out var length))
                    throw new CompilationError(DiagnosticCode.ExportDeclarationMismatch, length.Parameter.Location,
                        $"parameter '{maruParameters[i + 1]}' of '{FunctionName}' receives the length of '{maruParameters[i]}' and cannot have a type of its own");
                i++;
            }
        }
        return new ExportSignature(result, Result);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
            if (names[i] == name) return i;
        return -1;
    }

    private static CompilationError Malformed(Datum form, string what) =>
        new(DiagnosticCode.MalformedExportDeclaration, form.Location, $"malformed define-export: {what}");
}
