using System.Buffers.Binary;
using System.Text;
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

    /// <summary>The string <see cref="CallsLibc"/> keeps in .rodata and measures with strlen.</summary>
    public const string Greeting = "hello from maru";

    /// <summary>Indexes of <see cref="CallsLibc"/>'s imports, so of their GOT slots (slot i at 8*i).</summary>
    public const int LabsSlot = 0, StrlenSlot = 1;

    /// <summary>
    /// Code that calls the C library through GOT slots, with no PLT, as compiled code will:
    /// <list type="bullet">
    /// <item>imports labs and strlen (slots 0 and 1);</item>
    /// <item>call_labs(x) = labs(x): <c>call qword ptr [rip+slot]</c>;</item>
    /// <item>get_strlen_address(): the contents of strlen's slot (<c>mov rax, [rip+slot]</c>);</item>
    /// <item>greeting_length() = strlen(greeting): <c>lea rdi, [rip+greeting]</c> into .rodata, then a call through the slot;</item>
    /// <item>greeting (.rodata+0, NUL-terminated) and greeting_ptr (.data+0, an Absolute64 pointer to it,
    /// so RELATIVE and GLOB_DAT relocations share .rela.dyn).</item>
    /// </list>
    /// </summary>
    public static ObjectModule CallsLibc()
    {
        var module = new ObjectModule();
        module.Imports.Add("labs");
        module.Imports.Add("strlen");

        var greeting = Encoding.ASCII.GetBytes(Greeting + "\0");
        module.ReadOnlyData.AddRange(greeting);
        module.Symbols.Add(new ObjectSymbol("greeting", SymbolKind.Object, SectionKind.ReadOnlyData, 0, greeting.Length, IsExported: true));
        module.Data.AddRange(new byte[8]);
        module.Symbols.Add(new ObjectSymbol("greeting_ptr", SymbolKind.Object, SectionKind.Data, 0, 8, IsExported: true));
        module.Relocations.Add(new Relocation(SectionKind.Data, 0, RelocationKind.Absolute64, SectionKind.ReadOnlyData, 0, 0));

        var code = new X64CodeBuilder();
        code.Function("call_labs");
        code.Asm.push(rbp); // entry rsp is 8 mod 16; the push makes it 16-aligned at the call
        code.RipRelative(Code.Call_rm64, SectionKind.Got, 8 * LabsSlot);
        code.Asm.pop(rbp);
        code.Asm.ret();
        code.Function("get_strlen_address");
        code.RipRelative(Code.Mov_r64_rm64, SectionKind.Got, 8 * StrlenSlot, Register.RAX);
        code.Asm.ret();
        code.Function("greeting_length");
        code.Asm.push(rbp);
        code.RipRelative(Code.Lea_r64_m, SectionKind.ReadOnlyData, 0, Register.RDI);
        code.RipRelative(Code.Call_rm64, SectionKind.Got, 8 * StrlenSlot);
        code.Asm.pop(rbp);
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
