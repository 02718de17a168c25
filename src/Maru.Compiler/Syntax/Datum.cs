using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Syntax;

/// <summary>
/// A Maru value as the reader produces it. Every datum remembers where it was read so any later
/// stage can point at source. Lists are pairs ending in <see cref="NilDatum"/>, as in Maru.
/// </summary>
public abstract class Datum
{
    protected Datum(SourceLocation location) => Location = location;

    /// <summary>Set after construction only by macro expansion, on pairs a macro just made (see Interpreter.Relocate).</summary>
    public SourceLocation Location { get; internal set; }
}

public sealed class IntegerDatum(long value, SourceLocation location) : Datum(location)
{
    public long Value { get; } = value;
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Maru 2.4 reads <c>1.5</c> and <c>1e3</c> as doubles; they are readable but not compilable.</summary>
public sealed class RealDatum(double value, SourceLocation location) : Datum(location)
{
    public double Value { get; } = value;
    public override string ToString() => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class StringDatum(string value, SourceLocation location) : Datum(location)
{
    /// <summary>Maru strings are mutable at compile time (<c>set-string-at</c>); compiled code sees the final text.</summary>
    public string Value { get; internal set; } = value;
    public override string ToString() => DatumPrinter.Print(this);
}

public sealed class SymbolDatum(string name, SourceLocation location) : Datum(location)
{
    public string Name { get; } = name;

    /// <summary>Where the evaluator's global environment remembers this datum's last lookup (GlobalEnvironment.Find): numbers only, 0 for none.</summary>
    internal long LookupSlot;

    public override string ToString() => Name;
}

/// <summary>A pair; mutable (<c>set-car</c>, <c>set-cdr</c>) because compile-time Maru code may change lists.</summary>
public sealed class PairDatum(Datum head, Datum tail, SourceLocation location) : Datum(location)
{
    public Datum Head { get; set; } = head;
    public Datum Tail { get; set; } = tail;
    public override string ToString() => DatumPrinter.Print(this);
}

/// <summary>The empty list <c>()</c>, which is also false and the integer 0 in compiled code.</summary>
public sealed class NilDatum(SourceLocation location) : Datum(location)
{
    /// <summary>The terminator of lists built by the compiler rather than read.</summary>
    public static readonly NilDatum Empty = new(SourceLocation.None);
    public override string ToString() => "()";
}
