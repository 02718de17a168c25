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
/// <see cref="Reader.MaxNesting"/> because every later stage walks datums recursively.
/// </summary>
internal sealed class DatumReader
{
    private readonly Lexer _lexer;
    private readonly DiagnosticBag _diagnostics;
    private readonly OpenFrames _open = new();

    /// <summary>The open frames, innermost on top: a stack whose peek and push inline (stores skip the covariance check, see <see cref="ExactArray"/>).</summary>
    private sealed class OpenFrames
    {
        private Frame[] _items = new Frame[16];
        private int _count;

        public int Count => _count;

        public Frame Peek() => _items[_count - 1];

        public void Push(Frame frame)
        {
            if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
            ExactArray.Set(_items, _count++, frame);
        }

        public void Pop() => _items[--_count] = null!;
    }

    /// <summary>Closed list frames, reused: a file has a list per form and sub-form but only nests a few deep.</summary>
    private readonly Stack<ListFrame> _freeLists = new();

    private readonly NameTable _names;

    public DatumReader(SourceFile file, DiagnosticBag diagnostics, NameTable names)
    {
        _names = names;
        _lexer = new Lexer(file, diagnostics, names);
        _diagnostics = diagnostics;
    }

    public List<Datum> Results { get; } = new();

    /// <summary>Something begun but not finished: an open list, or a quote prefix waiting for its datum.</summary>
    private abstract class Frame
    {
        protected Frame(Token token) => Token = token;

        /// <summary>The token that opened it: the opening delimiter or the quote prefix.</summary>
        public Token Token { get; protected set; }
    }

    private sealed class ListFrame(Token opener) : Frame(opener)
    {
        public DatumStack Items { get; } = new();

        /// <summary>Makes a closed frame (from <see cref="_freeLists"/>) the frame of a new list.</summary>
        public ListFrame Reopen(Token opener)
        {
            Token = opener;
            Items.Clear();
            Dot = null;
            Tail = null;
            return this;
        }

        /// <summary>The '.' of a dotted tail, once seen.</summary>
        public Token? Dot { get; set; }

        /// <summary>The datum after the '.', once read; the list must close right after it.</summary>
        public Datum? Tail { get; set; }

        public char Closer => Token.Text[0] switch { '(' => ')', '[' => ']', _ => '}' };
    }

    private sealed class QuoteFrame(Token prefix) : Frame(prefix)
    {
        public string Symbol => Token.Kind switch
        {
            TokenKind.Quote => "quote",
            TokenKind.Quasiquote => "quasiquote",
            TokenKind.Unquote => "unquote",
            _ => "unquote-splicing",
        };
    }

    public void ReadAll()
    {
        for (;;)
        {
            var token = _lexer.Next();
            var ok = token.Kind switch
            {
                TokenKind.Error => false,
                TokenKind.End => AtEnd(),
                TokenKind.Open => Open(_freeLists.TryPop(out var free) ? free.Reopen(token) : new ListFrame(token)),
                TokenKind.Quote or TokenKind.Quasiquote or TokenKind.Unquote or TokenKind.UnquoteSplicing => Open(new QuoteFrame(token)),
                TokenKind.Close => Close(token),
                TokenKind.Dot => Dot(token),
                _ => CheckRoomForDatum(token) && Complete(Atom(token)),
            };
            if (!ok || token.Kind == TokenKind.End)
                return;
        }
    }

    private bool Fail(DiagnosticCode code, SourceLocation location, string message)
    {
        _diagnostics.Error(code, location, message);
        return false;
    }

    private static Datum Atom(in Token token) => token.Kind switch
    {
        TokenKind.Integer or TokenKind.Character => new IntegerDatum(token.IntegerValue, token.Location),
        TokenKind.Real => new RealDatum(token.RealValue, token.Location),
        TokenKind.String => new StringDatum(token.Text, token.Location),
        _ => new SymbolDatum(token.Text, token.Location),
    };

    /// <summary>End of text is fine only at top level; otherwise report the innermost unfinished thing.</summary>
    private bool AtEnd()
    {
        if (_open.Count == 0)
            return true;
        return _open.Peek() switch
        {
            QuoteFrame quote => MissingQuotedDatum(quote),
            var list => Fail(DiagnosticCode.UnterminatedList, list.Token.Location,
                $"unterminated list: '{list.Token.Text}' opened here is never closed"),
        };
    }

    private bool MissingQuotedDatum(QuoteFrame quote) =>
        Fail(DiagnosticCode.MissingQuotedDatum, quote.Token.Location,
            $"missing datum after {quote.Symbol} '{quote.Token.Text}'");

