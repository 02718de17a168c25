using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Syntax;

/// <summary>
/// Reads Maru source into datums, as maru-2.4's <c>read</c> does: lists, dotted tails, <c>[...]</c>
/// as <c>(bracket ...)</c>, <c>{...}</c> as <c>(brace ...)</c>, and the quote prefixes.
/// </summary>
public static class Reader
{
    /// <summary>The deepest nesting of lists (quote forms included) a file may have; later stages recurse over datums.</summary>
    public const int MaxNesting = 1000;

    /// <summary>
    /// The top-level datums of <paramref name="file"/>, in order. Reading stops at the first error
    /// (reported to <paramref name="diagnostics"/>) and returns the datums completed before it: after a
    /// reader error the rest of the file cannot be trusted to mean anything. Never throws.
    /// </summary>
    public static IReadOnlyList<Datum> Read(SourceFile file, DiagnosticBag diagnostics) => Read(file, diagnostics, new NameTable());

    /// <summary>As above, the symbols' names taken from <paramref name="names"/> (the compilation's, see <see cref="NameTable"/>).</summary>
    internal static IReadOnlyList<Datum> Read(SourceFile file, DiagnosticBag diagnostics, NameTable names)
    {
        var reader = new DatumReader(file, diagnostics, names);
        try
        {
            reader.ReadAll();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the reader must become a diagnostic, never a crash of the build that called us.
            diagnostics.Error(DiagnosticCode.InternalError, new SourceLocation(file.Path, 1, 1),
                $"internal error in the reader: {e.GetType().Name}: {e.Message}");
        }
        return reader.Results;
    }
}

/// <summary>
/// The parser over the lexer's tokens. It keeps open lists and pending quote prefixes on an explicit
/// stack rather than recursing, so no input can overflow the call stack; nesting is capped at
/// <see cref="Reader.MaxNesting"/> because every later stage walks datums recursively. The open
/// things are plain records in one array and the elements of every open list wait on one shared
/// stack (a list's are those above its <see cref="Open.Bottom"/>), so a token costs no allocation
/// but its datum's.
/// </summary>
internal sealed class DatumReader
{
    private readonly Lexer _lexer;
    private readonly DiagnosticBag _diagnostics;
    private readonly NameTable _names;
    private readonly string _path;

    /// <summary>The open lists and pending quote prefixes, innermost last (<see cref="_depth"/> of them).</summary>
    private Open[] _open = new Open[16];
    private int _depth;

    /// <summary>The elements read so far of every open list, innermost list's last.</summary>
    private readonly DatumStack _items = new();

    // The names the reader adds itself, interned once per file.
    private string? _quote, _quasiquote, _unquote, _unquoteSplicing;

    public DatumReader(SourceFile file, DiagnosticBag diagnostics, NameTable names)
    {
        _names = names;
        _path = file.Path;
        _lexer = new Lexer(file, diagnostics, names);
        _diagnostics = diagnostics;
    }

    public List<Datum> Results { get; } = new();

    /// <summary>Something begun but not finished: an open list, or a quote prefix waiting for its datum.</summary>
    private struct Open
    {
        /// <summary><see cref="TokenKind.Open"/> for a list, else the quote prefix's kind.</summary>
        public TokenKind Kind;

        /// <summary>A list's opening delimiter: '(', '[' or '{'.</summary>
        public char Opener;

        /// <summary>Where the opening delimiter or the quote prefix is.</summary>
        public int Line, Column;

        /// <summary>A list's first element's index in <see cref="_items"/>.</summary>
        public int Bottom;

        /// <summary>Where a list's '.' of a dotted tail is, once seen (line 0: none).</summary>
        public int DotLine, DotColumn;

        /// <summary>The datum after the '.', once read; the list must close right after it.</summary>
        public Datum? Tail;

        public readonly bool IsList => Kind == TokenKind.Open;

        public readonly char Closer => Opener switch { '(' => ')', '[' => ']', _ => '}' };

        /// <summary>The token as written, for messages.</summary>
        public readonly string Text => Kind switch
        {
            TokenKind.Open => Opener.ToString(),
            TokenKind.Quote => "'",
            TokenKind.Quasiquote => "`",
            TokenKind.Unquote => ",",
            _ => ",@",
        };

