using System.Text;

namespace Maru.Compiler.Syntax;

/// <summary>Prints a datum the way Maru's <c>dump</c> would, for messages and tests.</summary>
public static class DatumPrinter
{
    public static string Print(Datum datum)
    {
        var sb = new StringBuilder();
        Append(sb, datum, depth: 0);
        return sb.ToString();
    }

    /// <summary>A short rendering of a form for messages.</summary>
    public static string Outline(Datum datum)
    {
        var text = Print(datum);
        return text.Length <= 40 ? text : text[..37] + "...";
    }

    private const int MaxDepth = 64; // messages only need the outline of deep data
    private const int MaxLength = 10_000;

    private static void Append(StringBuilder sb, Datum datum, int depth)
    {
        if (depth > MaxDepth)
        {
            sb.Append("...");
            return;
        }
        switch (datum)
        {
            case StringDatum s:
                sb.Append('"');
                foreach (var c in s.Value)
                {
                    switch (c)
                    {
                        case '"': sb.Append("\\\""); break;
                        case '\\': sb.Append("\\\\"); break;
                        case '\n': sb.Append("\\n"); break;
                        case '\t': sb.Append("\\t"); break;
                        case '\r': sb.Append("\\r"); break;
                        default:
                            if (c < 0x20) sb.Append($"\\x{(int)c:x2}");
                            else sb.Append(c);
                            break;
                    }
                }
                sb.Append('"');
                break;
            case PairDatum pair:
                sb.Append('(');
                Datum rest = pair;
                var first = true;
                var count = 0;
                while (rest is PairDatum p)
                {
                    if (++count > MaxLength)
                    {
                        sb.Append(" ...)"); // long or circular (set-cdr) lists
                        return;
                    }
                    if (!first) sb.Append(' ');
                    Append(sb, p.Head, depth + 1);
                    first = false;
                    rest = p.Tail;
                }
                if (rest is not NilDatum)
                {
                    sb.Append(" . ");
                    Append(sb, rest, depth + 1);
                }
                sb.Append(')');
                break;
            default:
                sb.Append(datum.ToString());
                break;
        }
    }
}
