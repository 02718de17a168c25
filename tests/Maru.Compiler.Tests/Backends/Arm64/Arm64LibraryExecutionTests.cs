using System.Text;
using Maru.Compiler.Backends.Arm64;
using Maru.Compiler.ObjectFiles.Elf;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;
using Maru.Differential;
using static Maru.Compiler.Backends.Arm64.Register;

namespace Maru.Compiler.Tests.Backends.Arm64;

/// <summary>
/// linux-arm64 libraries whose code our encoder and assembler produced and our ELF writer wrote,
/// run under qemu-aarch64 through the loader (one process for all): arguments in registers and
/// on the stack, printf through the GOT (adrp+ldr+blr), data through adrp+add and a RELATIVE
/// pointer, bl between functions, and branches relaxed beyond their reach. Each library is also
/// checked by eu-elflint --strict.
/// </summary>
[TestClass]
public sealed class Arm64LibraryExecutionTests
{
    private static readonly RegisterOrSp Sp = RegisterOrSp.Sp;

    /// <summary>Exports every label as a function, sized up to the next one.</summary>
    private static void ExportFunctions(ObjectModule module, Arm64Assembly assembly, params (string Name, Arm64Label Label)[] functions)
    {
        var starts = functions.Select(f => assembly.OffsetOf(f.Label)).ToArray();
        for (var i = 0; i < functions.Length; i++)
        {
            var end = starts.Where(s => s > starts[i]).DefaultIfEmpty(module.Text.Count).Min();
            module.Symbols.Add(new ObjectSymbol(functions[i].Name, SymbolKind.Function, SectionKind.Text, starts[i], end - starts[i], IsExported: true));
        }
    }

    /// <summary>add2(a, b) = a + b; sum10(a..j) reads its 9th and 10th arguments from the stack.</summary>
    private static ObjectModule Arithmetic()
    {
        var module = new ObjectModule();
        var asm = new Arm64Assembler();
        var add2 = asm.CreateLabel();
        var sum10 = asm.CreateLabel();
        asm.Bind(add2);
        asm.Emit(A64.Add(X(0), X(0), X(1)));
        asm.Emit(A64.Ret());
        asm.Bind(sum10);
        for (var i = 1; i < 8; i++) asm.Emit(A64.Add(X(0), X(0), X(i)));
        asm.Emit(A64.Ldp(X(9), X(10), Sp, 0));
        asm.Emit(A64.Add(X(0), X(0), X(9)));
        asm.Emit(A64.Sub(X(0), X(0), X(10), Shift.Lsl, 1)); // minus twice the 10th: order on the stack matters
        asm.Emit(A64.Ret());
        ExportFunctions(module, asm.Assemble(module), ("add2", add2), ("sum10", sum10));
        return module;
    }

    /// <summary>greet(n) prints "arm64 says <n>\n" with printf through its GOT slot and returns n * 3 (a frame record around the call).</summary>
    private static ObjectModule Printf()
    {
        var module = new ObjectModule();
        module.Imports.Add("printf");
        module.ReadOnlyData.AddRange(Encoding.UTF8.GetBytes("arm64 says %ld\n\0"));
        var asm = new Arm64Assembler();
        var greet = asm.CreateLabel();
        asm.Bind(greet);
        asm.Emit(A64.Stp(X(29), X(30), Sp, -32, PairAddressMode.PreIndex));
        asm.Emit(A64.Mov(RegisterOrSp.X(29), Sp));
        asm.Emit(A64.Str(X(19), Sp, 16));
        asm.Emit(A64.Mov(X(19), X(0)));
        asm.Emit(A64.Mov(X(1), X(0)));
        asm.AddressOf(X(0), SectionKind.ReadOnlyData, 0);
        asm.CallImport(0);
        asm.Emit(A64.Add(X(0), X(19), X(19), Shift.Lsl, 1));
        asm.Emit(A64.Ldr(X(19), Sp, 16));
        asm.Emit(A64.Ldp(X(29), X(30), Sp, 32, PairAddressMode.PostIndex));
        asm.Emit(A64.Ret());
        ExportFunctions(module, asm.Assemble(module), ("greet", greet));
        return module;
    }

