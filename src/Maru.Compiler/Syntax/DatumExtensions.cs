namespace Maru.Compiler.Syntax;

/// <summary>List helpers over pairs, so stages read forms as <c>(head arg...)</c> without pair plumbing.</summary>
public static class DatumExtensions
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool IsSymbol(this Datum datum, string name) => datum is SymbolDatum s && SameName(s.Name, name);

    /// <summary>
    /// String equality with the usual outcomes decided inline: the same instance (names are interned per
    /// compilation, see <see cref="NameTable"/>) or different lengths; only equal lengths compare the text.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool SameName(string a, string b) => ReferenceEquals(a, b) || (a.Length == b.Length && string.Equals(a, b));

    /// <summary>The elements of a proper list, or null when the datum is not one (dotted or not a list).</summary>
    public static List<Datum>? AsList(this Datum datum)
    {
        var items = new List<Datum>();
        while (datum is PairDatum pair)
        {
            items.Add(pair.Head);
            datum = pair.Tail;
        }
        return datum is NilDatum ? items : null;
    }

    /// <summary>As <see cref="ToList"/>, from a span (no copy of the items first).</summary>
    public static Datum ListOf(ReadOnlySpan<Datum> items, Datum? tail = null)
    {
        Datum result = tail ?? NilDatum.Empty;
        for (var i = items.Length - 1; i >= 0; i--)
            result = new PairDatum(items[i], result, items[i].Location);
        return result;
    }

    public static Datum ToList(IEnumerable<Datum> items, Datum? tail = null)
    {
        var array = items.ToArray();
        Datum result = tail ?? NilDatum.Empty;
        for (var i = array.Length - 1; i >= 0; i--)
            result = new PairDatum(array[i], result, array[i].Location);
        return result;
    }
}
