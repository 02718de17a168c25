using System.Globalization;
using System.Text;

namespace Maru.Compiler.Interop;

/// <summary>
/// Maps Maru names to the C# names of the generated shims.
/// </summary>
/// <remarks>
/// <para><b>Method names</b> (<see cref="ToMethodName"/>) are PascalCase:</para>
/// <list type="number">
/// <item>The name is split into words at every character that is not an ASCII letter or digit, and
/// each word is capitalised and joined: <c>fib-iter</c> → <c>FibIter</c>, <c>make-point</c> →
/// <c>MakePoint</c>, <c>*global*</c> → <c>Global</c>. The rest of each word keeps its case.</item>
/// <item><c>-&gt;</c> between two words reads as <c>To</c>: <c>list-&gt;array</c> → <c>ListToArray</c>.</item>
/// <item>A trailing <c>?</c> makes a predicate, prefixed with <c>Is</c> unless the first word already
/// is <c>is</c>: <c>prime?</c> → <c>IsPrime</c>, <c>is-even?</c> → <c>IsEven</c>.</item>
/// <item>A name with no ASCII letter or digit is spelled out character by character with the table
/// in <see cref="SpelledCharacters"/>: <c>+</c> → <c>Plus</c>, <c>-</c> → <c>Minus</c>, <c>*</c> →
/// <c>Star</c>, <c>/</c> → <c>Slash</c>, <c>&lt;=</c> → <c>LessEqual</c>; a character outside the
/// table is written <c>U</c> plus its code point in hexadecimal (<c>λ</c> → <c>U03BB</c>).</item>
/// <item>A result starting with a digit gets a leading <c>_</c>: <c>2nd</c> → <c>_2nd</c>.</item>
/// <item>A name starting with <c>_</c> (Maru's, as C's, mark of a raw or internal name) keeps one
/// leading <c>_</c>, so it never takes the plain name's method: <c>_new-&lt;string&gt;</c> →
/// <c>_NewString</c> beside <c>new-&lt;string&gt;</c> → <c>NewString</c> (eval.l has both).</item>
/// </list>
/// <para><b>Parameter names</b> (<see cref="ToParameterName"/>) use the same words in camelCase
/// (<c>my-arg</c> → <c>myArg</c>); a C# keyword gets <c>@</c> (<c>int</c> → <c>@int</c>).</para>
/// <para>Different Maru names can map to the same C# name (<c>fib-iter</c> and <c>fib_iter</c>);
/// the shim generator reports that as error MARU0301 rather than picking one.</para>
/// </remarks>
public static class CSharpNames
{
    /// <summary>How characters are spelled in names that have no ASCII letter or digit.</summary>
    public static IReadOnlyDictionary<char, string> SpelledCharacters { get; } = new Dictionary<char, string>
    {
        ['+'] = "Plus", ['-'] = "Minus", ['*'] = "Star", ['/'] = "Slash", ['%'] = "Percent",
        ['<'] = "Less", ['>'] = "Greater", ['='] = "Equal", ['!'] = "Bang", ['?'] = "Question",
        ['&'] = "Ampersand", ['|'] = "Bar", ['^'] = "Caret", ['~'] = "Tilde", ['@'] = "At",
        ['#'] = "Hash", ['$'] = "Dollar", [':'] = "Colon", ['.'] = "Dot", [','] = "Comma",
        ['_'] = "Underscore", ['\\'] = "Backslash",
    };

    /// <summary>
    /// C#'s reserved keywords (contextual ones such as <c>var</c> are valid names). Kept by hand:
    /// Roslyn's SyntaxFacts would add a large dependency to the task; a test compares the two.
    /// </summary>
    internal static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "__arglist", "__makeref", "__reftype", "__refvalue",
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class",
        "const", "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event",
        "explicit", "extern", "false", "finally", "fixed", "float", "for", "foreach", "goto", "if",
        "implicit", "in", "int", "interface", "internal", "is", "lock", "long", "namespace", "new", "null",
        "object", "operator", "out", "override", "params", "private", "protected", "public", "readonly",
        "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string", "struct",
        "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe",
        "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>The PascalCase C# method name for the Maru function <paramref name="maruName"/>.</summary>
    public static string ToMethodName(string maruName)
    {
        ArgumentNullException.ThrowIfNull(maruName);
        var words = Words(maruName);
        if (words.Count == 0) return Spell(maruName);

        var predicate = maruName.EndsWith('?') && maruName.Length > 1;
        var builder = new StringBuilder();
        if (predicate && !string.Equals(words[0], "is", StringComparison.OrdinalIgnoreCase)) builder.Append("Is");
        foreach (var word in words) builder.Append(Capitalize(word));
        var name = LeadingDigitGuard(builder.ToString());
        return maruName[0] == '_' && name[0] != '_' ? "_" + name : name;
    }

    /// <summary>The camelCase C# parameter name for the Maru parameter <paramref name="maruName"/>.</summary>
    public static string ToParameterName(string maruName)
    {
        ArgumentNullException.ThrowIfNull(maruName);
        var words = Words(maruName);
        string name;
        if (words.Count == 0)
        {
            name = Spell(maruName);
            name = char.ToLowerInvariant(name[0]) + name[1..];
        }
        else
        {
            var builder = new StringBuilder();
            builder.Append(char.ToLowerInvariant(words[0][0])).Append(words[0], 1, words[0].Length - 1);
            foreach (var word in words.Skip(1)) builder.Append(Capitalize(word));
            name = builder.ToString();
        }
        name = LeadingDigitGuard(name);
        return Keywords.Contains(name) ? "@" + name : name;
    }

    /// <summary>True for the C# reserved keywords (which need <c>@</c> to be used as identifiers).</summary>
    public static bool IsKeyword(string name) => Keywords.Contains(name);

    /// <summary>True when <paramref name="name"/> is a plain C# identifier made of ASCII letters, digits and '_'.</summary>
    public static bool IsSimpleIdentifier(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !Keywords.Contains(name);

    /// <summary>
    /// The words of a name: runs of ASCII letters and digits. A separator run containing "->" that
    /// stands between two words contributes the word "To".
    /// </summary>
    private static List<string> Words(string name)
    {
        var words = new List<string>();
        var i = 0;
        var pendingTo = false;
        while (i < name.Length)
        {
            if (char.IsAsciiLetterOrDigit(name[i]))
            {
                var start = i;
                while (i < name.Length && char.IsAsciiLetterOrDigit(name[i])) i++;
                if (pendingTo) words.Add("To");
                pendingTo = false;
                words.Add(name[start..i]);
            }
            else
            {
                var start = i;
                while (i < name.Length && !char.IsAsciiLetterOrDigit(name[i])) i++;
                pendingTo = words.Count > 0 && name.AsSpan(start, i - start).Contains("->", StringComparison.Ordinal);
            }
        }
        return words;
    }

    private static string Spell(string name)
    {
        if (name.Length == 0) return "_";
        var builder = new StringBuilder();
        foreach (var rune in name.EnumerateRunes())
        {
            if (rune.IsBmp && SpelledCharacters.TryGetValue((char)rune.Value, out var spelled)) builder.Append(spelled);
            else builder.Append('U').Append(rune.Value.ToString("X4", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    private static string Capitalize(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static string LeadingDigitGuard(string name) => char.IsAsciiDigit(name[0]) ? "_" + name : name;
}
