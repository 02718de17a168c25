using System.Globalization;
using System.Text;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

// The primitives (maru-2.4's subrs) that macro and top-level code use. Integer arithmetic has
// exactly the compiled semantics (OpcodeFacts.Evaluate): 64-bit wrap, x/0 = 0, MIN/-1 = MIN,
// shift counts modulo 64. Comparisons and predicates answer t or ().
internal sealed partial class Interpreter
{
    /// <summary>type-of numbers of the built-in kinds (the order of boot.l's built-in structures).</summary>
    public static class TypeNumbers
    {
        public const long Undefined = 0, Long = 2, Double = 3, String = 4, Symbol = 5, Pair = 6, Array = 8,
            Expr = 9, Form = 10, Fixed = 11, Subr = 12, Variable = 13, Env = 14, Extern = 16;
    }

    private void DefinePrimitives()
    {
        DefineArithmetic();
        DefineLists();
        DefineStrings();
        DefineArrays();
        DefineMeta();
    }

    /// <summary>
    /// Defines a primitive. Its function reads the argument array only while it runs and never
    /// keeps it, nor lets it escape (no storing it, returning it or handing it to a closure call):
    /// CallPrimitive gives the same array to the next call of that arity. A primitive that needs
    /// the arguments later copies them (list, apply).
    /// </summary>
    private void Primitive(string name, Func<Interpreter, Datum[], Datum> function) =>
        Root.Define(name, new Primitive(name, function), SourceLocation.None);

    public static Datum Bool(bool value) => value ? True : NilDatum.Empty;

    // ---- argument checking ----------------------------------------------------------------------

    private EvaluationError TypeError(string primitive, int index, string expected, Datum actual) =>
        new(DiagnosticCode.TypeError, CallSite,
            $"'{primitive}' expects {expected} as argument {index + 1}, not {Describe(actual)}");

    private void Arity(string primitive, Datum[] arguments, int min, int max = -1)
    {
        if (max < 0) max = min;
        if (arguments.Length >= min && arguments.Length <= max) return;
        var expected = min == max ? min.ToString(CultureInfo.InvariantCulture)
            : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
        throw new EvaluationError(DiagnosticCode.WrongArgumentCount, CallSite,
            $"'{primitive}' takes {expected} argument{(min == 1 && (max == 1 || max == int.MaxValue) ? "" : "s")} but is called with {arguments.Length}");
    }

    private long Integer(string primitive, Datum[] arguments, int index) =>
        arguments[index] is IntegerDatum i ? i.Value : throw TypeError(primitive, index, "an integer", arguments[index]);

    private StringDatum String(string primitive, Datum[] arguments, int index) =>
        arguments[index] as StringDatum ?? throw TypeError(primitive, index, "a string", arguments[index]);

    private static Datum Argument(Datum[] arguments, int index) => index < arguments.Length ? arguments[index] : NilDatum.Empty;

    private static IntegerDatum Int(long value) => new(value, SourceLocation.None);

    /// <summary>A new pair, charged to the memory budget.</summary>
    public PairDatum Pair(Datum head, Datum tail) => Pair(head, tail, null);

    /// <summary>A new pair, charged to the memory budget (an error there located at <paramref name="site"/>, else at <see cref="CallSite"/>).</summary>
    private PairDatum Pair(Datum head, Datum tail, SourceLocation? site)
    {
        Allocate(PairSize, site);
        if (_freshSerial == 0) return new PairDatum(head, tail, SourceLocation.None);
        // Made while a macro runs: marked as that expansion's own, so Relocate may locate it in place.
        var pair = new PairDatum(head, tail, FreshMark(_freshSerial));
        _fresh.Add(pair);
        return pair;
    }

    private SymbolDatum Symbol(string name)
    {
        Allocate(StringSize(name.Length));
        return new SymbolDatum(Names.Intern(name), SourceLocation.None);
    }

    private StringDatum String(string text)
    {
        Allocate(StringSize(text.Length));
        return Str(text);
    }

    /// <summary>The text of (error ...): the user's words, cut short rather than rendered without end.</summary>
    private static string ErrorMessage(Datum[] arguments)
    {
        const int MaxErrorLength = 4096;
        var sb = new StringBuilder();
        foreach (var argument in arguments)
        {
            sb.Append(Printer.Print(argument, quoted: false, MaxErrorLength - sb.Length));
            if (sb.Length >= MaxErrorLength) break;
        }
        return sb.Length > MaxErrorLength ? sb.ToString(0, MaxErrorLength) + "..." : sb.ToString();
    }

