using System.Globalization;
using System.Text;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// Compile-time <c>print</c> (strings as their text) and <c>dump</c> (strings quoted, as the reader
/// would read them back). Deep or circular data is cut short rather than printed forever.
/// </summary>
internal static class Printer
{
    private const int MaxDepth = 200;
    private const int MaxLength = 100_000;

    public static string Print(Datum value, bool quoted)
    {
        var sb = new StringBuilder();
        Append(sb, value, quoted, 0);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, Datum value, bool quoted, int depth)
    {
        if (depth > MaxDepth || sb.Length > MaxLength)
        {
            sb.Append("...");
            return;
        }
        switch (value)
        {
            case NilDatum:
                sb.Append("()");
                break;
            case IntegerDatum i:
                sb.Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case RealDatum r:
                sb.Append(r.Value.ToString("0.000000", CultureInfo.InvariantCulture));
                break;
            case StringDatum s:
                sb.Append(quoted ? DatumPrinter.Print(s) : s.Value);
                break;
            case SymbolDatum s:
                sb.Append(s.Name);
                break;
            case PairDatum pair:
                sb.Append('(');
                Datum rest = pair;
                var first = true;
                while (rest is PairDatum p)
                {
                    if (sb.Length > MaxLength)
                    {
                        sb.Append(" ...)");
                        return;
                    }
                    if (!first) sb.Append(' ');
                    Append(sb, p.Head, quoted, depth + 1);
                    first = false;
                    rest = p.Tail;
                }
                if (rest is not NilDatum)
                {
                    sb.Append(" . ");
                    Append(sb, rest, quoted, depth + 1);
                }
                sb.Append(')');
                break;
            case ArrayValue array:
                sb.Append("Array<").Append(array.Items.Count).Append(">(");
                for (var i = 0; i < array.Items.Count; i++)
                {
                    if (i > 0) sb.Append(' ');
                    Append(sb, array.Items[i], quoted, depth + 1);
                }
                sb.Append(')');
                break;
            default:
                sb.Append(value);
                break;
        }
    }
}
