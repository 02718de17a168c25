using System.Text;

namespace Maru.Compiler.Interop;

/// <summary>
/// Maps Maru function names to the names they carry in the shared library's dynamic symbol table.
/// </summary>
/// <remarks>
/// <para>The rule, in full:</para>
/// <list type="number">
/// <item>A Maru name that is already a C identifier (<c>[A-Za-z_][A-Za-z0-9_]*</c>) and does not start
/// with the reserved prefix <c>__maru_</c> is exported unchanged: <c>bench</c> is <c>bench</c>.</item>
/// <item>Every other name is exported as <c>__maru_</c> followed by the name's UTF-8 bytes, with ASCII
/// letters and digits kept as they are and every other byte (including <c>_</c>) written as <c>_</c>
/// plus two lowercase hexadecimal digits: <c>fib-iter</c> is <c>__maru_fib_2diter</c>,
/// <c>prime?</c> is <c>__maru_prime_3f</c>.</item>
/// </list>
/// <para>The mapping is injective: unchanged names never start with <c>__maru_</c>, encoded names always
/// do, and the encoding of the rest is a prefix-free code over bytes. Every symbol is a C identifier,
/// so C, assemblers and linkers accept it, and <see cref="TryFromSymbolName"/> inverts the mapping.</para>
/// </remarks>
public static class SymbolNames
{
    /// <summary>The prefix reserved for encoded names; Maru names starting with it are encoded too.</summary>
    public const string ReservedPrefix = "__maru_";

    /// <summary>The symbol a function called <paramref name="maruName"/> is exported as.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public static string ToSymbolName(string maruName)
    {
        ArgumentNullException.ThrowIfNull(maruName);
        if (maruName.Length == 0) throw new ArgumentException("a Maru name is never empty", nameof(maruName));
        if (IsCIdentifier(maruName) && !maruName.StartsWith(ReservedPrefix, StringComparison.Ordinal)) return maruName;

        var builder = new StringBuilder(ReservedPrefix, ReservedPrefix.Length + maruName.Length * 3);
        foreach (var b in Encoding.UTF8.GetBytes(maruName))
        {
            if (IsAsciiLetterOrDigit((char)b)) builder.Append((char)b);
            else builder.Append('_').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
        }
        return builder.ToString();
    }

    /// <summary>
    /// Recovers the Maru name from a symbol produced by <see cref="ToSymbolName"/>. Returns false for
    /// anything <see cref="ToSymbolName"/> never produces (malformed escapes, uppercase hex, invalid
    /// UTF-8, or an encoded name that should have been exported unchanged).
    /// </summary>
    public static bool TryFromSymbolName(string symbolName, out string maruName)
    {
        ArgumentNullException.ThrowIfNull(symbolName);
        maruName = "";
        if (!symbolName.StartsWith(ReservedPrefix, StringComparison.Ordinal))
        {
            if (!IsCIdentifier(symbolName)) return false;
            maruName = symbolName;
            return true;
        }

        var bytes = new List<byte>(symbolName.Length);
        for (var i = ReservedPrefix.Length; i < symbolName.Length; i++)
        {
            var c = symbolName[i];
            if (IsAsciiLetterOrDigit(c)) { bytes.Add((byte)c); continue; }
            if (c != '_' || i + 2 >= symbolName.Length) return false;
            var high = HexValue(symbolName[i + 1]);
            var low = HexValue(symbolName[i + 2]);
            if (high < 0 || low < 0) return false;
            bytes.Add((byte)(high << 4 | low));
            i += 2;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        // Only the canonical spelling counts: this rejects e.g. "__maru_abc", whose decoding "abc"
        // is exported unchanged, and escapes of bytes that would have been kept.
        if (decoded.Length == 0 || ToSymbolName(decoded) != symbolName) return false;
        maruName = decoded;
        return true;
    }

    /// <summary>True for <c>[A-Za-z_][A-Za-z0-9_]*</c>.</summary>
    public static bool IsCIdentifier(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) return false;
        foreach (var c in name)
            if (!IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }

    internal static bool IsAsciiLetterOrDigit(char c) => char.IsAsciiLetterOrDigit(c);

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
