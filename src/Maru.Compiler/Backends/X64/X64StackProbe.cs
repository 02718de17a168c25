using Iced.Intel;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Stack-clash protection for the prologue: a frame larger than a page is reserved one page at a
/// time, touching each page as rsp reaches it, so rsp can never jump over the guard page below
/// the stack into other memory (a thread's guard is a single 4 KiB page). Up to a handful of pages
/// the probes are written out; beyond, a loop counts them in r11 (a scratch register nothing
/// holds at entry). The rest, under a page, needs no probe: the last probe is less than a page
/// above it. gcc's -fstack-clash-protection emits the same shape.
/// </summary>
internal static class X64StackProbe
{
    /// <summary>The smallest page (and guard) size on x86-64.</summary>
    public const int PageSize = 4096;

    private const int UnrolledPages = 8;

    /// <summary>Emits the equivalent of <c>sub rsp, bytes</c>.</summary>
    public static void Reserve(FunctionInstructions asm, int bytes)
    {
        if (bytes <= PageSize)
        {
            if (bytes > 0) SubtractFromRsp(asm, bytes);
            return;
        }
        var pages = bytes / PageSize;
        // The first page is always written out, which also keeps the loop's label off an
        // instruction that already has one (the function's entry).
        Probe(asm);
        if (pages - 1 <= UnrolledPages)
        {
            for (var i = 1; i < pages; i++) Probe(asm);
        }
        else
        {
            asm.Add(Instruction.Create(Code.Mov_r32_imm32, Register.R11D, (uint)(pages - 1)));
            var loop = asm.CreateLabel();
            asm.Place(loop);
            Probe(asm);
            asm.Add(Instruction.Create(Code.Dec_rm64, Register.R11));
            asm.Branch(Code.Jne_rel8_64, loop);
        }
        var rest = bytes % PageSize;
        if (rest > 0) SubtractFromRsp(asm, rest);
    }

    private static void Probe(FunctionInstructions asm)
    {
        SubtractFromRsp(asm, PageSize);
        asm.Add(Instruction.Create(Code.Or_rm64_imm8, new MemoryOperand(Register.RSP), 0));
    }

    /// <summary>sub rsp, bytes: imm8 when it fits, else imm32.</summary>
    private static void SubtractFromRsp(FunctionInstructions asm, int bytes) =>
        asm.Add(Instruction.Create(bytes is >= sbyte.MinValue and <= sbyte.MaxValue ? Code.Sub_rm64_imm8 : Code.Sub_rm64_imm32, Register.RSP, bytes));
}