    private static StringDatum Str(string value) => new(value, SourceLocation.None);

    // ---- integers -------------------------------------------------------------------------------

    private void DefineArithmetic()
    {
        foreach (var (name, op) in new[]
                 {
                     ("+", Opcode.Add), ("*", Opcode.Multiply), ("/", Opcode.Divide), ("%", Opcode.Remainder),
                     ("&", Opcode.And), ("|", Opcode.Or), ("^", Opcode.Xor), ("<<", Opcode.ShiftLeft), (">>", Opcode.ShiftRight),
                 })
        {
            Primitive(name, (interpreter, a) => interpreter.Binary(name, op, a));
        }
        Primitive("-", (interpreter, a) =>
        {
            interpreter.Arity("-", a, 1, 2);
            if (a.Length == 2) return interpreter.Binary("-", Opcode.Subtract, a);
            return a[0] switch
            {
                IntegerDatum i => Int(unchecked(-i.Value)),
                RealDatum r => new RealDatum(-r.Value, SourceLocation.None),
                _ => throw interpreter.TypeError("-", 0, "a number", a[0]),
            };
        });
        Primitive("~", (interpreter, a) =>
        {
            interpreter.Arity("~", a, 1);
            return Int(~interpreter.Integer("~", a, 0));
        });
        foreach (var (name, op) in new[] { ("<", Opcode.Less), ("<=", Opcode.LessOrEqual), (">=", Opcode.GreaterOrEqual), (">", Opcode.Greater) })
            Primitive(name, (interpreter, a) => interpreter.Compare(name, op, a));
        Primitive("=", (interpreter, a) =>
        {
            interpreter.Arity("=", a, 2);
            return Bool(AreEqual(a[0], a[1]));
        });
        Primitive("!=", (interpreter, a) =>
        {
            interpreter.Arity("!=", a, 2);
            return Bool(!AreEqual(a[0], a[1]));
        });
        Primitive("not", (interpreter, a) =>
        {
            interpreter.Arity("not", a, 1);
            return Bool(a[0] is NilDatum);
        });
    }

    private Datum Binary(string name, Opcode op, Datum[] a)
    {
        Arity(name, a, 2);
        if (a[0] is IntegerDatum x && a[1] is IntegerDatum y)
            return Int(op.Evaluate(x.Value, y.Value));
        if (op is Opcode.Add or Opcode.Subtract or Opcode.Multiply or Opcode.Divide && IsNumber(a[0]) && IsNumber(a[1]))
        {
            double l = ToDouble(a[0]), r = ToDouble(a[1]);
            return new RealDatum(op switch
            {
                Opcode.Add => l + r,
                Opcode.Subtract => l - r,
                Opcode.Multiply => l * r,
                _ => l / r,
            }, SourceLocation.None);
        }
        var bad = a[0] is IntegerDatum || (IsNumber(a[0]) && IsNumber(a[1])) ? 1 : 0;
        throw TypeError(name, bad, "an integer", a[bad]);
    }

    private Datum Compare(string name, Opcode op, Datum[] a)
    {
        Arity(name, a, 2);
        if (a[0] is IntegerDatum x && a[1] is IntegerDatum y)
            return Bool(op.Evaluate(x.Value, y.Value) != 0);
        if (IsNumber(a[0]) && IsNumber(a[1]))
        {
            double l = ToDouble(a[0]), r = ToDouble(a[1]);
            return Bool(op switch
            {
                Opcode.Less => l < r,
                Opcode.LessOrEqual => l <= r,
                Opcode.Greater => l > r,
                _ => l >= r,
            });
        }
        var bad = IsNumber(a[0]) ? 1 : 0;
        throw TypeError(name, bad, "a number", a[bad]);
    }

    private static bool IsNumber(Datum d) => d is IntegerDatum or RealDatum;

    private static double ToDouble(Datum d) => d is IntegerDatum i ? i.Value : ((RealDatum)d).Value;