    /// <summary>
    /// Data: counter (exported word), bump() adds 1 through adrp+add and returns it; message_byte(i)
    /// reads byte i of a string through a pointer in data (a RELATIVE relocation); answer() loads
    /// a 32-bit constant from read-only data with adrp + ldr :lo12:.
    /// </summary>
    private static ObjectModule Data()
    {
        var module = new ObjectModule();
        module.ReadOnlyData.AddRange(Encoding.UTF8.GetBytes("MARU\0\0\0\0"));
        module.ReadOnlyData.AddRange(BitConverter.GetBytes(4242));
        module.Data.AddRange(BitConverter.GetBytes(100L));
        module.Data.AddRange(new byte[8]);
        module.Relocations.Add(new Relocation(SectionKind.Data, 8, RelocationKind.Absolute64, SectionKind.ReadOnlyData, 0, 0));
        module.Symbols.Add(new ObjectSymbol("counter", SymbolKind.Object, SectionKind.Data, 0, 8, IsExported: true));

        var asm = new Arm64Assembler();
        var bump = asm.CreateLabel();
        var messageByte = asm.CreateLabel();
        var answer = asm.CreateLabel();
        asm.Bind(bump);
        asm.AddressOf(X(1), SectionKind.Data, 0);
        asm.Emit(A64.Ldr(X(0), X(1)));
        asm.Emit(A64.Add(X(0), X(0), 1));
        asm.Emit(A64.Str(X(0), X(1)));
        asm.Emit(A64.Ret());
        asm.Bind(messageByte);
        asm.Load(MemoryOperation.Load, 8, X(1), SectionKind.Data, 8);
        asm.Emit(new LoadStoreRegisterOffsetInstruction(MemoryOperation.Load, 1, W(0), X(1), X(0)));
        asm.Emit(A64.Ret());
        asm.Bind(answer);
        asm.Load(MemoryOperation.Load, 4, W(0), SectionKind.ReadOnlyData, 8);
        asm.Emit(A64.Ret());
        ExportFunctions(module, asm.Assemble(module), ("bump", bump), ("message_byte", messageByte), ("answer", answer));
        return module;
    }

    /// <summary>outer(x) = inner(x) + 1 with inner(x) = x * x - 7, called with bl (frame record saved around it).</summary>
    private static ObjectModule Calls()
    {
        var module = new ObjectModule();
        var asm = new Arm64Assembler();
        var outer = asm.CreateLabel();
        var inner = asm.CreateLabel();
        asm.Bind(outer);
        asm.Emit(A64.Stp(X(29), X(30), Sp, -16, PairAddressMode.PreIndex));
        asm.Emit(A64.Mov(RegisterOrSp.X(29), Sp));
        asm.Call(inner);
        asm.Emit(A64.Add(X(0), X(0), 1));
        asm.Emit(A64.Ldp(X(29), X(30), Sp, 16, PairAddressMode.PostIndex));
        asm.Emit(A64.Ret());
        asm.Bind(inner);
        asm.Emit(A64.Mul(X(1), X(0), X(0)));
        asm.Emit(A64.Sub(X(0), X(1), 7));
        asm.Emit(A64.Ret());
        ExportFunctions(module, asm.Assemble(module), ("outer", outer), ("inner", inner));
        return module;
    }

    /// <summary>
    /// far(x): tbz, cbz and b.cond to labels beyond their reach (40 KiB and 1.1 MiB of nops in
    /// between), which the assembler relaxes; each path returns a distinct value.
    /// </summary>
    private static (ObjectModule Module, int Relaxed) FarBranches()
    {
        var module = new ObjectModule();
        var asm = new Arm64Assembler();
        var entry = asm.CreateLabel();
        var bitClear = asm.CreateLabel();
        var isZero = asm.CreateLabel();
        var isLess = asm.CreateLabel();
        asm.Bind(entry);
        asm.CompareBranch(false, X(0), isZero);               // x == 0 -> 3
        asm.TestBranch(false, X(0), 0, bitClear);             // even -> 2
        asm.Emit(A64.Cmp(X(0), 100));
        asm.BranchIf(Condition.Lt, isLess);                   // odd < 100 -> 1
        asm.Emit(A64.MoveImmediate(X(0), 0x1234_5678_9abc_def0));
        asm.Emit(A64.Ret());
        for (var i = 0; i < 10_000; i++) asm.Emit(A64.Nop());  // 40 KiB: beyond tbz
        asm.Bind(bitClear);
        asm.Emit(A64.MoveImmediate(X(0), 2));
        asm.Emit(A64.Ret());
        for (var i = 0; i < 280_000; i++) asm.Emit(A64.Nop()); // 1.1 MiB: beyond cbz and b.cond
        asm.Bind(isZero);
        asm.Emit(A64.MoveImmediate(X(0), 3));
        asm.Emit(A64.Ret());
        asm.Bind(isLess);
        asm.Emit(A64.MoveImmediate(X(0), 1));
        asm.Emit(A64.Ret());
        var assembly = asm.Assemble(module);
        ExportFunctions(module, assembly, ("far", entry));
        // Relaxed forms: an inverted branch jumping 8 bytes forward, over an unconditional b.
        var relaxed = assembly.Instructions.Count(p => p.Instruction is TestBranchInstruction { Offset: 8 } or CompareBranchInstruction { Offset: 8 } or ConditionalBranchInstruction { Offset: 8 });
        return (module, relaxed);
    }

