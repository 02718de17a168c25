using System.Globalization;
using System.Text;
using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Syntax;

internal enum TokenKind
{
    /// <summary>End of the text.</summary>
    End,
    /// <summary>A lexical error; it has already been reported and the lexer produces nothing more.</summary>
    Error,
    Open,          // ( [ {
    Close,         // ) ] }
    Quote,         // '
    Quasiquote,    // `
    Unquote,       // ,
    UnquoteSplicing, // ,@
    Dot,           // a lone '.' (the dotted-tail marker)
    Integer,
    Character,     // ?c, whose value is an integer code
    Real,
    String,
    Symbol,
}

/// <summary>
/// Turns Maru source text into tokens, as maru-2.4's eval.c reads characters. It is stricter than
/// eval.c in one respect: anything eval.c would silently read as something else (<c>08</c>,
/// <c>0x</c>, <c>123abc</c>, <c>?ab</c>, an unknown escape) is an error here, so every text this
/// lexer accepts means the same as it does to eval.c. The first error is reported to the bag and
/// ends the token stream.
/// </summary>
internal sealed class Lexer
{
    private readonly string _text;
    private readonly string _path;
    private readonly DiagnosticBag _diagnostics;
    private int _pos;
    private int _line = 1;
    // Where the current line starts: a unit's column is its distance from here, plus one.
    private int _lineStart;
    private bool _failed;

    private readonly NameTable _names;

    /// <param name="names">Where symbol names (and number spellings) get their one instance (see <see cref="NameTable"/>).</param>
    public Lexer(SourceFile file, DiagnosticBag diagnostics, NameTable names)
    {
        _names = names;
        _text = file.Text;
        _path = file.Path;
        _diagnostics = diagnostics;
        SkipShebangLine();
    }

    // ---- Characters and positions -------------------------------------------------------------

    private const int EndOfText = -1;

    private int Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : EndOfText;

    private SourceLocation Here => new(_path, _line, _pos - _lineStart + 1);

    /// <summary>
    /// Consumes one UTF-16 unit and keeps line and column right: CR, LF and CRLF each end one line
    /// (the LF of a CRLF does not start another), and every other unit, tab included, is one column.
    /// </summary>
    private char Advance()
    {
        var c = _text[_pos++];
        if (c is '\r' or '\n') EndLine(c);
        return c;
    }

    /// <summary>After a CR or LF just consumed: the next unit starts a line (an LF right after a CR ends no second one).</summary>
    private void EndLine(char c)
    {
        if (c == '\r' || !(_pos >= 2 && _text[_pos - 2] == '\r')) _line++;
        _lineStart = _pos;
    }

    // ---- Character classes (eval.c's chartab) -------------------------------------------------

    private static bool IsDigit(int c) => c >= '0' && c <= '9';

    private static bool IsOctalDigit(int c) => c >= '0' && c <= '7';

    private static bool IsHexDigit(int c) => IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

