using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Interop;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.MachO;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>Dylibs of code our own backends generated: every relocation kind of the ISA, GOT calls, pointers in data.</summary>
public sealed partial class MachOWriterTests
{
    /// <summary>Calls into libc through the GOT, a global read and written, a string global (a pointer in data, so a rebase), a direct call.</summary>
    private const string CompiledSource = """
        (define printf (extern 'printf))
        (define labs (extern 'labs))
        (define counter 5)
        (define greeting "hello")
        (define-function answer () 42)
        (define-function bump () (set counter (+ counter (answer))) counter)
        (define-function call_labs (x) (labs x))
        (define-function greet (n) (printf "%s %ld\n" greeting n))
        """;

    /// <summary><paramref name="source"/> through the O1 pipeline and the backend of <paramref name="codeTarget"/> (its calling convention).</summary>
    private static ObjectModule CompiledModule(string source, TargetPlatform codeTarget) =>
        BackendRegistry.For(codeTarget)!.Generate(IrTesting.Optimise(source), codeTarget, new CodeGenerationRequest(SymbolNames.ToSymbolName));

    /// <summary>
    /// Apple arm64 passes every variadic argument in its own stack slot; the test loader binds the
    /// printf family to shims that read them only from there. Fixed arguments (snprintf's buffer,
    /// size and format) stay in registers; with more variadic integers than argument registers,
    /// at O0 and O1, the output must be exact.
    /// </summary>
    [TestMethod]
    public void AppleArm64VariadicArgumentsGoOnTheStackOneSlotEach()
    {
        var target = TargetPlatform.OsxArm64;
        MachOLoader.RequireAvailable(target);
        const string source = """
            (define printf (extern 'printf))
            (define snprintf (extern 'snprintf))
            (define malloc (extern 'malloc))
            (define free (extern 'free))
            (define-function show (a b c d e f)
              (let ((buffer (malloc 200)) (n 0))
                (set n (snprintf buffer 200 "%ld|%ld|%ld|%ld|%ld|%ld|%s" a b c d e f "end"))
                (printf "[%s] %ld %ld %ld %ld %ld %ld %ld %ld %ld\n" buffer n a b c d e f 7 (* a 8))
                (free buffer)
                n))
            """;
        long[] arguments = [1, -2, 30, -400, 5000, -60000];
        var formatted = "1|-2|30|-400|5000|-60000|end";
        var expected = $"[{formatted}] {formatted.Length} 1 -2 30 -400 5000 -60000 7 8\n";

        var directory = Directory.CreateTempSubdirectory("maru-apple-variadic-").FullName;
        try
        {
            var commands = new List<(string What, MachOLoaderCommand Output)>();
            var script = new List<MachOLoaderCommand>();
            void Add(string what, byte[] dylib)
            {
                var path = Path.Combine(directory, $"{what}.dylib");
                File.WriteAllBytes(path, dylib);
                var output = MachOLoaderCommand.Output("_show", arguments);
                script.Add(MachOLoaderCommand.Load(path));
                script.Add(output);
                commands.Add((what, output));
            }
            foreach (var level in Enum.GetValues<OptimisationLevel>())
            {
                var options = new CompilationOptions { Target = target, LibraryName = "variadic", Optimisation = level, VerifyIr = true };
                var result = MaruCompiler.Compile([new Maru.Compiler.Syntax.SourceFile("variadic.l", source)], options);
                Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                Add($"apple-{level}", result.Library!);
            }
            // The control: the same code with Linux's AAPCS64 placement (variadic arguments in
            // registers) in the same dylib format; the shims must not see the values.
            Add("aapcs64", MachODylibWriter.Write(CompiledModule(source, TargetPlatform.LinuxArm64), target, "aapcs64.dylib"));
            MachOLoader.Run(target, script);

            var report = string.Join("\n", script);
            foreach (var (what, output) in commands.Where(c => c.What.StartsWith("apple", StringComparison.Ordinal)))
            {
                Assert.AreEqual(expected, output.CapturedOutput, $"{what}\n{report}");
                Assert.AreEqual((long?)formatted.Length, output.Result, $"{what}\n{report}");
            }
            Assert.AreNotEqual(expected, commands.Single(c => c.What == "aapcs64").Output.CapturedOutput, $"the shims read registers too\n{report}");
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }
}

public sealed partial class MachOWriterTests
{
    /// <summary>
    /// Page protections once loaded, as the kernel reports them (/proc/self/maps) in the test
    /// loader, which maps like dyld (initprot after fixups, SG_READ_ONLY segments read-only): code
    /// executable and nothing else in its pages, the GOT and constants read-only, only data writable.
    /// The code still works: it writes its global, reads its constants and calls libc through the GOT.
    /// </summary>
    [TestMethod]
    [DataRow("osx-x64")]
    [DataRow("osx-arm64")]
    public void LoadedSegmentsAreWriteXorExecuteAndTheGotIsReadOnly(string rid)
    {
        var target = Target(rid);
        MachOLoader.RequireAvailable(target);
        using var library = new TemporaryFile("libprotected.dylib", MachODylibWriter.Write(CompiledModule(CompiledSource, target), target, "libprotected.dylib"));
        var greet = MachOLoaderCommand.Output("_greet", [7]);
        var protections = MachOLoaderCommand.Protections();
        List<MachOLoaderCommand> commands = [.. LoadAndCall(library.Path, ("bump", []), ("call_labs", [-9])), greet, protections];
        MachOLoader.Run(target, commands);
        var report = string.Join("\n", commands);
        CollectionAssert.AreEqual(new long?[] { 47, 9 }, commands.Skip(1).Take(2).Select(c => c.Result).ToArray(), report);
        Assert.AreEqual("hello 7\n", greet.CapturedOutput, report);
        var observed = protections.SegmentProtections();
        Assert.AreEqual("r-x", observed["__TEXT"], report);
        Assert.AreEqual("r--", observed["__DATA_CONST"], report);
        Assert.AreEqual("rw-", observed["__DATA"], report);
        Assert.AreEqual("r--", observed["__LINKEDIT"], report);
    }
}

public sealed partial class MachOWriterTests
{
    /// <summary>The whole compiler, twice, for each macOS target and level: byte-identical dylibs (and so the same UUID and signature).</summary>
    [TestMethod]
    public void CompilingTwiceGivesTheSameBytes()
    {
        foreach (var target in TargetPlatform.Known.Where(t => t.ObjectFormat == ObjectFormat.MachO))
            foreach (var level in Enum.GetValues<OptimisationLevel>())
            {
                byte[] Build()
                {
                    var options = new CompilationOptions { Target = target, LibraryName = "same", Optimisation = level };
                    var result = MaruCompiler.Compile([new Maru.Compiler.Syntax.SourceFile("same.l", CompiledSource)], options);
                    Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
                    return result.Library!;
                }
                CollectionAssert.AreEqual(Build(), Build(), $"{target} {level}");
            }
    }
}
