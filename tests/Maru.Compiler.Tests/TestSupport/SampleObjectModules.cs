using System.Buffers.Binary;
using Iced.Intel;
using Maru.Compiler.ObjectFiles;
using static Iced.Intel.AssemblerRegisters;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>Hand-built object modules for writer tests (ELF now, Mach-O later).</summary>
public static class SampleObjectModules
{
    public const long CounterInitialValue = 5;
    public const long Magic = 0x1234_5678_9abc;

    /// <summary>Only code: <c>answer() = 42</c> and <c>add2(a, b) = a + b</c>.</summary>
    public static ObjectModule TextOnly()
    {
        var code = new X64CodeBuilder();
        code.Function("answer");
        code.Asm.mov(eax, 42);
        code.Asm.ret();
        code.Function("add2");
        code.Asm.lea(rax, __[rdi + rsi]);
        code.Asm.ret();
        var module = new ObjectModule();
        code.EmitInto(module);
        return module;
    }

    /// <summary>
    /// Code, read-only data and data with relocations of both kinds:
    /// <list type="bullet">
    /// <item>answer, add2, call_helper (calls the unexported helper: 7 + 1);</item>
    /// <item>get_magic: loads <see cref="Magic"/> from .rodata+8 RIP-relatively;</item>
    /// <item>get_counter / bump: read and increment the exported 64-bit <c>counter</c> (.data+0);</item>
    /// <item>counter_ptr (.data+8): an Absolute64 pointer to counter, so a RELATIVE dynamic relocation.</item>
    /// </list>
    /// </summary>
    public static ObjectModule Counter()
    {
        var module = new ObjectModule();

        var rodata = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(rodata.AsSpan(8), Magic);
        module.ReadOnlyData.AddRange(rodata);
        module.Symbols.Add(new ObjectSymbol("magic", SymbolKind.Object, SectionKind.ReadOnlyData, 8, 8, IsExported: true));

        var data = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(data, CounterInitialValue);
        module.Data.AddRange(data);
        module.Symbols.Add(new ObjectSymbol("counter", SymbolKind.Object, SectionKind.Data, 0, 8, IsExported: true));
        module.Symbols.Add(new ObjectSymbol("counter_ptr", SymbolKind.Object, SectionKind.Data, 8, 8, IsExported: true));
        module.Relocations.Add(new Relocation(SectionKind.Data, 8, RelocationKind.Absolute64, SectionKind.Data, 0, 0));

        var code = new X64CodeBuilder();
        var helper = code.Function("helper", exported: false);
        code.Asm.mov(eax, 7);
        code.Asm.ret();
        code.Function("answer");
        code.Asm.mov(eax, 42);
        code.Asm.ret();
        code.Function("add2");
        code.Asm.lea(rax, __[rdi + rsi]);
        code.Asm.ret();
        code.Function("call_helper");
        code.Asm.sub(rsp, 8); // keep rsp 16-byte aligned at the call
        code.Asm.call(helper);
        code.Asm.add(rsp, 8);
        code.Asm.add(rax, 1);
        code.Asm.ret();
        code.Function("get_magic");
        code.RipRelative(Code.Mov_r64_rm64, SectionKind.ReadOnlyData, 8, Register.RAX);
        code.Asm.ret();
        code.Function("get_counter");
        code.RipRelative(Code.Mov_r64_rm64, SectionKind.Data, 0, Register.RAX);
        code.Asm.ret();
        code.Function("bump");
        code.RipRelative(Code.Inc_rm64, SectionKind.Data, 0);
        code.RipRelative(Code.Mov_r64_rm64, SectionKind.Data, 0, Register.RAX);
        code.Asm.ret();
        code.EmitInto(module);
        return module;
    }

    /// <summary>Code and writable data, no read-only data and no dynamic relocations.</summary>
    public static ObjectModule TextAndData()
    {
        var module = new ObjectModule();
        var data = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(data, CounterInitialValue);
        module.Data.AddRange(data);
        module.Symbols.Add(new ObjectSymbol("counter", SymbolKind.Object, SectionKind.Data, 0, 8, IsExported: true));

        var code = new X64CodeBuilder();
        code.Function("get_counter");
        code.RipRelative(Code.Mov_r64_rm64, SectionKind.Data, 0, Register.RAX);
        code.Asm.ret();
        code.EmitInto(module);
        return module;
    }

    /// <summary>
    /// Only data: an exported value and a pointer to it. Architecture-neutral, so it also
    /// exercises the AArch64 constants without AArch64 machine code.
    /// </summary>
    public static ObjectModule DataOnly()
    {
        var module = new ObjectModule();
        var data = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(data, CounterInitialValue);
        module.Data.AddRange(data);
        module.Symbols.Add(new ObjectSymbol("value", SymbolKind.Object, SectionKind.Data, 0, 8, IsExported: true));
        module.Symbols.Add(new ObjectSymbol("value_ptr", SymbolKind.Object, SectionKind.Data, 8, 8, IsExported: true));
        module.Relocations.Add(new Relocation(SectionKind.Data, 8, RelocationKind.Absolute64, SectionKind.Data, 0, 0));
        return module;
    }
}