    /// <summary>ASCII letters and every unit at or above 128 (eval.c reads wide characters and calls those alphabetic).</summary>
    private static bool IsAlphabetic(int c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 128;

    /// <summary>What eval.c calls a letter: may start a symbol (unless it is one of the prefix characters ? , handled first).</summary>
    private static bool IsSymbolStart(int c) => InClass(c, SymbolStartLow, SymbolStartHigh);

    /// <summary>Symbols (and numbers, which are lexed as the same run) continue with letters and digits.</summary>
    private static bool IsConstituent(int c) => InClass(c, ConstituentLow, ConstituentHigh);

    // The ASCII classes as bit masks (units 0-63, 64-127), tested without a table (a static table
    // costs NativeAOT a class-constructor check that kept this out of line, once per character).
    // Symbol starts: ASCII letters and !#$%&*+,-./:<=>?@\^_|~ ; constituents: those and the digits.
    private const ulong SymbolStartLow = 0xf400fc7a00000000, SymbolStartHigh = 0x57fffffed7ffffff;
    private const ulong ConstituentLow = 0xf7fffc7a00000000, ConstituentHigh = 0x57fffffed7ffffff;

    /// <summary>Every unit at or above 128 is in both classes (eval.c reads wide characters and calls those alphabetic); end of text (-1) in neither.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool InClass(int c, ulong low, ulong high) =>
        (uint)c < 64 ? ((low >> c) & 1) != 0 : (uint)c < 128 ? ((high >> (c - 64)) & 1) != 0 : c >= 128;

    // ---- Errors -------------------------------------------------------------------------------

    private TokenKind Fail(DiagnosticCode code, SourceLocation location, string message)
    {
        _diagnostics.Error(code, location, message);
        _failed = true;
        return TokenKind.Error;
    }

    // ---- Tokens -------------------------------------------------------------------------------

    /// <summary>The line and column of the last token's first character.</summary>
    public int Line, Column;

    /// <summary>The last token's spelling for a symbol or '.' (the table's instance of the name) and its value for a string; null for other tokens.</summary>
    public string? Text;

    /// <summary>What the last integer or character token denotes, or a real's bits.</summary>
    public long Value;

    /// <summary>The last token's location.</summary>
    public SourceLocation Location => new(_path, Line, Column);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private TokenKind Make(TokenKind kind, string? text = null, long value = 0)
    {
        Text = text;
        Value = value;
        return kind;
    }

    /// <summary>
    /// Reads the next token: its kind is returned, the rest is left in <see cref="Line"/>,
    /// <see cref="Column"/>, <see cref="Text"/> and <see cref="Value"/> until the next call (no
    /// token value is built and copied per token).
    /// </summary>
    public TokenKind Next()
    {
        if (_failed)
            return TokenKind.Error;
        SkipWhitespaceAndComments();
        Line = _line;
        Column = _pos - _lineStart + 1;
        var start = new SourceLocation(_path, Line, Column);
        var c = Peek();
        switch (c)
        {
            case EndOfText:
                return Make(TokenKind.End);
            case '(' or '[' or '{':
                Advance();
                return Make(TokenKind.Open, null, c);
            case ')' or ']' or '}':
                Advance();
                return Make(TokenKind.Close, null, c);
            case '\'':
                Advance();
                return Make(TokenKind.Quote);
            case '`':
                Advance();
                return Make(TokenKind.Quasiquote);
            case ',':
                Advance();
                if (Peek() == '@')
                {
                    Advance();
                    return Make(TokenKind.UnquoteSplicing);
                }
                return Make(TokenKind.Unquote);
            case '"':
                return LexString(start);
            case '?':
                return LexCharacter(start);
        }
        // A '-' directly before a digit makes a negative number; otherwise it starts a symbol ("-", "->").
        if (IsDigit(c) || (c == '-' && IsDigit(Peek(1))))
            return LexNumber(start);
        if (IsSymbolStart(c))
            return LexSymbol(start);
        return Fail(DiagnosticCode.IllegalCharacter, start, $"illegal character 0x{c:x2}");
    }

    /// <summary>eval.c skips a first line "#!..." of a script given on its command line; so do we, for any file.</summary>
    private void SkipShebangLine()
    {
        if (!_text.StartsWith("#!", StringComparison.Ordinal))
            return;
        while (Peek() is not (EndOfText or '\n' or '\r'))
            Advance();
    }

    private void SkipWhitespaceAndComments()
    {
        // Over the text directly: no unit skipped here but CR and LF moves the line.
        var text = _text;
        var pos = _pos;
        while (pos < text.Length)
        {
            var c = text[pos];
            if (c is ' ' or '\t')
            {
                pos++;
            }
            else if (c is '\n' or '\r')
            {
                _pos = ++pos;
                EndLine(c);
            }
            else if (c == ';')
            {
                while (pos < text.Length && text[pos] is not ('\n' or '\r')) pos++;
            }
            else
            {
                break;
            }
        }
        _pos = pos;
    }

    /// <summary>The maximal run of symbol constituents from the current position (a symbol's or a number's spelling).</summary>
    private string TakeConstituents()
    {
        // Constituents are never CR or LF: the line stays.
        // The name's hash is taken in the same pass (NameTable.Hash's FNV-1a).
        var text = _text;
        var begin = _pos;
        var pos = begin;
        var hash = NameTable.HashSeed;
        for (; pos < text.Length; pos++)
        {
            var c = text[pos];
            if (!IsConstituent(c)) break;
            hash = NameTable.HashStep(hash, c);
        }
        _pos = pos;
        return _names.Intern(text.AsSpan(begin, pos - begin), hash);
    }

    private TokenKind LexSymbol(SourceLocation start)
    {
        var name = TakeConstituents();
        // A lone '.' is the dotted-tail marker; ".." or ".x" are ordinary symbols.
        return Make(name == "." ? TokenKind.Dot : TokenKind.Symbol, name);
    }

    // ---- Numbers ------------------------------------------------------------------------------

    /// <summary>
    /// Numbers are lexed as a whole constituent run and then checked, so "123abc" or "08" is one bad
    /// number rather than (as in eval.c) a number silently followed by something else.
    /// </summary>
    private TokenKind LexNumber(SourceLocation start)
    {
        var text = TakeConstituents();
        var negative = text[0] == '-';
        var digits = negative ? text.Substring(1) : text;

        if (digits.Length >= 2 && digits[0] == '0' && digits[1] == 'x')
        {
            // eval.c only takes "0x" when it is the first thing in the number, so "-0x10" is not hex.
            if (negative)
                return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': a hex literal cannot have a '-' sign");
            return LexInteger(start, text, negative: false, digits.Substring(2), radix: 16);
        }

        var integerEnd = 0;
        while (integerEnd < digits.Length && IsDigit(digits[integerEnd]))
            integerEnd++;
        if (integerEnd < digits.Length && (digits[integerEnd] == '.' || digits[integerEnd] == 'e'))
            return LexReal(start, text, digits, integerEnd);

        // As C's strtoul with base 0: a leading 0 means octal.
        var radix = digits.Length > 1 && digits[0] == '0' ? 8 : 10;
        return LexInteger(start, text, negative, radix == 8 ? digits.Substring(1) : digits, radix);
    }

    private TokenKind LexInteger(SourceLocation start, string text, bool negative, string digits, int radix)
    {
        var kind = radix switch { 16 => "a hex", 8 => "an octal", _ => "a decimal" };
        if (digits.Length == 0)
            return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': no digits after '0x'");

        ulong magnitude = 0;
        var overflow = false;
        foreach (var c in digits)
        {
            var value = DigitValue(c);
            if (value < 0 || value >= radix)
            {
                if (value >= 0 && value < 10)
                    return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': '{c}' is not {kind} digit");
                return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': unexpected '{c}'");
            }
            if (magnitude > (ulong.MaxValue - (ulong)value) / (ulong)radix)
                overflow = true;
            else
                magnitude = magnitude * (ulong)radix + (ulong)value;
        }
        if (overflow)
            return Fail(DiagnosticCode.InvalidNumber, start, $"integer literal {text} does not fit in 64 bits");

        // strtoul's result stored in a long: [2^63, 2^64) wraps to negative, and '-' negates modulo 2^64.
        var result = unchecked(negative ? (long)(0UL - magnitude) : (long)magnitude);
        return Make(TokenKind.Integer, null, result);
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// A real as eval.c gathers one: digits, then an optional '.' and digits, then an optional 'e',
    /// optional '-' and exponent digits (no '+': eval.c stops there).
    /// </summary>
    private TokenKind LexReal(SourceLocation start, string text, string digits, int i)
    {
        if (digits[i] == '.')
        {
            i++;
            while (i < digits.Length && IsDigit(digits[i]))
                i++;
        }
        if (i < digits.Length && digits[i] == 'e')
        {
            i++;
            if (i < digits.Length && digits[i] == '-')
                i++;
            var exponentStart = i;
            while (i < digits.Length && IsDigit(digits[i]))
                i++;
            if (i == exponentStart)
                return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': no digits in the exponent");
        }
        if (i < digits.Length)
            return Fail(DiagnosticCode.InvalidNumber, start, $"invalid number '{text}': unexpected '{digits[i]}'");
        var value = double.Parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        return Make(TokenKind.Real, null, BitConverter.DoubleToInt64Bits(value));
    }

    // ---- Strings and characters ---------------------------------------------------------------

    private TokenKind LexString(SourceLocation start)
    {
        Advance(); // the opening quote
        var value = new StringBuilder();
        for (;;)
        {
            var c = Peek();
            if (c == EndOfText)
                return Fail(DiagnosticCode.UnterminatedString, start, "unterminated string: '\"' opened here is never closed");
            if (c == '"')
            {
                Advance();
                break;
            }
            if (c != '\\')
            {
                value.Append(Advance());
                continue;
            }
            var escape = LexEscape("string");
            if (escape.Failed)
                return TokenKind.Error;
            if (escape.AtEnd)
                return Fail(DiagnosticCode.UnterminatedString, start, "unterminated string: '\"' opened here is never closed");
            value.Append((char)escape.Code); // escapes denote codes up to 0xFFFF
        }
        var s = value.ToString();
        return Make(TokenKind.String, s);
    }

    private readonly record struct Escape(int Code, bool AtEnd, bool Failed);

    /// <summary>
    /// Reads a backslash escape (the current character is the backslash), shared by strings and
    /// character literals. A backslash before a letter or digit that names no escape is an error
    /// (eval.c's rule: letters include every character at or above 128); before anything else it
    /// stands for that character.
    /// </summary>
    private Escape LexEscape(string where)
    {
        var at = Here;
        var begin = _pos;
        Advance(); // the backslash
        var c = Peek();
        if (c == EndOfText)
            return new Escape(0, AtEnd: true, false);
        Advance();
        switch (c)
        {
            case 'a': return new Escape(7, false, false);
            case 'b': return new Escape(8, false, false);
            case 'f': return new Escape(12, false, false);
            case 'n': return new Escape(10, false, false);
            case 'r': return new Escape(13, false, false);
            case 't': return new Escape(9, false, false);
            case 'v': return new Escape(11, false, false);
            case 'u':
            {
                var code = 0;
                for (var i = 0; i < 4; i++)
                {
                    if (!IsHexDigit(Peek()))
                        return BadEscape(begin, at, where, "'\\u' needs exactly 4 hex digits");
                    code = code * 16 + DigitValue(Advance());
                }
                return new Escape(code, false, false);
            }
            case 'x':
            {
                if (!IsHexDigit(Peek()))
                    return BadEscape(begin, at, where, "'\\x' needs 1 or 2 hex digits");
                var code = DigitValue(Advance());
                if (IsHexDigit(Peek()))
                    code = code * 16 + DigitValue(Advance());
                return new Escape(code, false, false);
            }
            case >= '0' and <= '7':
            {
                var code = c - '0';
                for (var i = 0; i < 2 && IsOctalDigit(Peek()); i++)
                    code = code * 8 + (Advance() - '0');
                return new Escape(code, false, false);
            }
        }
        if (IsAlphabetic(c) || IsDigit(c))
        {
            if (char.IsHighSurrogate((char)c) && Peek() >= 0 && char.IsLowSurrogate((char)Peek()))
                Advance(); // name the whole character in the message
            return BadEscape(begin, at, where, null);
        }
        return new Escape(c, false, false);
    }

    private Escape BadEscape(int begin, SourceLocation at, string where, string? why)
    {
        var message = $"invalid escape '{_text.Substring(begin, _pos - begin)}' in {where}" + (why is null ? "" : $": {why}");
        Fail(DiagnosticCode.InvalidEscape, at, message);
        return new Escape(0, false, true);
    }

    /// <summary>
    /// <c>?c</c> is the code of the character c (a surrogate pair gives its code point), or of an
    /// escape. It must end there: "?ab" is an error, not 97 followed by the symbol b.
    /// </summary>
    private TokenKind LexCharacter(SourceLocation start)
    {
        var begin = _pos;
        Advance(); // the '?'
        var c = Peek();
        if (c == EndOfText)
            return Fail(DiagnosticCode.InvalidCharacterLiteral, start, "invalid character literal: '?' at end of file has no character after it");
        int code;
        if (c == '\\')
        {
            var escape = LexEscape("character literal");
            if (escape.Failed)
                return TokenKind.Error;
            if (escape.AtEnd)
                return Fail(DiagnosticCode.InvalidCharacterLiteral, start, "invalid character literal: '?\\' at end of file has no character after it");
            code = escape.Code;
        }
        else
        {
            var first = Advance();
            code = first;
            if (char.IsHighSurrogate(first) && Peek() >= 0 && char.IsLowSurrogate((char)Peek()))
                code = char.ConvertToUtf32(first, Advance());
        }
        if (IsConstituent(Peek()))
        {
            TakeConstituents();
            return Fail(DiagnosticCode.InvalidCharacterLiteral, start,
                $"invalid character literal '{_text.Substring(begin, _pos - begin)}': '?' takes exactly one character or escape");
        }
        return Make(TokenKind.Character, null, code);
    }
}
