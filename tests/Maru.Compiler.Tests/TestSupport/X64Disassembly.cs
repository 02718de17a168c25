using Iced.Intel;
using Maru.Compiler.Interop;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>One exported function of an x86-64 library we wrote, decoded by Iced (an independent decoder).</summary>
internal static class X64Disassembly
{
    public static List<Instruction> Decode(CompilationResult result, string function)
    {
        var (code, address) = new ElfImage(result.Library!).FunctionBytes(SymbolNames.ToSymbolName(function));
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code), address);
        var instructions = new List<Instruction>();
        while (decoder.IP < address + (ulong)code.Length) instructions.Add(decoder.Decode());
        return instructions;
    }
}