    /// <summary>maru's equal: numbers by value, strings by contents, symbols by name, anything else by identity.</summary>
    public static bool AreEqual(Datum a, Datum b) => (a, b) switch
    {
        (IntegerDatum x, IntegerDatum y) => x.Value == y.Value,
        (IntegerDatum or RealDatum, IntegerDatum or RealDatum) => ToDouble(a) == ToDouble(b),
        (StringDatum x, StringDatum y) => x.Value == y.Value,
        (SymbolDatum x, SymbolDatum y) => x.Name == y.Name,
        (NilDatum, NilDatum) => true,
        _ => ReferenceEquals(a, b),
    };

    // ---- pairs and lists ------------------------------------------------------------------------

    private void DefineLists()
    {
        // Marked: EvalConsChain evaluates chains of calls to it without nesting.
        Root.Define("cons", new Primitive("cons", (interpreter, a) => interpreter.Pair(Argument(a, 0), Argument(a, 1))) { IsCons = true }, SourceLocation.None);
        Primitive("car", (interpreter, a) =>
        {
            interpreter.Arity("car", a, 1);
            return Car(a[0]);
        });
        Primitive("cdr", (interpreter, a) =>
        {
            interpreter.Arity("cdr", a, 1);
            return Cdr(a[0]);
        });
        Primitive("set-car", (interpreter, a) =>
        {
            interpreter.Arity("set-car", a, 2);
            if (a[0] is not PairDatum p) return NilDatum.Empty;
            return p.Head = a[1];
        });
        Primitive("set-cdr", (interpreter, a) =>
        {
            interpreter.Arity("set-cdr", a, 2);
            if (a[0] is not PairDatum p) return NilDatum.Empty;
            return p.Tail = a[1];
        });
        Predicate("pair?", d => d is PairDatum);
        Predicate("symbol?", d => d is SymbolDatum);
        Predicate("string?", d => d is StringDatum);
        Predicate("long?", d => d is IntegerDatum);
        Predicate("integer?", d => d is IntegerDatum);
        Predicate("double?", d => d is RealDatum);
        Predicate("array?", d => d is ArrayValue);
        Predicate("form?", d => d is FormValue);
        Predicate("fixed?", d => d is SpecialForm);
        Predicate("expr?", d => d is Closure);
        Predicate("extern?", d => d is ExternValue);
        Predicate("nil?", d => d is NilDatum);
        Primitive("list", (interpreter, a) =>
        {
            interpreter.Allocate(PairSize * a.Length);
            return DatumExtensions.ListOf(a);
        });
        // caar ... cddddr: read right to left, as in Lisp.
        foreach (var length in new[] { 2, 3, 4 })
        {
            for (var bits = 0; bits < 1 << length; bits++)
            {
                var path = new string(Enumerable.Range(0, length).Select(i => (bits >> i & 1) == 0 ? 'a' : 'd').ToArray());
                var name = "c" + path + "r";
                Primitive(name, (interpreter, a) =>
                {
                    interpreter.Arity(name, a, 1);
                    var value = a[0];
                    for (var i = path.Length - 1; i >= 0; i--) value = path[i] == 'a' ? Car(value) : Cdr(value);
                    return value;
                });
            }
        }
        Primitive("concat-list", (interpreter, a) =>
        {
            // Copies every list but the last, as boot.l's concat-list (quasiquote's ,@ uses it).
            if (a.Length == 0) return NilDatum.Empty;
            var result = a[^1];
            for (var i = a.Length - 2; i >= 0; i--)
            {
                var items = interpreter.Elements("concat-list", a, i);
                interpreter.Allocate(PairSize * items.Count);
                result = DatumExtensions.ToList(items, result);
            }
            return result;
        });
        Primitive("list-length", (interpreter, a) =>
        {
            interpreter.Arity("list-length", a, 1);
            long n = 0;
            for (var rest = a[0]; rest is PairDatum p; rest = p.Tail)
            {
                n++;
                interpreter.CheckLimits(interpreter.CallSite);
            }
            return Int(n);
        });
        Primitive("list-reverse", (interpreter, a) =>
        {
            interpreter.Arity("list-reverse", a, 1);
            Datum result = NilDatum.Empty;
            var items = interpreter.Elements("list-reverse", a, 0);
            interpreter.Allocate(PairSize * items.Count);
            foreach (var item in items) result = new PairDatum(item, result, SourceLocation.None);
            return result;
        });
    }

