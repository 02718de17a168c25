namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// Which frame word each machine register holds a copy of, within straight-line code: a machine
/// emitter that reaches spilled values through scratch registers asks <see cref="Holder"/> before
/// reading a word again (the same slot reloaded for the next instruction, or read back right after
/// it was stored). The emitter ends copies on every write of a register or of frame memory and
/// clears everything at labels, calls' clobbers and instructions it does not know.
/// </summary>
internal sealed class FrameCopies
{
    private const int Registers = 32;
    private readonly int[] _offset = new int[Registers];
    private ulong _holding;   // bit r: register r holds the word at _offset[r]

    public bool IsEmpty => _holding == 0;

    public void Clear() => _holding = 0;

    public void Forget(int register)
    {
        if ((uint)register < Registers) _holding &= ~(1UL << register);
    }

    /// <summary>Register <paramref name="register"/> now holds the word at <paramref name="offset"/>.</summary>
    public void Set(int register, int offset)
    {
        if ((uint)register >= Registers) return;
        _offset[register] = offset;
        _holding |= 1UL << register;
    }

    /// <summary>The word at <paramref name="offset"/> (or any 8 bytes overlapping it) changed: no register holds a copy any more.</summary>
    public void ForgetWord(int offset)
    {
        for (var bits = _holding; bits != 0; bits &= bits - 1)
        {
            var r = System.Numerics.BitOperations.TrailingZeroCount(bits);
            if (_offset[r] > offset - 8 && _offset[r] < offset + 8) _holding &= ~(1UL << r);
        }
    }

    /// <summary>A register holding the word at <paramref name="offset"/>, or -1.</summary>
    public int Holder(int offset)
    {
        for (var bits = _holding; bits != 0; bits &= bits - 1)
        {
            var r = System.Numerics.BitOperations.TrailingZeroCount(bits);
            if (_offset[r] == offset) return r;
        }
        return -1;
    }
}