        public readonly string Symbol => Kind switch
        {
            TokenKind.Quote => "quote",
            TokenKind.Quasiquote => "quasiquote",
            TokenKind.Unquote => "unquote",
            _ => "unquote-splicing",
        };
    }

    private SourceLocation At(int line, int column) => new(_path, line, column);

    public void ReadAll()
    {
        var lexer = _lexer;
        for (;;)
        {
            var kind = lexer.Next();
            bool ok;
            switch (kind)
            {
                case TokenKind.Error:
                    return;
                case TokenKind.End:
                    AtEnd();
                    return;
                case TokenKind.Open or TokenKind.Quote or TokenKind.Quasiquote or TokenKind.Unquote or TokenKind.UnquoteSplicing:
                    ok = Begin(kind, (char)lexer.Value);
                    break;
                case TokenKind.Close:
                    ok = Close((char)lexer.Value);
                    break;
                case TokenKind.Dot:
                    ok = Dot();
                    break;
                default:
                    ok = CheckRoomForDatum() && Complete(Atom(kind));
                    break;
            }
            if (!ok)
                return;
        }
    }

    private bool Fail(DiagnosticCode code, SourceLocation location, string message)
    {
        _diagnostics.Error(code, location, message);
        return false;
    }

    private Datum Atom(TokenKind kind)
    {
        var lexer = _lexer;
        var location = lexer.Location;
        return kind switch
        {
            TokenKind.Integer or TokenKind.Character => new IntegerDatum(lexer.Value, location),
            TokenKind.Real => new RealDatum(BitConverter.Int64BitsToDouble(lexer.Value), location),
            TokenKind.String => new StringDatum(lexer.Text!, location),
            _ => new SymbolDatum(lexer.Text!, location),
        };
    }

    /// <summary>End of text is fine only at top level; otherwise report the innermost unfinished thing.</summary>
    private bool AtEnd()
    {
        if (_depth == 0)
            return true;
        ref var top = ref _open[_depth - 1];
        if (!top.IsList)
            return MissingQuotedDatum(top);
        return Fail(DiagnosticCode.UnterminatedList, At(top.Line, top.Column),
            $"unterminated list: '{top.Text}' opened here is never closed");
    }

    private bool MissingQuotedDatum(in Open quote) =>
        Fail(DiagnosticCode.MissingQuotedDatum, At(quote.Line, quote.Column),
            $"missing datum after {quote.Symbol} '{quote.Text}'");

    /// <summary>Starts a list or a quote form (the token just read), unless that would nest too deeply.</summary>
    private bool Begin(TokenKind kind, char opener)
    {
        if (!CheckRoomForDatum())
            return false;
        if (_depth >= Reader.MaxNesting)
            return Fail(DiagnosticCode.NestingTooDeep, _lexer.Location,
                $"nesting too deep: more than {Reader.MaxNesting} nested lists");
        if (_depth == _open.Length) Array.Resize(ref _open, _depth * 2);
        ref var open = ref _open[_depth++];
        open.Kind = kind;
        open.Opener = kind == TokenKind.Open ? opener : '\0';
        open.Line = _lexer.Line;
        open.Column = _lexer.Column;
        open.Bottom = _items.Count;
        open.DotLine = 0;
        open.DotColumn = 0;
        if (open.Tail is not null) open.Tail = null;
        return true;
    }

    /// <summary>A dotted list takes exactly one datum after its '.'; a second one is an error at that datum's first token (the token just read).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool CheckRoomForDatum()
    {
        if (_depth > 0 && _open[_depth - 1].Tail is not null)
            return MisplacedSecondDatum();
        return true;
    }

    private bool MisplacedSecondDatum() =>
        Fail(DiagnosticCode.MisplacedDot, _lexer.Location,
            $"misplaced '.': only one datum may follow '.' before '{_open[_depth - 1].Closer}'");

