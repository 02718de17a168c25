namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// Stack-clash protection for the AArch64 prologue (the x86-64 one is X64StackProbe): a frame
/// larger than a page is reserved one page at a time, each page touched (<c>str xzr, [sp]</c>)
/// as sp reaches it, so sp never jumps over the guard page below the stack into other memory.
/// Pages are 4 KiB here, the smallest AArch64 page and guard (gcc assumes 64 KiB guards on
/// Linux; 4 KiB is safe for every kernel and for threads with a one-page guard). Up to a handful
/// of pages the probes are written out; beyond, a loop counts them in x16 (the intra-procedure
/// scratch register, which holds nothing at entry). The rest, under a page, needs no probe: the
/// last probe is less than a page above it, and the frame record was stored just above that.
/// </summary>
internal static class Arm64StackProbe
{
    public const int PageSize = 4096;

    private const int UnrolledPages = 8;

    private static readonly RegisterOrSp Sp = RegisterOrSp.Sp;

    /// <summary>Emits the equivalent of <c>sub sp, sp, #bytes</c>.</summary>
    public static void Reserve(Arm64Assembler asm, long bytes)
    {
        if (bytes <= PageSize)
        {
            Subtract(asm, bytes);
            return;
        }
        var pages = bytes / PageSize;
        Probe(asm);
        if (pages - 1 <= UnrolledPages)
        {
            for (var i = 1; i < pages; i++) Probe(asm);
        }
        else
        {
            var counter = Register.X(Arm64Target.Scratch);
            asm.Emit(A64.MoveImmediate(counter, (ulong)(pages - 1)));
            var loop = asm.CreateLabel();
            asm.Bind(loop);
            Probe(asm);
            asm.Emit(new AddSubImmediateSetFlagsInstruction(true, counter, counter, AddSubImmediate.Create(1, false)));
            asm.BranchIf(Condition.Ne, loop);
        }
        Subtract(asm, bytes % PageSize);
    }

    private static void Probe(Arm64Assembler asm)
    {
        asm.Emit(A64.Sub(Sp, Sp, PageSize));
        asm.Emit(A64.Str(Register.Xzr, Sp));
    }

    /// <summary>sub sp, sp, #bytes for bytes up to a page (one or two immediates).</summary>
    private static void Subtract(Arm64Assembler asm, long bytes)
    {
        if (bytes >> 12 != 0) asm.Emit(A64.Sub(Sp, Sp, bytes & ~0xfffL));
        if ((bytes & 0xfff) != 0) asm.Emit(A64.Sub(Sp, Sp, bytes & 0xfff));
    }
}
