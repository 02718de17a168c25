namespace Maru.Compiler.Syntax;

/// <summary>
/// One string instance per symbol name within a compilation, so that the evaluator's local
/// lookups (<c>Frame.TryFind</c>) compare names by reference. Every symbol the compile-time
/// evaluator can meet gets its name from the compilation's table: the reader's, the ones macro
/// expansion and the primitives make (<c>string-&gt;symbol</c>, <c>concat-symbol</c>, the
/// quasiquote and <c>set-</c> rewrites), <c>t</c>, and the prelude snapshot's, whose names are a
/// frozen table (<see cref="Frozen"/>) every later compilation's table starts from. A table
/// belongs to one compilation, which uses it from one thread at a time; a frozen table is never
/// changed, so compilations on several threads read it together.
/// <para>
/// An open-addressing hash table of the names themselves, so the reader looks a name up by its
/// span of the source text and makes a string only for a name's first occurrence.
/// </para>
/// </summary>
internal sealed class NameTable
{
    private readonly NameTable? _frozenBase;
    private readonly bool _frozen;
    private string?[] _slots;
    // The hash of each slot's name, so a probe compares text only where the hashes agree.
    private uint[] _hashes;
    private int _count;

    /// <summary>A table holding the built-in names and, first, every name of <paramref name="frozenBase"/>.</summary>
    public NameTable(NameTable? frozenBase = null)
    {
        if (frozenBase is { _frozen: false }) throw new ArgumentException("the base of a table must be frozen", nameof(frozenBase));
        _frozenBase = frozenBase;
        _slots = new string?[frozenBase is null ? 256 : 64];
        _hashes = new uint[_slots.Length];
        Add(Evaluation.Interpreter.True.Name);   // a static symbol every table holds as this very instance
    }

    private NameTable(int capacity)
    {
        _slots = new string?[Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2))];
        _hashes = new uint[_slots.Length];
        _frozen = true;
    }

    /// <summary>
    /// A frozen table of exactly <paramref name="names"/> (and t), each the instance
    /// given; null when two of them are different instances of one name (their symbols could not be
    /// told apart by reference).
    /// </summary>
    public static NameTable? Frozen(IReadOnlyCollection<string> names)
    {
        var table = new NameTable(names.Count + 1);
        foreach (var name in names.Prepend(Evaluation.Interpreter.True.Name))
            if (!ReferenceEquals(table.FindOrAdd(name.AsSpan(), Hash(name), name), name)) return null;
        return table;
    }

    /// <summary>Names held (the frozen base's not counted).</summary>
    public int Count => _count;

    /// <summary>The table's instance of <paramref name="name"/>, which becomes it if the table has none yet.</summary>
    public string Intern(string name) => Intern(name.AsSpan(), name);

    /// <summary>The table's instance of the name spelled by <paramref name="name"/> (a new string only the first time).</summary>
    public string Intern(ReadOnlySpan<char> name) => Intern(name, null);

    /// <summary>As <see cref="Intern(ReadOnlySpan{char})"/>, given the name's <see cref="Hash"/> (the lexer takes it while it scans the name).</summary>
    public string Intern(ReadOnlySpan<char> name, uint hash)
    {
        if (_frozen) throw new InvalidOperationException("a frozen name table is never changed");
        return _frozenBase?.Find(name, hash) ?? FindOrAdd(name, hash, null);
    }

    /// <summary>Whether <paramref name="name"/> is this table's (or its base's) own instance of its name.</summary>
    public bool Holds(string name)
    {
        var hash = Hash(name);
        return ReferenceEquals(_frozenBase?.Find(name, hash) ?? Find(name, hash), name);
    }

    private string Intern(ReadOnlySpan<char> name, string? instance)
    {
        if (_frozen) throw new InvalidOperationException("a frozen name table is never changed");
        var hash = Hash(name);
        return _frozenBase?.Find(name, hash) ?? FindOrAdd(name, hash, instance);
    }

    private void Add(string name) => FindOrAdd(name, Hash(name), name);

    private string? Find(ReadOnlySpan<char> name, uint hash)
    {
        var slots = _slots;
        var hashes = _hashes;
        var mask = slots.Length - 1;
        for (var i = (int)hash & mask; ; i = (i + 1) & mask)
        {
            var slot = slots[i];
            if (slot is null) return null;
            if (hashes[i] == hash && name.SequenceEqual(slot)) return slot;
        }
    }

    private string FindOrAdd(ReadOnlySpan<char> name, uint hash, string? instance)
    {
        var slots = _slots;
        var hashes = _hashes;
        var mask = slots.Length - 1;
        var i = (int)hash & mask;
        for (; ; i = (i + 1) & mask)
        {
            var slot = slots[i];
            if (slot is null) break;
            if (hashes[i] == hash && name.SequenceEqual(slot)) return slot;
        }
        var made = instance ?? name.ToString();
        slots[i] = made;
        hashes[i] = hash;
        if (++_count * 2 > slots.Length) Grow();
        return made;
    }

    private void Grow()
    {
        var old = _slots;
        var oldHashes = _hashes;
        var slots = new string?[old.Length * 2];
        var hashes = new uint[slots.Length];
        var mask = slots.Length - 1;
        for (var j = 0; j < old.Length; j++)
        {
            var name = old[j];
            if (name is null) continue;
            var i = (int)oldHashes[j] & mask;
            while (slots[i] is not null) i = (i + 1) & mask;
            slots[i] = name;
            hashes[i] = oldHashes[j];
        }
        _slots = slots;
        _hashes = hashes;
    }

    /// <summary>FNV-1a over the UTF-16 units (the same for a string and its span).</summary>
    private static uint Hash(ReadOnlySpan<char> name)
    {
        var hash = HashSeed;
        foreach (var c in name) hash = HashStep(hash, c);
        return hash;
    }

    /// <summary>FNV-1a's start and its step per unit, for a caller that hashes a name as it scans it.</summary>
    public const uint HashSeed = 2166136261u;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static uint HashStep(uint hash, char c) => (hash ^ c) * 16777619u;
}
