using System.Runtime.InteropServices;
using System.Text;

namespace Maru.Compiler.Ir;

/// <summary>Prints IR as text (QBE-like) for debugging dumps and tests that read the shape of lowered code.</summary>
public static class IrPrinter
{
    public static string Print(IrModule module)
    {
        var sb = new StringBuilder();
        foreach (var global in module.Globals)
            sb.Append("global $").Append(global.Name).Append(" = ").Append(global.InitialValue).Append('\n');
        foreach (var global in module.StringGlobals)
            sb.Append("global $").Append(global.Name).Append(" = &").Append(global.StringConstant).Append('\n');
        foreach (var import in module.Imports)
            sb.Append("import $").Append(import).Append('\n');
        foreach (var constant in module.Strings)
            sb.Append("string $").Append(constant.Name).Append(" = ").Append(Syntax.DatumPrinter.Render(new Syntax.StringDatum(constant.Value, default), int.MaxValue)).Append('\n');
        foreach (var function in module.Functions)
            Print(function, sb);
        return sb.ToString();
    }

    public static string Print(IrFunction function)
    {
        var sb = new StringBuilder();
        Print(function, sb);
        return sb.ToString();
    }

    public static void Print(IrFunction function, StringBuilder sb)
    {
        sb.Append("function $").Append(function.Name).Append('(');
        sb.Append(string.Join(", ", Enumerable.Range(0, function.ParameterCount).Select(i => function.Parameter(i).ToString())));
        sb.Append(") {\n");
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks))
        {
            sb.Append(block.Name).Append(":\n");
            foreach (var phi in CollectionsMarshal.AsSpan(block.Phis))
                sb.Append("    ").Append(phi).Append('\n');
            foreach (var instruction in CollectionsMarshal.AsSpan(block.Instructions))
                sb.Append("    ").Append(instruction).Append('\n');
            sb.Append("    ").Append(block.Terminator?.ToString() ?? "<unterminated>").Append('\n');
        }
        sb.Append("}\n");
    }
}