    /// <summary>
    /// A lone '.' marks a dotted tail only as an element of an open list. Anywhere else (top level,
    /// after a quote prefix, as boot.l's <c>'.</c>) it is just the symbol <c>.</c>, as in eval.c.
    /// </summary>
    private bool Dot()
    {
        if (_depth == 0 || !_open[_depth - 1].IsList)
            return Complete(new SymbolDatum(_lexer.Text!, _lexer.Location));
        ref var list = ref _open[_depth - 1];
        if (list.Tail is not null)
            return MisplacedSecondDatum();
        if (list.DotLine != 0)
            return Fail(DiagnosticCode.MisplacedDot, _lexer.Location,
                $"misplaced '.': expected a datum after the '.' at line {list.DotLine}, column {list.DotColumn}");
        if (_items.Count == list.Bottom)
            return Fail(DiagnosticCode.MisplacedDot, _lexer.Location, $"misplaced '.': no element before it in the list opened by '{list.Text}'");
        list.DotLine = _lexer.Line;
        list.DotColumn = _lexer.Column;
        return true;
    }

    private bool Close(char closer)
    {
        if (_depth == 0)
            return Fail(DiagnosticCode.UnexpectedCloser, _lexer.Location, $"unexpected '{closer}' with no list open");
        ref var list = ref _open[_depth - 1];
        if (!list.IsList)
            return MissingQuotedDatum(list);
        if (closer != list.Closer)
            return Fail(DiagnosticCode.MismatchedDelimiter, _lexer.Location,
                $"mismatched delimiter: expected '{list.Closer}' to close '{list.Text}' but found '{closer}'");
        if (list.DotLine != 0 && list.Tail is null)
            return Fail(DiagnosticCode.MisplacedDot, At(list.DotLine, list.DotColumn), $"misplaced '.': no datum after it before '{closer}'");
        _depth--;
        var datum = BuildList(list);
        return Complete(datum);
    }

    /// <summary>
    /// The list's first pair is located at its opening delimiter, each later pair at its element;
    /// <c>[a]</c> and <c>{a}</c> gain a leading <c>bracket</c> / <c>brace</c> symbol located at the delimiter.
    /// Takes the list's elements off <see cref="_items"/>.
    /// </summary>
    private Datum BuildList(in Open list)
    {
        var items = _items;
        var bottom = list.Bottom;
        var opener = At(list.Line, list.Column);
        var plain = list.Opener == '(';
        Datum result = list.Tail ?? new NilDatum(plain && items.Count == bottom ? opener : _lexer.Location);
        for (var i = items.Count - 1; i >= bottom; i--)
        {
            var item = items[i];
            result = new PairDatum(item, result, i == bottom && plain ? opener : item.Location);
        }
        if (!plain)
            result = new PairDatum(new SymbolDatum(_names.Intern(list.Opener == '[' ? "bracket" : "brace"), opener), result, opener);
        items.TruncateTo(bottom);
        return result;
    }

    /// <summary>
    /// Hands a finished datum to whatever is waiting for it: pending quote prefixes wrap it (each
    /// finishing in turn), then an open list takes it as element or dotted tail, or it is a
    /// top-level datum.
    /// </summary>
    private bool Complete(Datum datum)
    {
        while (_depth > 0 && !_open[_depth - 1].IsList)
        {
            ref var quote = ref _open[--_depth];
            var location = At(quote.Line, quote.Column);
            datum = new PairDatum(new SymbolDatum(QuoteName(quote.Kind), location),
                new PairDatum(datum, new NilDatum(datum.Location), datum.Location), location);
        }
        if (_depth == 0)
        {
            Results.Add(datum);
            return true;
        }
        ref var list = ref _open[_depth - 1];
        if (list.DotLine == 0)
            _items.Push(datum);
        else
            list.Tail = datum;
        return true;
    }

    /// <summary>The symbol name a quote prefix stands for, interned once per file.</summary>
    private string QuoteName(TokenKind kind) => kind switch
    {
        TokenKind.Quote => _quote ??= _names.Intern("quote"),
        TokenKind.Quasiquote => _quasiquote ??= _names.Intern("quasiquote"),
        TokenKind.Unquote => _unquote ??= _names.Intern("unquote"),
        _ => _unquoteSplicing ??= _names.Intern("unquote-splicing"),
    };
}
