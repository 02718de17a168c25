using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.Syntax;

[TestClass]
public sealed class ReaderTests
{
    private const string Path = "test.l";

    // ---- Helpers ------------------------------------------------------------------------------

    private static (IReadOnlyList<Datum> Datums, DiagnosticBag Diagnostics) ReadText(string text)
    {
        var bag = new DiagnosticBag();
        var datums = Reader.Read(new SourceFile(Path, text), bag);
        return (datums, bag);
    }

    private static IReadOnlyList<Datum> ReadAll(string text)
    {
        var (datums, bag) = ReadText(text);
        Assert.AreEqual(0, bag.Items.Count, string.Join("\n", bag.Items));
        return datums;
    }

    private static Datum ReadOne(string text)
    {
        var datums = ReadAll(text);
        Assert.AreEqual(1, datums.Count, $"expected one datum from {text}");
        return datums[0];
    }

    private static string Print(string text) => string.Join(" ", ReadAll(text).Select(DatumPrinter.Print));

    private static void AssertAt(Datum datum, int line, int column)
    {
        Assert.AreEqual(new SourceLocation(Path, line, column), datum.Location, $"location of {DatumPrinter.Print(datum)}");
    }

    private static Diagnostic AssertError(string text, DiagnosticCode code, string message, int line, int column)
    {
        var (_, bag) = ReadText(text);
        Assert.AreEqual(1, bag.Items.Count, string.Join("\n", bag.Items));
        var diagnostic = bag.Items[0];
        Assert.AreEqual(code, diagnostic.Code);
        Assert.AreEqual(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.AreEqual(message, diagnostic.Message);
        Assert.AreEqual(new SourceLocation(Path, line, column), diagnostic.Location);
        Assert.IsTrue(bag.HasErrors);
        return diagnostic;
    }

    private static List<Datum> Elements(Datum list) =>
        list.AsList() ?? throw new AssertFailedException($"not a proper list: {DatumPrinter.Print(list)}");

    // ---- Integers -----------------------------------------------------------------------------

    [TestMethod]
    [DataRow("42", 42L)]
    [DataRow("0", 0L)]
    [DataRow("00", 0L)]
    [DataRow("-0", 0L)]
    [DataRow("-7", -7L)]
    [DataRow("010", 8L)]
    [DataRow("0777", 511L)]
    [DataRow("-010", -8L)]
    [DataRow("0x1f", 31L)]
    [DataRow("0xFF", 255L)]
    [DataRow("0x7fffffffffffffff", long.MaxValue)]
    [DataRow("9223372036854775807", long.MaxValue)]
    [DataRow("-9223372036854775808", long.MinValue)]
    [DataRow("9223372036854775808", long.MinValue)]
    [DataRow("0x8000000000000000", long.MinValue)]
    [DataRow("18446744073709551615", -1L)]
    [DataRow("0xffffffffffffffff", -1L)]
    [DataRow("01777777777777777777777", -1L)]
    [DataRow("-18446744073709551615", 1L)]
    public void Integers(string text, long expected)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<IntegerDatum>(datum);
        Assert.AreEqual(expected, ((IntegerDatum)datum).Value);
        AssertAt(datum, 1, 1);
    }

