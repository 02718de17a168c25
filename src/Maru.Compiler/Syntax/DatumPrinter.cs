using System.Text;

namespace Maru.Compiler.Syntax;

/// <summary>
/// Prints a datum the way Maru's <c>dump</c> would, for messages and tests. Every rendering is
/// bounded: it stops after a number of characters (long strings, long, deep or circular lists
/// alike), so a message about any value costs at most what it shows.
/// </summary>
public static class DatumPrinter
{
    /// <summary>The most characters <see cref="Print(Datum)"/> renders.</summary>
    public const int MaxLength = 10_000;

    private const int MaxDepth = 64; // messages only need the outline of deep data

    public static string Print(Datum datum) => Render(datum, MaxLength);

    /// <summary>At most about <paramref name="limit"/> characters; what is cut is shown as "...".</summary>
    public static string Render(Datum datum, int limit)
    {
        var sb = new StringBuilder();
        Append(sb, datum, depth: 0, Math.Max(0, limit));
        return sb.ToString();
    }

    /// <summary>A short rendering of a form for messages.</summary>
    public static string Outline(Datum datum)
    {
        var text = Render(datum, 40);
        return text.Length <= 40 ? text : text[..37] + "...";
    }

    private static void Append(StringBuilder sb, Datum datum, int depth, int limit)
    {
        if (depth > MaxDepth || sb.Length >= limit)
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
                    if (sb.Length >= limit)
                    {
                        sb.Append("...");
                        break;
                    }
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
                while (rest is PairDatum p)
                {
                    if (sb.Length >= limit)
                    {
                        sb.Append(" ...)"); // long or circular (set-cdr) lists
                        return;
                    }
                    if (!first) sb.Append(' ');
                    Append(sb, p.Head, depth + 1, limit);
                    first = false;
                    rest = p.Tail;
                }
                if (rest is not NilDatum)
                {
                    sb.Append(" . ");
                    Append(sb, rest, depth + 1, limit);
                }
                sb.Append(')');
                break;
            default:
                var text = datum.ToString() ?? "";
                sb.Append(text.Length <= limit - sb.Length ? text : text[..Math.Max(0, limit - sb.Length)] + "...");
                break;
        }
    }
}