    /// <summary>Starts a list or a quote form, unless that would nest too deeply.</summary>
    private bool Open(Frame frame)
    {
        if (!CheckRoomForDatum(frame.Token))
            return false;
        if (_open.Count >= Reader.MaxNesting)
            return Fail(DiagnosticCode.NestingTooDeep, frame.Token.Location,
                $"nesting too deep: more than {Reader.MaxNesting} nested lists");
        _open.Push(frame);
        return true;
    }

    /// <summary>A dotted list takes exactly one datum after its '.'; a second one is an error at that datum's first token.</summary>
    private bool CheckRoomForDatum(in Token token)
    {
        if (_open.Count > 0 && _open.Peek() is ListFrame { Tail: not null } list)
            return Fail(DiagnosticCode.MisplacedDot, token.Location,
                $"misplaced '.': only one datum may follow '.' before '{list.Closer}'");
        return true;
    }

    /// <summary>
    /// A lone '.' marks a dotted tail only as an element of an open list. Anywhere else (top level,
    /// after a quote prefix, as boot.l's <c>'.</c>) it is just the symbol <c>.</c>, as in eval.c.
    /// </summary>
    private bool Dot(in Token dot)
    {
        if (_open.Count == 0 || _open.Peek() is QuoteFrame)
            return Complete(new SymbolDatum(dot.Text, dot.Location));
        var list = (ListFrame)_open.Peek();
        if (list.Tail is not null)
            return CheckRoomForDatum(dot);
        if (list.Dot is { } first)
            return Fail(DiagnosticCode.MisplacedDot, dot.Location,
                $"misplaced '.': expected a datum after the '.' at line {first.Location.Line}, column {first.Location.Column}");
        if (list.Items.Count == 0)
            return Fail(DiagnosticCode.MisplacedDot, dot.Location, $"misplaced '.': no element before it in the list opened by '{list.Token.Text}'");
        list.Dot = dot;
        return true;
    }

    private bool Close(in Token closer)
    {
        if (_open.Count == 0)
            return Fail(DiagnosticCode.UnexpectedCloser, closer.Location, $"unexpected '{closer.Text}' with no list open");
        if (_open.Peek() is QuoteFrame quote)
            return MissingQuotedDatum(quote);
        var list = (ListFrame)_open.Peek();
        if (closer.Text[0] != list.Closer)
            return Fail(DiagnosticCode.MismatchedDelimiter, closer.Location,
                $"mismatched delimiter: expected '{list.Closer}' to close '{list.Token.Text}' but found '{closer.Text}'");
        if (list.Dot is { } dot && list.Tail is null)
            return Fail(DiagnosticCode.MisplacedDot, dot.Location, $"misplaced '.': no datum after it before '{closer.Text}'");
        _open.Pop();
        var datum = BuildList(list, closer, _names);
        _freeLists.Push(list);
        return Complete(datum);
    }

    /// <summary>
    /// The list's first pair is located at its opening delimiter, each later pair at its element;
    /// <c>[a]</c> and <c>{a}</c> gain a leading <c>bracket</c> / <c>brace</c> symbol located at the delimiter.
    /// </summary>
    private static Datum BuildList(ListFrame list, in Token closer, NameTable names)
    {
        var opener = list.Token;
        var items = list.Items;
        if (opener.Text != "(")
            items.InsertAtBottom(new SymbolDatum(names.Intern(opener.Text == "[" ? "bracket" : "brace"), opener.Location));
        Datum result = list.Tail ?? new NilDatum(items.Count == 0 ? opener.Location : closer.Location);
        for (var i = items.Count - 1; i >= 0; i--)
            result = new PairDatum(items[i], result, i == 0 ? opener.Location : items[i].Location);
        return result;
    }

    /// <summary>
    /// Hands a finished datum to whatever is waiting for it: pending quote prefixes wrap it (each
    /// finishing in turn), then an open list takes it as element or dotted tail, or it is a
    /// top-level datum.
    /// </summary>
    private bool Complete(Datum datum)
    {
        while (_open.Count > 0 && _open.Peek() is QuoteFrame quote)
        {
            _open.Pop();
            var location = quote.Token.Location;
            datum = new PairDatum(new SymbolDatum(_names.Intern(quote.Symbol), location),
                new PairDatum(datum, new NilDatum(datum.Location), datum.Location), location);
        }
        if (_open.Count == 0)
        {
            Results.Add(datum);
            return true;
        }
        var list = (ListFrame)_open.Peek();
        if (list.Dot is null)
            list.Items.Push(datum);
        else
            list.Tail = datum;
        return true;
    }
}