    [TestMethod]
    public void LibrariesBuiltByTheEncoderRunUnderQemu()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var (far, relaxed) = FarBranches();
        Assert.AreEqual(3, relaxed, "tbz, cbz and b.cond were relaxed");
        var libraries = new (string Name, ObjectModule Module)[]
        {
            ("arithmetic", Arithmetic()), ("printf", Printf()), ("data", Data()), ("calls", Calls()), ("far", far),
        };
        using var directory = new TemporaryFile("placeholder", []);
        var paths = new Dictionary<string, string>();
        foreach (var (name, module) in libraries)
        {
            var path = Path.Combine(directory.Directory, $"lib{name}.so");
            File.WriteAllBytes(path, ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxArm64, $"lib{name}.so"));
            ElfLint.AssertStrictlyValid(path);
            paths[name] = path;
        }

        (LoaderCommand Command, long Expected, string Output)[] script =
        [
            (new LoaderCommand.Load(paths["arithmetic"]), 0, ""),
            (new LoaderCommand.Call("add2", 40, 2), 42, ""),
            (new LoaderCommand.Call("add2", long.MaxValue, 1), long.MinValue, ""),
            (new LoaderCommand.Call("sum10", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 - 20, ""),
            (new LoaderCommand.Load(paths["printf"]), 0, ""),
            (new LoaderCommand.Call("greet", 5), 15, "arm64 says 5\n"),
            (new LoaderCommand.Call("greet", -12), -36, "arm64 says -12\n"),
            (new LoaderCommand.Load(paths["data"]), 0, ""),
            (new LoaderCommand.Peek("counter"), 100, ""),
            (new LoaderCommand.Call("bump"), 101, ""),
            (new LoaderCommand.Call("bump"), 102, ""),
            (new LoaderCommand.Peek("counter"), 102, ""),
            (new LoaderCommand.Call("message_byte", 0), 'M', ""),
            (new LoaderCommand.Call("message_byte", 3), 'U', ""),
            (new LoaderCommand.Call("answer"), 4242, ""),
            (new LoaderCommand.Load(paths["calls"]), 0, ""),
            (new LoaderCommand.Call("outer", 9), 75, ""),
            (new LoaderCommand.Call("inner", -3), 2, ""),
            (new LoaderCommand.Load(paths["far"]), 0, ""),
            (new LoaderCommand.Call("far", 0), 3, ""),
            (new LoaderCommand.Call("far", 8), 2, ""),
            (new LoaderCommand.Call("far", 7), 1, ""),
            (new LoaderCommand.Call("far", 101), 0x1234_5678_9abc_def0, ""),
        ];
        var results = QemuArm64.Run(script.Select(s => s.Command).ToList());
        for (var i = 0; i < script.Length; i++)
        {
            var (command, expected, output) = script[i];
            Assert.IsTrue(results[i].IsOk, $"{command}: {results[i]}");
            if (command is LoaderCommand.Load) continue;
            Assert.AreEqual(expected, results[i].Value, command.ToString());
            Assert.AreEqual(output, results[i].Output, command.ToString());
        }
    }

    [TestMethod]
    public void TheLoaderReportsCrashesAndMissingSymbolsAndGoesOn()
    {
        if (!QemuArm64.Available) ExternalTool.MissingTool(QemuArm64.Missing);
        var module = new ObjectModule();
        var asm = new Arm64Assembler();
        var crash = asm.CreateLabel();
        var fine = asm.CreateLabel();
        asm.Bind(crash);
        asm.Emit(A64.Ldr(X(0), X(0)));
        asm.Emit(A64.Ret());
        asm.Bind(fine);
        asm.Emit(A64.MoveImmediate(X(0), 7));
        asm.Emit(A64.Ret());
        ExportFunctions(module, asm.Assemble(module), ("crash", crash), ("fine", fine));
        using var file = new TemporaryFile("libcrash.so", ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxArm64, "libcrash.so"));

        var results = QemuArm64.Run([
            new LoaderCommand.Load(file.Path), new LoaderCommand.Call("crash", 0), new LoaderCommand.Call("missing"), new LoaderCommand.Call("fine"),
            new LoaderCommand.Load(file.Path + ".absent"),
        ]);
        Assert.AreEqual("signal", results[1].Kind);
        Assert.AreEqual(11, results[1].Value, "SIGSEGV");
        Assert.AreEqual("error", results[2].Kind);
        Assert.AreEqual(7, results[3].Value);
        Assert.AreEqual("error", results[4].Kind);
    }

    [TestMethod]
    public void OutOfRangeRelocationsAreReportedNotTruncated()
    {
        // A bl whose target lies beyond +-128 MiB can only be written by truncating: refused.
        var module = new ObjectModule();
        module.Text.AddRange(new byte[8]);
        module.Relocations.Add(new Relocation(SectionKind.Text, 0, RelocationKind.Arm64Call26, SectionKind.Text, 4, 1L << 28));
        module.Symbols.Add(new ObjectSymbol("f", SymbolKind.Function, SectionKind.Text, 0, 8, IsExported: true));
        Assert.ThrowsExactly<RelocationOutOfRangeException>(() => ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxArm64, "libfar.so"));
    }
}
