using System.Globalization;
using System.Text;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

/// <summary>
/// Compile-time <c>print</c> (strings as their text) and <c>dump</c> (strings quoted, as the reader
/// would read them back). Deep or circular data is cut short rather than printed forever: the
/// structure stops at a depth and a length; a string is printed whole unless a limit is given.
/// </summary>
internal static class Printer
{
    private const int MaxDepth = 200;
    private const int MaxLength = 100_000;

    public static string Print(Datum value, bool quoted) => Print(value, quoted, int.MaxValue);

    /// <summary>Prints at most about <paramref name="limit"/> characters (long strings included), for messages.</summary>
    public static string Print(Datum value, bool quoted, int limit)
    {
        var sb = new StringBuilder();
        Append(sb, value, quoted, 0, Math.Max(0, limit));
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, Datum value, bool quoted, int depth, int limit)
    {
        if (depth > MaxDepth || sb.Length > MaxLength || sb.Length >= limit)
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
                if (quoted) sb.Append(DatumPrinter.Render(s, limit - sb.Length));
                else if (s.Value.Length <= limit - sb.Length) sb.Append(s.Value);
                else sb.Append(s.Value, 0, limit - sb.Length).Append("...");
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
                    if (sb.Length > MaxLength || sb.Length >= limit)
                    {
                        sb.Append(" ...)");
                        return;
                    }
                    if (!first) sb.Append(' ');
                    Append(sb, p.Head, quoted, depth + 1, limit);
                    first = false;
                    rest = p.Tail;
                }
                if (rest is not NilDatum)
                {
                    sb.Append(" . ");
                    Append(sb, rest, quoted, depth + 1, limit);
                }
                sb.Append(')');
                break;
            case ArrayValue array:
                sb.Append("Array<").Append(array.Items.Count).Append(">(");
                for (var i = 0; i < array.Items.Count; i++)
                {
                    if (sb.Length > MaxLength || sb.Length >= limit)
                    {
                        sb.Append(" ...");
                        break;
                    }
                    if (i > 0) sb.Append(' ');
                    Append(sb, array.Items[i], quoted, depth + 1, limit);
                }
                sb.Append(')');
                break;
            default:
                sb.Append(value);
                break;
        }
    }
}
