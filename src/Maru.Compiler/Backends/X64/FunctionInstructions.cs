using Iced.Intel;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// One function's instructions as the x86-64 emitter makes them, in an array the emitter keeps
/// from one function to the next (read as a span: no copy for the encoder). Labels are what Iced's
/// <see cref="Assembler"/> makes them, and the encoder reads them so: numbers 1, 2, 3... in the
/// order made since the last <see cref="Reset"/>; a placed label becomes the next instruction's
/// IP, a branch's target is the label's number, one label per instruction.
/// The array is the thread's between <see cref="Begin"/> and <see cref="Reset"/> (a function is
/// emitted on one thread), kept for the thread's next function whatever emitter makes it.
/// </summary>
internal sealed class FunctionInstructions
{
    private const int KeepLimit = 1 << 16;

    [ThreadStatic] private static Instruction[]? t_spare;

    private Instruction[] _items = [];
    private ulong _labels;
    private ulong _pending;   // the label placed on the next instruction (0: none)

    public int Count { get; private set; }

    /// <summary>The instructions so far.</summary>
    public ReadOnlySpan<Instruction> Items => _items.AsSpan(0, Count);

    /// <summary>A new label (its number).</summary>
    public ulong CreateLabel() => ++_labels;

    /// <summary>The next instruction carries <paramref name="label"/> (one label per instruction).</summary>
    public void Place(ulong label)
    {
        if (_pending != 0) throw new InvalidOperationException("at most one label per instruction");
        _pending = label;
    }

    /// <summary>Takes this thread's array for a function's instructions.</summary>
    public void Begin()
    {
        if (t_spare is { } spare)
        {
            _items = spare;
            t_spare = null;
        }
    }

    public void Add(in Instruction instruction)
    {
        if (Count == _items.Length) Array.Resize(ref _items, Math.Max(256, 2 * _items.Length));
        ref var added = ref _items[Count++];
        added = instruction;
        if (_pending != 0)
        {
            added.IP = _pending;
            _pending = 0;
        }
    }

    /// <summary>A branch (jmp, jcc, call: the code says which) to a label of this function.</summary>
    public void Branch(Code code, ulong label) => Add(Instruction.CreateBranch(code, label));

    /// <summary>Empty again, labels numbered from 1 again; the array goes back to the thread (a huge function's is not kept).</summary>
    public void Reset()
    {
        Count = 0;
        _labels = 0;
        _pending = 0;
        if (_items.Length is > 0 and <= KeepLimit) t_spare = _items;
        _items = [];
    }
}
