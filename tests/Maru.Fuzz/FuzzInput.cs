using System.Text;

namespace Maru.Fuzz;

/// <summary>How an input was made: the four strategies of <see cref="FuzzInput.Generate"/>.</summary>
public enum FuzzStrategy
{
    RandomBytes,
    TokenSoup,
    BalancedForms,
    Mutation,
}

/// <summary>One fuzz input: the seed that makes it, the strategy, and the source text.</summary>
public sealed record FuzzInput(int Seed, FuzzStrategy Strategy, string Source)
{
    /// <summary>Tokens of the Maru vocabulary: special forms, prelude macros, primitives, literals and punctuation.</summary>
    private static readonly string[] Vocabulary =
    [
        "define", "define-function", "define-form", "define-constant", "define-structure", "define-export", "lambda", "let", "let*",
        "if", "when", "unless", "cond", "while", "for", "set", "and", "or", "not", "return", "quote", "quasiquote", "unquote",
        "address-of", "oop-at", "set-oop-at", "string-at", "set-string-at", "compile-begin", "compile-end", "extern", "load", "require",
        "cons", "car", "cdr", "list", "concat-list", "list-length", "list-reverse", "string", "string-length", "string-copy",
        "concat-string", "concat-symbol", "format", "array", "array-at", "set-array-at", "array-append", "allocate", "eval", "expand",
        "apply", "error", "print", "println", "dump", "incr", "decr", "push", "pop", "list-do", "array-do", "string->symbol",
        "symbol->string", "long->string", "string->long", "type-of", "form", "defined?",
        "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", "=", "!=", ">=", ">", "~",
        "x", "y", "n", "f", "g", "m", "*env*", "<long>", "<string>", "<bytes>", "<pointer>", "<callback>",
        "0", "1", "-1", "2", "63", "64", "4096", "9223372036854775807", "-9223372036854775808", "0x7f", "1.5", "?a", "?\\n",
        "\"\"", "\"s\"", "\"%d\"", "\"%1000000d\"", "\"\\u2028\"", "\"\\0\"", "()", "'", "`", ",", ",@", ".", "(", ")", "[", "]",
    ];

    private static readonly string[] Heads =
    [
        "define-function", "define", "let", "if", "while", "set", "and", "or", "when", "unless", "cond", "lambda", "define-form",
        "list", "cons", "car", "cdr", "+", "-", "*", "/", "%", "<<", ">>", "<", "=", "not", "oop-at", "set-oop-at", "string-at",
        "format", "concat-string", "string", "array", "set-array-at", "expand", "eval", "quote", "quasiquote", "extern", "apply",
        "println", "error", "let*", "for", "incr", "define-export", "define-structure", "string-copy", "type-of",
    ];

    private static readonly string[] Atoms = ["0", "1", "-1", "7", "63", "100000", "x", "y", "n", "f", "'a", "()", "\"s\"", "\"%s\"", "?c", "'(1 2)", "`(a ,x)"];

    /// <summary>The input for <paramref name="seed"/>: the same seed always gives the same text.</summary>
    public static FuzzInput Generate(int seed, IReadOnlyList<string> corpus)
    {
        var random = new Random(seed);
        var strategy = (FuzzStrategy)((seed % 4 + 4) % 4);
        if (strategy == FuzzStrategy.Mutation && corpus.Count == 0) strategy = FuzzStrategy.BalancedForms;
        var source = strategy switch
        {
            FuzzStrategy.RandomBytes => RandomBytes(random),
            FuzzStrategy.TokenSoup => TokenSoup(random),
            FuzzStrategy.BalancedForms => BalancedForms(random),
            _ => Mutate(corpus[random.Next(corpus.Count)], random),
        };
        return new FuzzInput(seed, strategy, source);
    }

    /// <summary>Bytes of any value, decoded as UTF-8 (invalid sequences become U+FFFD), with a bias to Maru's punctuation.</summary>
    private static string RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 400)];
        random.NextBytes(bytes);
        const string punctuation = "()'`,@.;\"\\? \n0123456789abcxyz-+*";
        for (var i = 0; i < bytes.Length; i++)
            if (random.Next(3) == 0) bytes[i] = (byte)punctuation[random.Next(punctuation.Length)];
        return Encoding.UTF8.GetString(bytes);
    }

    private static string TokenSoup(Random random)
    {
        var sb = new StringBuilder();
        var count = random.Next(1, 120);
        for (var i = 0; i < count; i++)
        {
            sb.Append(Vocabulary[random.Next(Vocabulary.Length)]);
            sb.Append(random.Next(8) == 0 ? '\n' : ' ');
        }
        return sb.ToString();
    }

    /// <summary>Well-bracketed forms whose heads are the language's own, so most inputs get past the reader into evaluation and code generation.</summary>
    private static string BalancedForms(Random random)
    {
        var sb = new StringBuilder();
        var forms = random.Next(1, 6);
        for (var i = 0; i < forms; i++)
        {
            if (random.Next(3) == 0)
            {
                // A function definition is what reaches lowering and the backend.
                var parameters = string.Join(" ", Enumerable.Range(0, random.Next(0, 4)).Select(p => "xyzw"[p].ToString()));
                sb.Append($"(define-function f{i} ({parameters}) ");
                Form(sb, random, 4);
                sb.Append(")\n");
            }
            else
            {
                Form(sb, random, 4);
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    private static void Form(StringBuilder sb, Random random, int depth)
    {
        if (depth == 0 || random.Next(3) == 0)
        {
            sb.Append(Atoms[random.Next(Atoms.Length)]);
            return;
        }
        sb.Append('(').Append(Heads[random.Next(Heads.Length)]);
        var arguments = random.Next(0, 4);
        for (var i = 0; i < arguments; i++)
        {
            sb.Append(' ');
            Form(sb, random, depth - 1);
        }
        sb.Append(')');
    }

    /// <summary>One to four token-level edits of a real program: drop, duplicate, swap, replace with a vocabulary token.</summary>
    private static string Mutate(string source, Random random)
    {
        var tokens = Tokens(source);
        var edits = random.Next(1, 5);
        for (var e = 0; e < edits && tokens.Count > 0; e++)
        {
            var at = random.Next(tokens.Count);
            switch (random.Next(4))
            {
                case 0: tokens.RemoveAt(at); break;
                case 1: tokens.Insert(at, tokens[random.Next(tokens.Count)]); break;
                case 2: (tokens[at], tokens[random.Next(tokens.Count)]) = (tokens[random.Next(tokens.Count)], tokens[at]); break;
                default: tokens[at] = Vocabulary[random.Next(Vocabulary.Length)]; break;
            }
        }
        return string.Join(" ", tokens);
    }

    /// <summary>Rough tokens (parentheses, strings, runs of other non-space characters); comments dropped.</summary>
    private static List<string> Tokens(string source)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < source.Length)
        {
            var c = source[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == ';') { while (i < source.Length && source[i] != '\n') i++; continue; }
            var start = i;
            if (c is '(' or ')' or '\'' or '`') i++;
            else if (c == '"')
            {
                for (i++; i < source.Length && source[i] != '"'; i++)
                    if (source[i] == '\\') i++;
                i = Math.Min(i + 1, source.Length);
            }
            else
                while (i < source.Length && !char.IsWhiteSpace(source[i]) && source[i] is not ('(' or ')')) i++;
            tokens.Add(source[start..i]);
        }
        return tokens;
    }
}