    private void Predicate(string name, Func<Datum, bool> test) =>
        Primitive(name, (interpreter, a) =>
        {
            interpreter.Arity(name, a, 1);
            return Bool(test(a[0]));
        });

    /// <summary>The elements of a list argument (the proper part; a dotted tail is ignored).</summary>
    private List<Datum> Elements(string primitive, Datum[] arguments, int index)
    {
        var items = new List<Datum>();
        var list = arguments[index];
        if (list is not (PairDatum or NilDatum)) throw TypeError(primitive, index, "a list", list);
        for (; list is PairDatum p; list = p.Tail)
        {
            items.Add(p.Head);
            CheckLimits(CallSite); // a circular list uses up the step budget rather than the memory
        }
        return items;
    }

    // ---- symbols and strings --------------------------------------------------------------------

    private void DefineStrings()
    {
        Primitive("string", (interpreter, a) =>
        {
            var length = Argument(a, 0) is IntegerDatum n ? n.Value : 0;
            if (length is < 0 or > 1 << 24) throw interpreter.TypeError("string", 0, "a length from 0 to 16M", a[0]);
            interpreter.Allocate(StringSize(length));
            interpreter.Charge(length);
            return Str(new string('\0', (int)length));
        });
        Primitive("string-length", (interpreter, a) =>
        {
            interpreter.Arity("string-length", a, 1);
            return Int(interpreter.String("string-length", a, 0).Value.Length);
        });
        Primitive("string-at", (interpreter, a) =>
        {
            interpreter.Arity("string-at", a, 2);
            var s = interpreter.String("string-at", a, 0).Value;
            if (a[1] is not IntegerDatum i || i.Value < 0 || i.Value >= s.Length) return NilDatum.Empty;
            return Int(s[(int)i.Value]);
        });
        Primitive("set-string-at", (interpreter, a) =>
        {
            interpreter.Arity("set-string-at", a, 3);
            var s = interpreter.String("set-string-at", a, 0);
            var index = interpreter.Integer("set-string-at", a, 1);
            var value = interpreter.Integer("set-string-at", a, 2);
            if (index < 0) return NilDatum.Empty;
            if (index > 1 << 24) throw interpreter.TypeError("set-string-at", 1, "an index below 16M", a[1]);
            interpreter.Charge(Math.Max(s.Value.Length, index)); // strings are immutable underneath: each store copies
            if (index >= s.Value.Length) interpreter.Allocate(2 * (index + 1 - s.Value.Length)); // the copy replaces the old string: only growth stays
            var text = new StringBuilder(s.Value);
            if (index >= text.Length) text.Append('\0', (int)index - text.Length + 1);
            text[(int)index] = (char)value;
            s.Value = text.ToString();
            return a[2];
        });
        Primitive("string-copy", (interpreter, a) =>
        {
            interpreter.Arity("string-copy", a, 1, 3);
            var s = interpreter.String("string-copy", a, 0).Value;
            var from = Argument(a, 1) is IntegerDatum f ? (int)Math.Clamp(f.Value, 0, s.Length) : 0;
            var length = s.Length - from;
            if (Argument(a, 2) is IntegerDatum l) length = (int)Math.Clamp(l.Value, 0, length);
            interpreter.Allocate(StringSize(length));
            interpreter.Charge(length);
            return Str(s.Substring(from, length));
        });
        Primitive("string-compare", (interpreter, a) =>
        {
            interpreter.Arity("string-compare", a, 2);
            return Int(Math.Sign(string.CompareOrdinal(interpreter.String("string-compare", a, 0).Value, interpreter.String("string-compare", a, 1).Value)));
        });
        Primitive("symbol-compare", (interpreter, a) =>
        {
            interpreter.Arity("symbol-compare", a, 2);
            if (a[0] is not SymbolDatum x) throw interpreter.TypeError("symbol-compare", 0, "a symbol", a[0]);
            if (a[1] is not SymbolDatum y) throw interpreter.TypeError("symbol-compare", 1, "a symbol", a[1]);
            return Int(Math.Sign(string.CompareOrdinal(x.Name, y.Name)));
        });
        Primitive("string->symbol", (interpreter, a) =>
        {
            interpreter.Arity("string->symbol", a, 1);
            return a[0] switch
            {
                SymbolDatum s => s,
                StringDatum s => interpreter.Symbol(s.Value),
                _ => NilDatum.Empty,
            };
        });
        Primitive("symbol->string", (interpreter, a) =>
        {
            interpreter.Arity("symbol->string", a, 1);
            return a[0] switch
            {
                StringDatum s => s,
                SymbolDatum s => interpreter.String(s.Name),
                _ => NilDatum.Empty,
            };
        });
        Primitive("long->string", (interpreter, a) =>
        {
            interpreter.Arity("long->string", a, 1, 2);
            if (a[0] is StringDatum) return a[0];
            var value = interpreter.Integer("long->string", a, 0);
            var radix = Argument(a, 1) is IntegerDatum r ? r.Value : 10;
            interpreter.Allocate(StringSize(64));
            return Str(radix switch
            {
                16 => value.ToString("x", CultureInfo.InvariantCulture),
                8 => Convert.ToString(value, 8),
                2 => Convert.ToString(value, 2),
                _ => value.ToString(CultureInfo.InvariantCulture),
            });
        });
        Primitive("string->long", (interpreter, a) =>
        {
            interpreter.Arity("string->long", a, 1);
            if (a[0] is IntegerDatum) return a[0];
            var text = interpreter.String("string->long", a, 0).Value.Trim();
            return Int(ParseInteger(text));
        });
        Primitive("concat-string", (interpreter, a) => Str(interpreter.Concatenate("concat-string", a)));
        Primitive("concat-strings", (interpreter, a) => Str(interpreter.Concatenate("concat-strings", a)));
        Primitive("concat-symbol", (interpreter, a) => new SymbolDatum(interpreter.Names.Intern(interpreter.Concatenate("concat-symbol", a)), SourceLocation.None));
        Primitive("format", (interpreter, a) =>
        {
            interpreter.Arity("format", a, 2);
            return Str(interpreter.Format(interpreter.String("format", a, 0).Value, a[1]));
        });
    }