    [TestMethod]
    [DataRow("+5")]
    [DataRow("-")]
    [DataRow("-x")]
    [DataRow("->")]
    [DataRow("--5")]
    [DataRow("-.5")]
    [DataRow(".5")]
    [DataRow("+")]
    public void SignsThatDoNotStartANumberStartASymbol(string text)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<SymbolDatum>(datum);
        Assert.AreEqual(text, ((SymbolDatum)datum).Name);
    }

    // ---- Reals --------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("1.5", 1.5, "1.5")]
    [DataRow("2e3", 2000.0, "2000")]
    [DataRow("1.5e-3", 0.0015, "0.0015")]
    [DataRow("-2.5", -2.5, "-2.5")]
    [DataRow("1.", 1.0, "1")]
    [DataRow("1.e2", 100.0, "100")]
    [DataRow("010.5", 10.5, "10.5")]
    [DataRow("0.25", 0.25, "0.25")]
    public void Reals(string text, double expected, string printed)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<RealDatum>(datum);
        Assert.AreEqual(expected, ((RealDatum)datum).Value);
        Assert.AreEqual(printed, DatumPrinter.Print(datum));
    }

    // ---- Character literals -------------------------------------------------------------------

    [TestMethod]
    [DataRow("?a", 97L)]
    [DataRow("? ", 32L)]
    [DataRow("??", 63L)]
    [DataRow("?(", 40L)]
    [DataRow("?)", 41L)]
    [DataRow("?;", 59L)]
    [DataRow("?\"", 34L)]
    [DataRow("?\\n", 10L)]
    [DataRow("?\\t", 9L)]
    [DataRow("?\\a", 7L)]
    [DataRow("?\\b", 8L)]
    [DataRow("?\\f", 12L)]
    [DataRow("?\\r", 13L)]
    [DataRow("?\\v", 11L)]
    [DataRow("?\\\\", 92L)]
    [DataRow("?\\(", 40L)]
    [DataRow("?\\x41", 65L)]
    [DataRow("?\\x9", 9L)]
    [DataRow("?\\101", 65L)]
    [DataRow("?\\0", 0L)]
    [DataRow("?\\u0041", 65L)]
    [DataRow("?\\u00E9", 233L)]
    [DataRow("?é", 233L)]
    [DataRow("?😀", 0x1F600L)]
    public void CharacterLiterals(string text, long expected)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<IntegerDatum>(datum);
        Assert.AreEqual(expected, ((IntegerDatum)datum).Value);
        AssertAt(datum, 1, 1);
    }

    [TestMethod]
    public void CharacterLiteralsEndAtDelimiters()
    {
        Assert.AreEqual("(97 98 40 41)", Print("(?a ?b ?( ?))"));
        Assert.AreEqual("(= c 10)", Print("(= c ?\\n)"));
        Assert.AreEqual("40 (a)", Print("?((a)"));
    }

    [TestMethod]
    public void CharacterLiteralOfALineBreakStillCountsTheLine()
    {
        var datums = ReadAll("?\n x");
        Assert.AreEqual(10L, ((IntegerDatum)datums[0]).Value);
        AssertAt(datums[1], 2, 2);
    }

    // ---- Strings ------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("\"hello\"", "hello")]
    [DataRow("\"\"", "")]
    [DataRow("\"\\a\\b\\f\\n\\r\\t\\v\"", "\a\b\f\n\r\t\v")]
    [DataRow("\"say \\\"hi\\\"\"", "say \"hi\"")]
    [DataRow("\"back\\\\slash\"", "back\\slash")]
    [DataRow("\"\\u00e9t\\u00C9\"", "étÉ")]
    [DataRow("\"\\x41\\x9z\\x411\"", "A\tzA1")]
    [DataRow("\"\\101\\7\\1010\\08\"", "A\aA0\08")]
    [DataRow("\"\\(\\;\\ \\%\"", "(; %")]
    [DataRow("\"a;b(c)\"", "a;b(c)")]
    [DataRow("\"é😀\"", "é😀")]
    public void Strings(string text, string expected)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<StringDatum>(datum);
        Assert.AreEqual(expected, ((StringDatum)datum).Value);
        AssertAt(datum, 1, 1);
    }

    [TestMethod]
    public void StringsMaySpanLinesAndLinesAreCountedInside()
    {
        var datums = ReadAll("(x \"one\ntwo\r\nthree\rfour\" y)\n z");
        var items = Elements(datums[0]);
        Assert.AreEqual("one\ntwo\r\nthree\rfour", ((StringDatum)items[1]).Value);
        AssertAt(items[1], 1, 4);
        AssertAt(items[2], 4, 7);
        AssertAt(datums[1], 5, 2);
    }

    [TestMethod]
    public void BackslashBeforeALineBreakIsThatLineBreak()
    {
        Assert.AreEqual("a\nb", ((StringDatum)ReadOne("\"a\\\nb\"")).Value);
    }

    [TestMethod]
    public void StringPrintsWithEscapes()
    {
        Assert.AreEqual("\"a\\\"b\\n\"", Print("\"a\\\"b\\n\""));
    }

    // ---- Symbols ------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("foo")]
    [DataRow("foo?")]
    [DataRow("a.b")]
    [DataRow("self.name")]
    [DataRow("<point>-x")]
    [DataRow("set-oop-at")]
    [DataRow("foo,bar")]
    [DataRow("a1")]
    [DataRow("..")]
    [DataRow("#foo")]
    [DataRow("a#!x")]
    [DataRow("|x|")]
    [DataRow("\\a")]
    [DataRow("~")]
    [DataRow("a@b")]
    [DataRow("!$%&*/:<=>^_")]
    [DataRow("é")]
    [DataRow("λx")]
    [DataRow("x?y")]
    public void Symbols(string text)
    {
        var datum = ReadOne(text);
        Assert.IsInstanceOfType<SymbolDatum>(datum);
        Assert.AreEqual(text, ((SymbolDatum)datum).Name);
        Assert.AreEqual(text, DatumPrinter.Print(datum));
    }

    [TestMethod]
    public void EveryAsciiUnitContinuesASymbolExactlyWhenEvalCSaysSo()
    {
        // eval.c's letters (ASCII letters and this punctuation) and digits continue a symbol; nothing else does.
        const string punctuation = "!#$%&*+,-./:<=>?@\\^_|~";
        for (var c = 0; c < 128; c++)
        {
            var unit = (char)c;
            var text = $"a{unit}b";
            var datums = Reader.Read(new SourceFile(Path, text), new DiagnosticBag());
            var oneSymbol = datums is [SymbolDatum { Name: var name }] && name == text;
            Assert.AreEqual(char.IsAsciiLetterOrDigit(unit) || punctuation.Contains(unit), oneSymbol, $"unit {c}");
        }
    }

    [TestMethod]
    public void EveryAsciiUnitStartsASymbolExactlyWhenEvalCSaysSo()
    {
        // Letters and the punctuation start one; '?' (a character literal) and ',' (unquote) are prefixes first.
        const string punctuation = "!#$%&*+-./:<=>@\\^_|~";
        for (var c = 0; c < 128; c++)
        {
            var unit = (char)c;
            var text = $"{unit}a";
            var datums = Reader.Read(new SourceFile(Path, text), new DiagnosticBag());
            var oneSymbol = datums is [SymbolDatum { Name: var name }] && name == text;
            Assert.AreEqual(char.IsAsciiLetter(unit) || punctuation.Contains(unit), oneSymbol, $"unit {c}");
        }
    }

    [TestMethod]
    [DataRow("foo(bar)", "foo (bar)")]
    [DataRow("a'b", "a (quote b)")]
    [DataRow("a`b", "a (quasiquote b)")]
    [DataRow("a\"s\"", "a \"s\"")]
    [DataRow("a;c\nb", "a b")]
    [DataRow("a[b]", "a (bracket b)")]
    [DataRow("a{b}", "a (brace b)")]
    [DataRow("(a)b", "(a) b")]
    [DataRow("a\tb\rc\r\nd", "a b c d")]
    public void SymbolsEndAtDelimiters(string text, string printed)
    {
        Assert.AreEqual(printed, Print(text));
    }

    // ---- Lists and prefixes -------------------------------------------------------------------

    [TestMethod]
    [DataRow("(a b c)", "(a b c)")]
    [DataRow("((a) (b c) ())", "((a) (b c) ())")]
    [DataRow("(a . b)", "(a . b)")]
    [DataRow("(a b . c)", "(a b . c)")]
    [DataRow("(a . (b c))", "(a b c)")]
    [DataRow("(a . ())", "(a)")]
    [DataRow("(a .b)", "(a .b)")]
    [DataRow("(a . 'b)", "(a quote b)")]
    [DataRow("[a b]", "(bracket a b)")]
    [DataRow("{a b}", "(brace a b)")]
    [DataRow("[]", "(bracket)")]
    [DataRow("{}", "(brace)")]
    [DataRow("[a . b]", "(bracket a . b)")]
    [DataRow("(1 -2 \"s\" ?a 1.5)", "(1 -2 \"s\" 97 1.5)")]
    [DataRow("'x", "(quote x)")]
    [DataRow("`x", "(quasiquote x)")]
    [DataRow(",x", "(unquote x)")]
    [DataRow(",@x", "(unquote-splicing x)")]
    [DataRow("' x", "(quote x)")]
    [DataRow("''x", "(quote (quote x))")]
    [DataRow("'(a b)", "(quote (a b))")]
    [DataRow("`(a ,b ,@c)", "(quasiquote (a (unquote b) (unquote-splicing c)))")]
    [DataRow(", @x", "(unquote @x)")]
    [DataRow("'.", "(quote .)")]
    [DataRow(".", ".")]
    // Lists and prefixes opened where a closed dotted list was (the reader reuses its open records).
    [DataRow("((a . b) 'c)", "((a . b) (quote c))")]
    [DataRow("((a . b) c d)", "((a . b) c d)")]
    [DataRow("((a . (b c)) . d)", "((a b c) . d)")]
    [DataRow("([x . y] . [z])", "((bracket x . y) bracket z)")]
    [DataRow("(a (b . c) . 'd)", "(a (b . c) quote d)")]
    [DataRow("'((a . b) . `(c . ,d))", "(quote ((a . b) quasiquote (c unquote d)))")]
    [DataRow("(a . b) (c d) [e . f] [g]", "(a . b) (c d) (bracket e . f) (bracket g)")]
    public void ListsAndPrefixes(string text, string printed)
    {
        Assert.AreEqual(printed, Print(text));
    }

    [TestMethod]
    public void EmptyListIsNilAtItsParenthesis()
    {
        var datum = ReadOne("  ()");
        Assert.IsInstanceOfType<NilDatum>(datum);
        AssertAt(datum, 1, 3);
    }

    [TestMethod]
    public void DottedTailIsTheDatumItself()
    {
        var pair = (PairDatum)ReadOne("(a . 5)");
        Assert.IsInstanceOfType<IntegerDatum>(pair.Tail);
        Assert.AreEqual(5L, ((IntegerDatum)pair.Tail).Value);
    }

    [TestMethod]
    public void TopLevelDatumsComeInOrder()
    {
        Assert.AreEqual("a 1 \"s\" (b) (quote c)", Print("a 1 \"s\" (b) 'c"));
        Assert.AreEqual(0, ReadAll("").Count);
        Assert.AreEqual(0, ReadAll("  ; only a comment\n\t\r\n").Count);
    }

    // ---- Comments, whitespace, #! -------------------------------------------------------------

    [TestMethod]
    public void CommentsRunToTheEndOfTheLine()
    {
        var datums = ReadAll("; first\na ; (b\n;c\r\nd;e");
        Assert.AreEqual("a d", string.Join(" ", datums.Select(DatumPrinter.Print)));
        AssertAt(datums[0], 2, 1);
        AssertAt(datums[1], 4, 1);
    }

    [TestMethod]
    public void FirstLineStartingWithHashBangIsSkipped()
    {
        var datums = ReadAll("#!/usr/bin/env maru (\n(a)");
        Assert.AreEqual(1, datums.Count);
        Assert.AreEqual("(a)", DatumPrinter.Print(datums[0]));
        AssertAt(datums[0], 2, 1);
    }

    [TestMethod]
    public void HashBangIsOnlySkippedAtTheStartOfTheFile()
    {
        Assert.AreEqual("a #!b", Print("a\n#!b"));
    }

    // ---- Locations ----------------------------------------------------------------------------

    [TestMethod]
    public void LineBreaksCrLfCrAndLfEachCountOnce()
    {
        var items = Elements(ReadOne("(a\r\n  b\r  c\n\td\n\n\r\ne)"));
        AssertAt(items[0], 1, 2);
        AssertAt(items[1], 2, 3);
        AssertAt(items[2], 3, 3);
        AssertAt(items[3], 4, 2);
        AssertAt(items[4], 7, 1);
    }

    [TestMethod]
    public void LfFollowedByCrIsTwoLineBreaks()
    {
        AssertAt(ReadAll("a\n\rb")[1], 3, 1);
    }

    [TestMethod]
    public void ColumnsCountUtf16UnitsAndTabsAsOne()
    {
        var datums = ReadAll("\"😀\" x\t\ty é z");
        AssertAt(datums[1], 1, 6);
        AssertAt(datums[2], 1, 9);
        AssertAt(datums[3], 1, 11);
        AssertAt(datums[4], 1, 13);
    }

    [TestMethod]
    public void ListPairsAreLocatedAtTheParenThenAtEachElement()
    {
        var list = (PairDatum)ReadOne("\n  (a  bb\n   c)");
        AssertAt(list, 2, 3);
        AssertAt(list.Head, 2, 4);
        var second = (PairDatum)list.Tail;
        AssertAt(second, 2, 7);
        AssertAt(second.Head, 2, 7);
        var third = (PairDatum)second.Tail;
        AssertAt(third, 3, 4);
        Assert.IsInstanceOfType<NilDatum>(third.Tail);
    }

    [TestMethod]
    public void BracketSymbolIsLocatedAtTheBracket()
    {
        var list = (PairDatum)ReadOne(" [a b]");
        AssertAt(list, 1, 2);
        Assert.IsTrue(list.Head.IsSymbol("bracket"));
        AssertAt(list.Head, 1, 2);
        var second = (PairDatum)list.Tail;
        AssertAt(second, 1, 3);
        AssertAt(second.Head, 1, 3);

        var brace = (PairDatum)ReadOne("x\n{y}", skip: 1);
        Assert.IsTrue(brace.Head.IsSymbol("brace"));
        AssertAt(brace.Head, 2, 1);
        AssertAt(((PairDatum)brace.Tail).Head, 2, 2);
    }

    private static Datum ReadOne(string text, int skip) => ReadAll(text)[skip];

    [TestMethod]
    [DataRow("  'x", "quote")]
    [DataRow("  `x", "quasiquote")]
    [DataRow("  ,x", "unquote")]
    [DataRow("  ,@x", "unquote-splicing")]
    public void QuoteFormsAreLocatedAtTheQuoteCharacter(string text, string symbol)
    {
        var form = (PairDatum)ReadOne(text);
        AssertAt(form, 1, 3);
        Assert.IsTrue(form.Head.IsSymbol(symbol));
        AssertAt(form.Head, 1, 3);
        var quoted = (PairDatum)form.Tail;
        Assert.IsTrue(quoted.Head.IsSymbol("x"));
        AssertAt(quoted.Head, 1, text.Length);
        Assert.IsInstanceOfType<NilDatum>(quoted.Tail);
    }

    [TestMethod]
    public void DatumsAfterAMultiLineStringHaveTheRightLine()
    {
        var datums = ReadAll("\"a\r\nb\" c\r\n d");
        AssertAt(datums[1], 2, 4);
        AssertAt(datums[2], 3, 2);
    }

    [TestMethod]
    public void DiagnosticPrintsInMsBuildForm()
    {
        var diagnostic = AssertError("\n  )", DiagnosticCode.UnexpectedCloser, "unexpected ')' with no list open", 2, 3);
        Assert.AreEqual("test.l(2,3): error MARU0102: unexpected ')' with no list open", diagnostic.ToString());
    }

    // ---- Errors -------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("(a b", "unterminated list: '(' opened here is never closed", 1, 1)]
    [DataRow("(a\n  [b", "unterminated list: '[' opened here is never closed", 2, 3)]
    [DataRow("x {", "unterminated list: '{' opened here is never closed", 1, 3)]
    [DataRow("(a . ", "unterminated list: '(' opened here is never closed", 1, 1)]
    public void UnterminatedList(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.UnterminatedList, message, line, column);

    [TestMethod]
    [DataRow(")", "unexpected ')' with no list open", 1, 1)]
    [DataRow("a\r\n ]", "unexpected ']' with no list open", 2, 2)]
    [DataRow("(a) }", "unexpected '}' with no list open", 1, 5)]
    public void UnexpectedCloser(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.UnexpectedCloser, message, line, column);

    [TestMethod]
    [DataRow("(a ]", "mismatched delimiter: expected ')' to close '(' but found ']'", 1, 4)]
    [DataRow("[a )", "mismatched delimiter: expected ']' to close '[' but found ')'", 1, 4)]
    [DataRow("{a\n)", "mismatched delimiter: expected '}' to close '{' but found ')'", 2, 1)]
    [DataRow("([a) ]", "mismatched delimiter: expected ']' to close '[' but found ')'", 1, 4)]
    public void MismatchedDelimiter(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.MismatchedDelimiter, message, line, column);

    [TestMethod]
    [DataRow("\"abc", 1, 1)]
    [DataRow("x \"ab\ncd", 1, 3)]
    [DataRow("\"abc\\", 1, 1)]
    [DataRow("(a\n  \"b\\\"", 2, 3)]
    public void UnterminatedStringIsLocatedAtTheOpeningQuote(string text, int line, int column) =>
        AssertError(text, DiagnosticCode.UnterminatedString, "unterminated string: '\"' opened here is never closed", line, column);

    [TestMethod]
    [DataRow("\"a\\qb\"", "invalid escape '\\q' in string", 1, 3)]
    [DataRow("\"\\8\"", "invalid escape '\\8' in string", 1, 2)]
    [DataRow("\"\\é\"", "invalid escape '\\é' in string", 1, 2)]
    [DataRow("\"\\X41\"", "invalid escape '\\X' in string", 1, 2)]
    [DataRow("\"ok\"\n\"\\u12g4\"", "invalid escape '\\u12' in string: '\\u' needs exactly 4 hex digits", 2, 2)]
    [DataRow("\"\\u\"", "invalid escape '\\u' in string: '\\u' needs exactly 4 hex digits", 1, 2)]
    [DataRow("\"\\xg\"", "invalid escape '\\x' in string: '\\x' needs 1 or 2 hex digits", 1, 2)]
    [DataRow("?\\q", "invalid escape '\\q' in character literal", 1, 2)]
    [DataRow("?\\u41", "invalid escape '\\u41' in character literal: '\\u' needs exactly 4 hex digits", 1, 2)]
    public void InvalidEscape(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.InvalidEscape, message, line, column);

    [TestMethod]
    [DataRow("?", "invalid character literal: '?' at end of file has no character after it", 1, 1)]
    [DataRow("a ?\\", "invalid character literal: '?\\' at end of file has no character after it", 1, 3)]
    [DataRow("?ab", "invalid character literal '?ab': '?' takes exactly one character or escape", 1, 1)]
    [DataRow("(x ?\\n1)", "invalid character literal '?\\n1': '?' takes exactly one character or escape", 1, 4)]
    [DataRow("?)x", "invalid character literal '?)x': '?' takes exactly one character or escape", 1, 1)]
    public void InvalidCharacterLiteral(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.InvalidCharacterLiteral, message, line, column);

    [TestMethod]
    [DataRow("08", "invalid number '08': '8' is not an octal digit")]
    [DataRow("0779", "invalid number '0779': '9' is not an octal digit")]
    [DataRow("0x", "invalid number '0x': no digits after '0x'")]
    [DataRow("0xg", "invalid number '0xg': unexpected 'g'")]
    [DataRow("0X1", "invalid number '0X1': unexpected 'X'")]
    [DataRow("123abc", "invalid number '123abc': unexpected 'a'")]
    [DataRow("1-2", "invalid number '1-2': unexpected '-'")]
    [DataRow("1.5.2", "invalid number '1.5.2': unexpected '.'")]
    [DataRow("1e", "invalid number '1e': no digits in the exponent")]
    [DataRow("1e+3", "invalid number '1e+3': no digits in the exponent")]
    [DataRow("-0x10", "invalid number '-0x10': a hex literal cannot have a '-' sign")]
    [DataRow("99999999999999999999", "integer literal 99999999999999999999 does not fit in 64 bits")]
    [DataRow("18446744073709551616", "integer literal 18446744073709551616 does not fit in 64 bits")]
    [DataRow("-18446744073709551616", "integer literal -18446744073709551616 does not fit in 64 bits")]
    [DataRow("0x10000000000000000", "integer literal 0x10000000000000000 does not fit in 64 bits")]
    [DataRow("02000000000000000000000", "integer literal 02000000000000000000000 does not fit in 64 bits")]
    public void InvalidNumber(string text, string message) =>
        AssertError(text, DiagnosticCode.InvalidNumber, message, 1, 1);

    [TestMethod]
    [DataRow("(. a)", "misplaced '.': no element before it in the list opened by '('", 1, 2)]
    [DataRow("[. a]", "misplaced '.': no element before it in the list opened by '['", 1, 2)]
    [DataRow("(a . )", "misplaced '.': no datum after it before ')'", 1, 4)]
    [DataRow("(a . b c)", "misplaced '.': only one datum may follow '.' before ')'", 1, 8)]
    [DataRow("(a . b (c))", "misplaced '.': only one datum may follow '.' before ')'", 1, 8)]
    [DataRow("(a . b 'c)", "misplaced '.': only one datum may follow '.' before ')'", 1, 8)]
    [DataRow("(a . b .)", "misplaced '.': only one datum may follow '.' before ')'", 1, 8)]
    [DataRow("(a . . b)", "misplaced '.': expected a datum after the '.' at line 1, column 4", 1, 6)]
    [DataRow("((a . b) . c d)", "misplaced '.': only one datum may follow '.' before ')'", 1, 14)]
    [DataRow("((a . b) . )", "misplaced '.': no datum after it before ')'", 1, 10)]
    [DataRow("[a . b c]", "misplaced '.': only one datum may follow '.' before ']'", 1, 8)]
    [DataRow("(x\n ((a . b) . (c . d) e))", "misplaced '.': only one datum may follow '.' before ')'", 2, 21)]
    public void MisplacedDot(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.MisplacedDot, message, line, column);

    [TestMethod]
    [DataRow("\u0007", "illegal character 0x07", 1, 1)]
    [DataRow("a\u007f", "illegal character 0x7f", 1, 2)]
    [DataRow("(a\n \f)", "illegal character 0x0c", 2, 2)]
    [DataRow("\v", "illegal character 0x0b", 1, 1)]
    [DataRow("\"ok\" \0", "illegal character 0x00", 1, 6)]
    public void IllegalCharacter(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.IllegalCharacter, message, line, column);

    [TestMethod]
    [DataRow("'", "missing datum after quote '''", 1, 1)]
    [DataRow("(a ')", "missing datum after quote '''", 1, 4)]
    [DataRow("`", "missing datum after quasiquote '`'", 1, 1)]
    [DataRow("(,)", "missing datum after unquote ','", 1, 2)]
    [DataRow("[,@]", "missing datum after unquote-splicing ',@'", 1, 2)]
    [DataRow("('", "missing datum after quote '''", 1, 2)]
    [DataRow("x '\n ; nothing\n", "missing datum after quote '''", 1, 3)]
    public void MissingQuotedDatum(string text, string message, int line, int column) =>
        AssertError(text, DiagnosticCode.MissingQuotedDatum, message, line, column);

    [TestMethod]
    public void ReadingStopsAtTheFirstErrorAndKeepsWhatCameBefore()
    {
        var (datums, bag) = ReadText("a (b c)\n) d (e");
        Assert.AreEqual("a (b c)", string.Join(" ", datums.Select(DatumPrinter.Print)));
        Assert.AreEqual(1, bag.Items.Count);
        Assert.AreEqual(DiagnosticCode.UnexpectedCloser, bag.Items[0].Code);

        (datums, bag) = ReadText("x (y ?ab) z 08");
        Assert.AreEqual("x", string.Join(" ", datums.Select(DatumPrinter.Print)));
        Assert.AreEqual(1, bag.Items.Count);
        Assert.AreEqual(DiagnosticCode.InvalidCharacterLiteral, bag.Items[0].Code);
    }

    // ---- Nesting limits -----------------------------------------------------------------------

    private static int Depth(Datum datum)
    {
        var depth = 0;
        while (datum is PairDatum pair)
        {
            depth++;
            datum = pair.Head;
        }
        return depth;
    }

    [TestMethod]
    public void ThousandNestedListsAreFine()
    {
        var text = new string('(', 1000) + "x" + new string(')', 1000);
        var datum = ReadOne(text);
        Assert.AreEqual(1000, Depth(datum));
        Assert.AreEqual(1000, Reader.MaxNesting);
    }

    [TestMethod]
    public void ThousandAndOneNestedListsAreAnError()
    {
        var text = "ok\n" + new string('(', 1001) + new string(')', 1001);
        var (datums, _) = ReadText(text);
        Assert.AreEqual(1, datums.Count);
        AssertError(text, DiagnosticCode.NestingTooDeep, "nesting too deep: more than 1000 nested lists", 2, 1001);
    }

    [TestMethod]
    public void QuotesCountAsNesting()
    {
        Assert.AreEqual(1000, Depth(ReadOne(new string('(', 999) + "'x" + new string(')', 999))));
        AssertError(new string('\'', 1001) + "x", DiagnosticCode.NestingTooDeep, "nesting too deep: more than 1000 nested lists", 1, 1001);
        AssertError("'" + new string('[', 1000) + new string(']', 1000), DiagnosticCode.NestingTooDeep, "nesting too deep: more than 1000 nested lists", 1, 1001);
    }

    [TestMethod]
    public void HugeInputsNeitherOverflowNorHang()
    {
        AssertError(new string('(', 200_000), DiagnosticCode.NestingTooDeep, "nesting too deep: more than 1000 nested lists", 1, 1001);
        AssertError(new string(')', 200_000), DiagnosticCode.UnexpectedCloser, "unexpected ')' with no list open", 1, 1);

        var longList = "(" + string.Concat(Enumerable.Repeat("a ", 200_000)) + ")";
        Assert.AreEqual(200_000, Elements(ReadOne(longList)).Count);
    }

    // ---- Robustness ---------------------------------------------------------------------------

    [TestMethod]
    public void RandomInputNeverThrowsAndReportsAtMostOneError()
    {
        const string syntax = "()[]{}'`,@.;\"\\?-+0123456789xXeabc \t\r\n#!";
        var random = new Random(1234);
        for (var i = 0; i < 4000; i++)
        {
            var length = random.Next(0, 48);
            var chars = new char[length];
            for (var j = 0; j < length; j++)
            {
                chars[j] = random.Next(4) switch
                {
                    0 => (char)random.Next(0, 0x80),        // any ASCII, control characters included
                    1 => (char)random.Next(0, 0x10000),     // any UTF-16 unit, lone surrogates included
                    _ => syntax[random.Next(syntax.Length)], // mostly syntax, to get past the first token
                };
            }
            var text = new string(chars);
            var (datums, bag) = ReadText(text);
            Assert.IsTrue(bag.Items.Count <= 1, $"input {i}: {string.Join("\n", bag.Items)}");
            if (bag.Items.Count == 1)
                Assert.AreNotEqual(DiagnosticCode.InternalError, bag.Items[0].Code, $"input {i}: {bag.Items[0]}");
            foreach (var datum in datums)
            {
                Assert.AreEqual(Path, datum.Location.File);
                Assert.IsTrue(datum.Location.Line >= 1 && datum.Location.Column >= 1, $"input {i}");
            }
        }
    }
}
