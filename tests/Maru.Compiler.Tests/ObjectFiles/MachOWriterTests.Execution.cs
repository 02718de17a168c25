using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.MachO;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

public sealed partial class MachOWriterTests
{
    /// <summary>
    /// <see cref="SampleObjectModules.DataOnly"/> plus AArch64 code assembled here by llvm-mc (an
    /// independent encoder; our own arrives with the AArch64 backend): answer() = 42, add2(a, b) = a + b.
    /// </summary>
    private static ObjectModule Arm64Sample()
    {
        RequireTool("llvm-mc-15");
        RequireTool("llvm-objcopy-15");
        using var source = new TemporaryFile("code.s", System.Text.Encoding.ASCII.GetBytes("answer:\n mov x0, #42\n ret\nadd2:\n add x0, x0, x1\n ret\n"));
        var assemble = ExternalTool.Run("llvm-mc-15", ["-triple", "aarch64-linux-gnu", "-filetype=obj", "code.s", "-o", "code.o"], workingDirectory: source.Directory);
        Assert.AreEqual(0, assemble.ExitCode, assemble.ToString());
        var extract = ExternalTool.Run("llvm-objcopy-15", ["-O", "binary", "--only-section=.text", "code.o", "code.bin"], workingDirectory: source.Directory);
        Assert.AreEqual(0, extract.ExitCode, extract.ToString());
        var module = SampleObjectModules.DataOnly();
        module.Text.AddRange(File.ReadAllBytes(Path.Combine(source.Directory, "code.bin")));
        Assert.AreEqual(16, module.Text.Count);
        module.Symbols.Add(new ObjectSymbol("answer", SymbolKind.Function, SectionKind.Text, 0, 8, IsExported: true));
        module.Symbols.Add(new ObjectSymbol("add2", SymbolKind.Function, SectionKind.Text, 8, 8, IsExported: true));
        return module;
    }

    private static List<MachOLoaderCommand> LoadAndCall(string path, params (string Symbol, long[] Arguments)[] calls) =>
        [MachOLoaderCommand.Load(path), .. calls.Select(c => MachOLoaderCommand.Call("_" + c.Symbol, c.Arguments))];

    [TestMethod]
    public void OsxX64DylibsRunInTheTestLoader()
    {
        MachOLoader.RequireAvailable(TargetPlatform.OsxX64);
        var target = TargetPlatform.OsxX64;
        using var counter = new TemporaryFile("libcounter.dylib", MachODylibWriter.Write(SampleObjectModules.Counter(), target, "libcounter.dylib"));
        using var libc = new TemporaryFile("libcalls.dylib", MachODylibWriter.Write(SampleObjectModules.CallsLibc(), target, "libcalls.dylib"));
        using var data = new TemporaryFile("libdata.dylib", MachODylibWriter.Write(SampleObjectModules.TextAndData(), target, "libdata.dylib"));
        List<MachOLoaderCommand> commands =
        [
            .. LoadAndCall(counter.Path, ("answer", []), ("add2", [40, 2]), ("add2", [-7, 2]), ("call_helper", []), ("get_magic", []),
                ("get_counter", []), ("bump", []), ("bump", []), ("get_counter", [])),
            .. LoadAndCall(libc.Path, ("call_labs", [-5]), ("greeting_length", [])),
            .. LoadAndCall(data.Path, ("get_counter", [])),
        ];
        MachOLoader.Run(target, commands);
        var results = commands.Select(c => c.IsLoad ? c.Answer : c.Result?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? c.Answer).ToList();
        var c = SampleObjectModules.CounterInitialValue;
        CollectionAssert.AreEqual(
            new[] { "loaded", "42", "42", "-5", "8", $"{SampleObjectModules.Magic}", $"{c}", $"{c + 1}", $"{c + 2}", $"{c + 2}",
                    "loaded", "5", $"{SampleObjectModules.Greeting.Length}", "loaded", $"{c}" },
            results, string.Join("\n", commands));
    }

    [TestMethod]
    public void OsxArm64DylibsRunInTheTestLoaderUnderQemu()
    {
        MachOLoader.RequireAvailable(TargetPlatform.OsxArm64);
        var target = TargetPlatform.OsxArm64;
        using var library = new TemporaryFile("libarm.dylib", MachODylibWriter.Write(Arm64Sample(), target, "libarm.dylib"));
        var commands = LoadAndCall(library.Path, ("answer", []), ("add2", [40, 2]), ("add2", [-7, 2]));
        MachOLoader.Run(target, commands);
        Assert.AreEqual("loaded", commands[0].Answer, string.Join("\n", commands));
        CollectionAssert.AreEqual(new long?[] { 42, 42, -5 }, commands.Skip(1).Select(c => c.Result).ToArray(), string.Join("\n", commands));
    }

    [TestMethod]
    public void TheTestLoaderRefusesABrokenDylib()
    {
        MachOLoader.RequireAvailable(TargetPlatform.OsxX64);
        var bytes = MachODylibWriter.Write(SampleObjectModules.Counter(), TargetPlatform.OsxX64, "libbroken.dylib");
        bytes[20] = 0xff; // sizeofcmds past the end of the file
        using var broken = new TemporaryFile("libbroken.dylib", bytes);
        var commands = LoadAndCall(broken.Path, ("answer", []));
        MachOLoader.Run(TargetPlatform.OsxX64, commands);
        StringAssert.StartsWith(commands[0].Answer, "error", string.Join("\n", commands));
        StringAssert.StartsWith(commands[1].Answer, "error", string.Join("\n", commands));
    }
}