    private string Concatenate(string primitive, Datum[] arguments)
    {
        var parts = new string[arguments.Length];
        long length = 0;
        for (var i = 0; i < arguments.Length; i++) length += (parts[i] = Text(primitive, arguments, i)).Length;
        Allocate(StringSize(length)); // before allocating: doubling a string in a loop stops at the budget, not at the allocator
        Charge(length);
        return string.Concat(parts);
    }

    /// <summary>The text of a string, symbol or integer argument (for the concatenating primitives).</summary>
    private string Text(string primitive, Datum[] arguments, int index) => arguments[index] switch
    {
        StringDatum s => s.Value,
        SymbolDatum s => s.Name,
        IntegerDatum i => i.Value.ToString(CultureInfo.InvariantCulture),
        _ => throw TypeError(primitive, index, "a string or a symbol", arguments[index]),
    };

    private static long ParseInteger(string text)
    {
        var negative = text.StartsWith('-');
        var digits = negative || text.StartsWith('+') ? text[1..] : text;
        long value = 0;
        var radix = 10;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            radix = 16;
            digits = digits[2..];
        }
        else if (digits.Length > 1 && digits[0] == '0')
        {
            radix = 8;
        }
        foreach (var c in digits)
        {
            var d = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : 99;
            if (d >= radix) break;
            value = unchecked(value * radix + d);
        }
        return negative ? unchecked(-value) : value;
    }

    /// <summary>maru's (format fmt arg): one printf conversion (%d %i %x %X %o %s %c %%), with flags and width.</summary>
    private string Format(string format, Datum argument)
    {
        Allocate(StringSize(format.Length));
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            var start = i++;
            var leftAlign = false;
            var zeroPad = false;
            while (i < format.Length && format[i] is '-' or '0' or '+' or ' ' or '#')
            {
                if (format[i] == '-') leftAlign = true;
                if (format[i] == '0') zeroPad = true;
                i++;
            }
            long width = 0;
            while (i < format.Length && char.IsAsciiDigit(format[i])) width = Math.Min(width * 10 + (format[i++] - '0'), int.MaxValue);
            while (i < format.Length && format[i] is 'l' or 'h') i++;
            if (i >= format.Length)
            {
                sb.Append(format, start, format.Length - start);
                break;
            }
            var number = argument is IntegerDatum n ? n.Value : 0;
            string text = format[i] switch
            {
                'd' or 'i' => number.ToString(CultureInfo.InvariantCulture),
                'u' => unchecked((ulong)number).ToString(CultureInfo.InvariantCulture),
                'x' => number.ToString("x", CultureInfo.InvariantCulture),
                'X' => number.ToString("X", CultureInfo.InvariantCulture),
                'o' => Convert.ToString(number, 8),
                'c' => ((char)number).ToString(),
                's' => argument switch { StringDatum s => s.Value, SymbolDatum s => s.Name, _ => Printer.Print(argument, quoted: false) },
                '%' => "%",
                _ => format.Substring(start, i - start + 1),
            };
            Allocate(StringSize(Math.Max(text.Length, width))); // a width is a size: "%1000000000d" is charged before it is padded
            Charge(width);
            if (text.Length < width)
                text = leftAlign ? text.PadRight((int)width) : text.PadLeft((int)width, zeroPad && format[i] != 's' ? '0' : ' ');
            sb.Append(text);
        }
        return sb.ToString();
    }

    // ---- arrays and structure instances ---------------------------------------------------------

    private const int MaxArrayLength = 1 << 24;

    private void DefineArrays()
    {
        Primitive("array", (interpreter, a) =>
        {
            var length = Argument(a, 0) is IntegerDatum n ? n.Value : 0;
            if (length is < 0 or > MaxArrayLength) throw interpreter.TypeError("array", 0, "a length from 0 to 16M", a[0]);
            interpreter.Allocate(ObjectSize + SlotSize * length);
            interpreter.Charge(length);
            return new ArrayValue((int)length);
        });
        Primitive("array-length", (interpreter, a) =>
        {
            interpreter.Arity("array-length", a, 1);
            return a[0] is ArrayValue array ? Int(array.Items.Count) : throw interpreter.TypeError("array-length", 0, "an array", a[0]);
        });
        Primitive("array-at", (interpreter, a) =>
        {
            interpreter.Arity("array-at", a, 2);
            if (a[0] is not ArrayValue array) throw interpreter.TypeError("array-at", 0, "an array", a[0]);
            return a[1] is IntegerDatum i && i.Value >= 0 && i.Value < array.Items.Count ? array.Items[(int)i.Value] : NilDatum.Empty;
        });
        Primitive("set-array-at", (interpreter, a) =>
        {
            interpreter.Arity("set-array-at", a, 3);
            if (a[0] is not ArrayValue array) throw interpreter.TypeError("set-array-at", 0, "an array", a[0]);
            var index = interpreter.Integer("set-array-at", a, 1);
            if (index is < 0 or >= MaxArrayLength) return NilDatum.Empty;
            if (index >= array.Items.Count)
            {
                interpreter.Allocate(SlotSize * (index + 1 - array.Items.Count));
                interpreter.Charge(index - array.Items.Count);
            }
            while (array.Items.Count <= index) array.Items.Add(NilDatum.Empty);
            return array.Items[(int)index] = a[2];
        });
        Primitive("array-append", (interpreter, a) =>
        {
            interpreter.Arity("array-append", a, 2);
            if (a[0] is not ArrayValue array) throw interpreter.TypeError("array-append", 0, "an array", a[0]);
            if (array.Items.Count >= MaxArrayLength) throw interpreter.TypeError("array-append", 0, "an array shorter than 16M", a[0]);
            interpreter.Allocate(SlotSize);
            array.Items.Add(a[1]);
            return a[1];
        });
        Primitive("list->array", (interpreter, a) =>
        {
            interpreter.Arity("list->array", a, 1);
            var items = interpreter.Elements("list->array", a, 0);
            interpreter.Allocate(ObjectSize + SlotSize * items.Count);
            var array = new ArrayValue(0);
            array.Items.AddRange(items);
            return array;
        });
        Primitive("array->list", (interpreter, a) =>
        {
            interpreter.Arity("array->list", a, 1);
            if (a[0] is not ArrayValue array) throw interpreter.TypeError("array->list", 0, "an array", a[0]);
            interpreter.Allocate(PairSize * array.Items.Count);
            interpreter.Charge(array.Items.Count * 64L);
            return DatumExtensions.ToList(array.Items);
        });
        Primitive("allocate", (interpreter, a) =>
        {
            interpreter.Arity("allocate", a, 2);
            var type = interpreter.Integer("allocate", a, 0);
            var size = interpreter.Integer("allocate", a, 1);
            if (size is < 0 or > MaxArrayLength) throw interpreter.TypeError("allocate", 1, "a size from 0 to 16M", a[1]);
            interpreter.Allocate(ObjectSize + SlotSize * size);
            interpreter.Charge(size);
            return new RecordValue(type, (int)size);
        });
        // At compile time oop-at reaches the fields of instances (and arrays); in compiled code it is a memory access.
        Primitive("oop-at", (interpreter, a) =>
        {
            interpreter.Arity("oop-at", a, 2);
            var index = interpreter.Integer("oop-at", a, 1);
            return a[0] switch
            {
                RecordValue r => index >= 0 && index < r.Fields.Length ? r.Fields[index] : NilDatum.Empty,
                ArrayValue v => index >= 0 && index < v.Items.Count ? v.Items[(int)index] : NilDatum.Empty,
                _ => throw interpreter.TypeError("oop-at", 0, "a structure instance (memory is only reachable from compiled code)", a[0]),
            };
        });
        Primitive("set-oop-at", (interpreter, a) =>
        {
            interpreter.Arity("set-oop-at", a, 3);
            var index = interpreter.Integer("set-oop-at", a, 1);
            switch (a[0])
            {
                case RecordValue r when index >= 0 && index < r.Fields.Length:
                    return r.Fields[index] = a[2];
                case ArrayValue v when index >= 0 && index < v.Items.Count:
                    return v.Items[(int)index] = a[2];
                case RecordValue or ArrayValue:
                    return NilDatum.Empty;
                default:
                    throw interpreter.TypeError("set-oop-at", 0, "a structure instance (memory is only reachable from compiled code)", a[0]);
            }
        });
    }

    // ---- evaluation, macros, output, files --------------------------------------------------------

    private void DefineMeta()
    {
        Primitive("eval", (interpreter, a) =>
        {
            interpreter.Arity("eval", a, 1, 2);
            return interpreter.InEnvironment(Argument(a, 1), () => interpreter.Eval(interpreter.Expand(a[0]), null));
        });
        Primitive("expand", (interpreter, a) =>
        {
            interpreter.Arity("expand", a, 1, 2);
            return interpreter.InEnvironment(Argument(a, 1), () => interpreter.Expand(a[0]));
        });
        Primitive("encode", (interpreter, a) =>
        {
            interpreter.Arity("encode", a, 1, 2);
            return a[0]; // names are resolved as code runs; expanded code is its own encoding here
        });
        Primitive("apply", (interpreter, a) =>
        {
            interpreter.Arity("apply", a, 1, int.MaxValue);
            var arguments = a.Skip(1).Take(Math.Max(0, a.Length - 2)).ToList();
            if (a.Length > 1) arguments.AddRange(interpreter.Elements("apply", a, a.Length - 1));
            return interpreter.Apply(a[0], arguments.ToArray(), interpreter.CallSite);
        });
        Primitive("type-of", (interpreter, a) =>
        {
            interpreter.Arity("type-of", a, 1);
            return Int(TypeOf(a[0]));
        });
        Primitive("form", (interpreter, a) =>
        {
            interpreter.Arity("form", a, 1, 2);
            interpreter.Allocate(ObjectSize);
            return new FormValue(a[0], Argument(a, 1));
        });
        Primitive("defined?", (interpreter, a) =>
        {
            interpreter.Arity("defined?", a, 1, 2);
            if (a[0] is not SymbolDatum symbol) throw interpreter.TypeError("defined?", 0, "a symbol", a[0]);
            var environment = Argument(a, 1) as GlobalEnvironment ?? interpreter.Globals;
            return environment.Find(symbol.Name) ?? (Datum)NilDatum.Empty;
        });
        Primitive("extern", (interpreter, a) =>
        {
            // (extern 'name) or (extern 'name N): N declares a variadic C function with N fixed
            // parameters; the C library's own variadic functions are known by name.
            interpreter.Arity("extern", a, 1, 2);
            interpreter.Allocate(ObjectSize);
            var symbol = a[0] switch
            {
                SymbolDatum s => s.Name,
                StringDatum s => s.Value,
                _ => throw interpreter.TypeError("extern", 0, "a symbol", a[0]),
            };
            int? fixedParameters = Interop.CVariadicFunctions.FixedParameters(symbol);
            if (a.Length == 2)
            {
                var count = interpreter.Integer("extern", a, 1);
                if (count is < 0 or > 255)
                    throw interpreter.TypeError("extern", 1, "a count of fixed parameters (0-255)", a[1]);
                fixedParameters = (int)count;
            }
            return new ExternValue(symbol, fixedParameters);
        });
        Primitive("error", (interpreter, a) =>
            throw new EvaluationError(DiagnosticCode.UserError, interpreter.CallSite, a.Length == 0 ? "error" : ErrorMessage(a)));
        Primitive("print", (interpreter, a) => interpreter.Write(a, quoted: false, newline: false));
        Primitive("println", (interpreter, a) => interpreter.Write(a, quoted: false, newline: true));
        Primitive("dump", (interpreter, a) => interpreter.Write(a, quoted: true, newline: false));
        Primitive("dumpln", (interpreter, a) => interpreter.Write(a, quoted: true, newline: true));
        Primitive("warn", (interpreter, a) => interpreter.Write(a, quoted: false, newline: false));
        Primitive("load", (interpreter, a) =>
        {
            interpreter.Arity("load", a, 1);
            interpreter._session.Load(interpreter.String("load", a, 0).Value, interpreter.CallSite, onlyOnce: false);
            return NilDatum.Empty;
        });
        Primitive("require", (interpreter, a) =>
        {
            interpreter.Arity("require", a, 1);
            interpreter._session.Load(interpreter.String("require", a, 0).Value, interpreter.CallSite, onlyOnce: true);
            return NilDatum.Empty;
        });
        Primitive("compile-begin", (interpreter, a) =>
        {
            interpreter.Arity("compile-begin", a, 0);
            interpreter._session.BeginSection(interpreter.CallSite);
            return NilDatum.Empty;
        });
        Primitive("compile-end", (interpreter, a) =>
        {
            interpreter.Arity("compile-end", a, 0);
            interpreter._session.EndSection(interpreter.CallSite);
            return NilDatum.Empty;
        });
        // (define-export name (parameter type)... [result]) is a form, so its type names are not expanded.
        Root.Define("define-export", new FormValue(new Primitive("define-export", (interpreter, a) =>
        {
            var call = new PairDatum(new SymbolDatum(interpreter.Names.Intern("define-export"), interpreter.CallSite), DatumExtensions.ToList(a.Skip(1)), interpreter.CallSite);
            interpreter._session.DeclareExport(call);
            return NilDatum.Empty;
        }), NilDatum.Empty), SourceLocation.None);
        Primitive("verbose", (_, _) => Int(0));
        Primitive("optimised", (_, _) => Int(1));
    }

    private Datum InEnvironment(Datum environment, Func<Datum> action)
    {
        if (environment is not GlobalEnvironment global) return action();
        var saved = Globals;
        Globals = global;
        try
        {
            return action();
        }
        finally
        {
            Globals = saved;
        }
    }

    private Datum Write(Datum[] arguments, bool quoted, bool newline)
    {
        var sb = new StringBuilder();
        foreach (var argument in arguments) sb.Append(Printer.Print(argument, quoted));
        if (newline) sb.Append('\n');
        Allocate(StringSize(sb.Length)); // the compilation keeps every line printed
        _session.Output(sb.ToString());
        return arguments.Length > 0 ? arguments[0] : NilDatum.Empty;
    }

    public static long TypeOf(Datum value) => value switch
    {
        NilDatum => TypeNumbers.Undefined,
        IntegerDatum => TypeNumbers.Long,
        RealDatum => TypeNumbers.Double,
        StringDatum => TypeNumbers.String,
        SymbolDatum => TypeNumbers.Symbol,
        PairDatum => TypeNumbers.Pair,
        ArrayValue => TypeNumbers.Array,
        Closure => TypeNumbers.Expr,
        FormValue => TypeNumbers.Form,
        SpecialForm => TypeNumbers.Fixed,
        Evaluation.Primitive => TypeNumbers.Subr,
        Variable => TypeNumbers.Variable,
        GlobalEnvironment => TypeNumbers.Env,
        ExternValue => TypeNumbers.Extern,
        RecordValue r => r.Type,
        _ => TypeNumbers.Undefined,
    };
}
