using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.Elf;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>
/// The ELF shared-object writer: libraries built from hand-made modules are loaded with dlopen
/// and called, and checked by independent tools (eu-elflint, readelf).
/// </summary>
[TestClass]
public sealed partial class ElfWriterTests
{
    private static readonly string[] CounterExports = ["magic", "counter", "counter_ptr", "answer", "add2", "call_helper", "get_magic", "get_counter", "bump"];

    // ---- Loading and calling ----

    [TestMethod]
    public unsafe void ExportedFunctionsCanBeCalled()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.Counter(), "libcounter_calls.so");

        Assert.AreEqual(42L, ((delegate* unmanaged<long>)library.Export("answer"))());
        Assert.AreEqual(42L, ((delegate* unmanaged<long, long, long>)library.Export("add2"))(40, 2));
        Assert.AreEqual(-5L, ((delegate* unmanaged<long, long, long>)library.Export("add2"))(-7, 2));
        Assert.AreEqual(8L, ((delegate* unmanaged<long>)library.Export("call_helper"))());
        Assert.AreEqual(SampleObjectModules.Magic, ((delegate* unmanaged<long>)library.Export("get_magic"))());
    }

    [TestMethod]
    public unsafe void GlobalStatePersistsBetweenCalls()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.Counter(), "libcounter_state.so");
        var getCounter = (delegate* unmanaged<long>)library.Export("get_counter");
        var bump = (delegate* unmanaged<long>)library.Export("bump");

        Assert.AreEqual(SampleObjectModules.CounterInitialValue, getCounter());
        Assert.AreEqual(SampleObjectModules.CounterInitialValue + 1, bump());
        Assert.AreEqual(SampleObjectModules.CounterInitialValue + 2, bump());
        Assert.AreEqual(SampleObjectModules.CounterInitialValue + 2, getCounter());
        Assert.AreEqual(SampleObjectModules.CounterInitialValue + 2, Marshal.ReadInt64(library.Export("counter")));
        Assert.AreEqual(SampleObjectModules.Magic, Marshal.ReadInt64(library.Export("magic")));
    }

    [TestMethod]
    public void Absolute64PointerIsRelocatedToTheCounter()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.Counter(), "libcounter_pointer.so");

        Assert.AreEqual((long)library.Export("counter"), Marshal.ReadInt64(library.Export("counter_ptr")));
    }

    [TestMethod]
    public void EveryExportIsFoundAndUnexportedSymbolsAreNot()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.Counter(), "libcounter_exports.so");

        foreach (var name in CounterExports)
            Assert.IsTrue(library.TryExport(name, out _), $"dlsym did not find '{name}'");
        Assert.IsFalse(library.TryExport("helper", out _), "an unexported function is visible");
    }

    [TestMethod]
    public unsafe void TextOnlyLibraryLoads()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.TextOnly(), "libtextonly.so");

        Assert.AreEqual(42L, ((delegate* unmanaged<long>)library.Export("answer"))());
        Assert.AreEqual(7L, ((delegate* unmanaged<long, long, long>)library.Export("add2"))(3, 4));
    }

    [TestMethod]
    public unsafe void TextAndDataLibraryLoads()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.TextAndData(), "libtextdata.so");

        Assert.AreEqual(SampleObjectModules.CounterInitialValue, ((delegate* unmanaged<long>)library.Export("get_counter"))());
    }

    // ---- Independent validation ----

    [TestMethod]
    [DataRow("counter", "x64")]
    [DataRow("text-only", "x64")]
    [DataRow("text-and-data", "x64")]
    [DataRow("data-only", "x64")]
    [DataRow("data-only", "arm64")]
    public void ElfLintStrictFindsNoProblems(string sample, string architecture)
    {
        var target = architecture == "arm64" ? TargetPlatform.LinuxArm64 : TargetPlatform.LinuxX64;
        var module = sample switch
        {
            "counter" => SampleObjectModules.Counter(),
            "text-only" => SampleObjectModules.TextOnly(),
            "text-and-data" => SampleObjectModules.TextAndData(),
            _ => SampleObjectModules.DataOnly(),
        };
        using var file = new TemporaryFile("libsample.so", ElfSharedLibraryWriter.Write(module, target, "libsample.so"));

        ElfLint.AssertStrictlyValid(file.Path);
    }

    [TestMethod]
    public void ProgramHeadersSeparatePermissionsAndKeepTheStackNonExecutable()
    {
        using var file = WriteCounter();
        var headers = RunTool("readelf", "binutils", "-lW", file.Path);
        Assert.AreEqual(0, headers.ExitCode, headers.ToString());

        var stack = SegmentLines(headers.StandardOutput, "GNU_STACK").Single();
        CollectionAssert.AreEqual(new[] { "RW" }, Flags(stack), headers.StandardOutput);

        var loads = SegmentLines(headers.StandardOutput, "LOAD");
        // Headers and tables (read-only after relocation, PT_GNU_RELRO), code, then data.
        CollectionAssert.AreEqual(new[] { "RW", "RE", "RW" }, loads.Select(l => string.Concat(Flags(l))).ToArray(), headers.StandardOutput);
        foreach (var load in loads)
        {
            var offset = Convert.ToUInt64(load[1], 16);
            var address = Convert.ToUInt64(load[2], 16);
            var align = Convert.ToUInt64(load[^1], 16);
            Assert.AreEqual(0x1000UL, align, string.Join(' ', load));
            Assert.AreEqual(0UL, (address - offset) % align, string.Join(' ', load));
        }
        Assert.AreEqual(1, SegmentLines(headers.StandardOutput, "DYNAMIC").Count, headers.StandardOutput);
        Assert.AreEqual(1, SegmentLines(headers.StandardOutput, "GNU_RELRO").Count, headers.StandardOutput);
    }

    [TestMethod]
    public void DynamicSectionHasTheExpectedTagsAndNoTextRelocations()
    {
        using var file = WriteCounter();
        var dynamic = RunTool("readelf", "binutils", "-dW", file.Path);
        Assert.AreEqual(0, dynamic.ExitCode, dynamic.ToString());

        var text = dynamic.StandardOutput;
        Assert.DoesNotContain("TEXTREL", text);
        Assert.Contains("Library soname: [libcounter.so]", text);
        foreach (var tag in new[] { "(HASH)", "(STRTAB)", "(SYMTAB)", "(STRSZ)", "(SYMENT)", "(RELA)", "(RELASZ)", "(RELAENT)" })
            Assert.Contains(tag, text);
        Assert.MatchesRegex(@"\(FLAGS\)\s+BIND_NOW", text);
        Assert.MatchesRegex(@"\(FLAGS_1\)\s+Flags: NOW", text);
        Assert.DoesNotContain("(NEEDED)", text);
    }

    [TestMethod]
    public void LibraryWithoutPointersHasNoDynamicRelocations()
    {
        using var file = new TemporaryFile("libtextdata.so", ElfSharedLibraryWriter.Write(SampleObjectModules.TextAndData(), TargetPlatform.LinuxX64, "libtextdata.so"));
        var dynamic = RunTool("readelf", "binutils", "-dSW", file.Path);

        Assert.DoesNotContain("(RELA)", dynamic.StandardOutput);
        Assert.DoesNotContain(".rela.dyn", dynamic.StandardOutput);
        Assert.DoesNotContain(".rodata", dynamic.StandardOutput);
    }

    [TestMethod]
    public void PointerInDataBecomesOneRelativeRelocation()
    {
        using var file = WriteCounter();
        var relocations = RunTool("readelf", "binutils", "-rW", file.Path);

        Assert.AreEqual(1, Regex.Matches(relocations.StandardOutput, "R_X86_64_RELATIVE").Count, relocations.StandardOutput);
        Assert.MatchesRegex(@"\.rela\.dyn' at offset 0x[0-9a-f]+ contains 1 entr", relocations.StandardOutput);
    }

    [TestMethod]
    public void ExportsAreGlobalDynamicSymbols()
    {
        using var file = WriteCounter();
        var symbols = RunTool("readelf", "binutils", "--dyn-syms", "-W", file.Path);
        Assert.AreEqual(0, symbols.ExitCode, symbols.ToString());
        var text = symbols.StandardOutput;

        foreach (var name in new[] { "answer", "add2", "call_helper", "get_magic", "get_counter", "bump" })
            Assert.MatchesRegex(new Regex($@"\sFUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+{name}$", RegexOptions.Multiline), text);
        foreach (var name in new[] { "magic", "counter", "counter_ptr" })
            Assert.MatchesRegex(new Regex($@"\s8\s+OBJECT\s+GLOBAL\s+DEFAULT\s+\d+\s+{name}$", RegexOptions.Multiline), text);
        Assert.DoesNotMatchRegex(new Regex(@"\shelper$", RegexOptions.Multiline), text);
        Assert.DoesNotContain(" ABS ", text);
    }

    [TestMethod]
    public void SectionsAreNamedAndInOrder()
    {
        using var file = WriteCounter();
        var sections = RunTool("readelf", "binutils", "-SW", file.Path);
        Assert.AreEqual(0, sections.ExitCode, sections.ToString());

        var names = Regex.Matches(sections.StandardOutput, @"^\s*\[\s*\d+\]\s+(\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        CollectionAssert.AreEqual(
            new[] { "NULL", ".hash", ".dynsym", ".dynstr", ".rela.dyn", ".rodata", ".dynamic", ".text", ".data", ".shstrtab" },
            names,
            sections.StandardOutput);
    }

    [TestMethod]
    public void Arm64UsesItsMachineNumberPageSizeAndRelocationType()
    {
        using var file = new TemporaryFile("libarm.so", ElfSharedLibraryWriter.Write(SampleObjectModules.DataOnly(), TargetPlatform.LinuxArm64, "libarm.so"));
        var output = RunTool("readelf", "binutils", "-hlrW", file.Path).StandardOutput;

        Assert.MatchesRegex(@"Machine:\s+AArch64", output);
        Assert.MatchesRegex(@"Type:\s+DYN", output);
        Assert.IsTrue(SegmentLines(output, "LOAD").All(l => l[^1] == "0x10000"), output);
        Assert.Contains("R_AARCH64_RELATIVE", output);
    }

    [TestMethod]
    public void SectionsStartAtTheirModuleAlignment()
    {
        var module = SampleObjectModules.TextAndData();
        module.ReadOnlyData.AddRange([1, 2, 3]);
        module.Alignment[SectionKind.Text] = 4;
        module.Alignment[SectionKind.ReadOnlyData] = 256;
        module.Alignment[SectionKind.Data] = 4096;
        using var file = new TemporaryFile("libaligned.so", ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxArm64, "libaligned.so"));
        var image = new ElfImage(File.ReadAllBytes(file.Path));

        Assert.AreEqual(0UL, image.SectionNamed(".rodata").Address % 256);
        Assert.AreEqual(0UL, image.SectionNamed(".data").Address % 4096);
        var headers = RunTool("readelf", "binutils", "-SW", file.Path).StandardOutput;
        Assert.MatchesRegex(@"\.rodata\s+PROGBITS(\s+\S+){4}\s+A\s+0\s+0\s+256\b", headers);
        Assert.MatchesRegex(@"\.text\s+PROGBITS(\s+\S+){4}\s+AX\s+0\s+0\s+4\b", headers);
        ElfLint.AssertStrictlyValid(file.Path);
    }

    // ---- Determinism and input checking ----

    [TestMethod]
    public void SameModuleGivesIdenticalBytes()
    {
        var module = SampleObjectModules.Counter();
        var text = module.Text.ToArray();
        var data = module.Data.ToArray();

        var first = ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libcounter.so");
        var second = ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libcounter.so");
        var rebuilt = ElfSharedLibraryWriter.Write(SampleObjectModules.Counter(), TargetPlatform.LinuxX64, "libcounter.so");

        CollectionAssert.AreEqual(first, second);
        CollectionAssert.AreEqual(first, rebuilt);
        CollectionAssert.AreEqual(text, module.Text.ToArray(), "the writer patched the module instead of its copy");
        CollectionAssert.AreEqual(data, module.Data.ToArray(), "the writer patched the module instead of its copy");
    }

    [TestMethod]
    public void HeaderIdentifiesA64BitLittleEndianSharedObject()
    {
        var bytes = ElfSharedLibraryWriter.Write(SampleObjectModules.TextOnly(), TargetPlatform.LinuxX64, "libx.so");

        CollectionAssert.AreEqual(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }, bytes[..7]);
        Assert.AreEqual(3, BitConverter.ToUInt16(bytes, 16), "e_type");
        Assert.AreEqual(62, BitConverter.ToUInt16(bytes, 18), "e_machine");
    }

    [TestMethod]
    public void Absolute64InTextIsACompilerBug()
    {
        var module = SampleObjectModules.TextOnly();
        module.Relocations.Add(new Relocation(SectionKind.Text, 0, RelocationKind.Absolute64, SectionKind.Text, 0, 0));

        Assert.ThrowsExactly<InvalidOperationException>(() => ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libx.so"));
    }

    [TestMethod]
    public void MalformedModulesAreRejected()
    {
        var outside = SampleObjectModules.TextOnly();
        outside.Relocations.Add(new Relocation(SectionKind.Text, outside.Text.Count - 2, RelocationKind.PcRelative32, SectionKind.Text, 0, 0));
        var duplicate = SampleObjectModules.TextOnly();
        duplicate.Symbols.Add(duplicate.Symbols[0] with { Offset = 1, Size = 0 });
        var emptyTarget = SampleObjectModules.TextOnly();
        emptyTarget.Relocations.Add(new Relocation(SectionKind.Text, 0, RelocationKind.PcRelative32, SectionKind.Data, 0, 0));

        var oddAlignment = SampleObjectModules.TextOnly();
        oddAlignment.Alignment[SectionKind.Text] = 24;
        var instructionInData = SampleObjectModules.TextAndData();
        instructionInData.Relocations.Add(new Relocation(SectionKind.Data, 0, RelocationKind.Arm64Call26, SectionKind.Text, 0, 0));
        var misplacedInstruction = SampleObjectModules.TextOnly();
        misplacedInstruction.Relocations.Add(new Relocation(SectionKind.Text, 2, RelocationKind.Arm64Jump26, SectionKind.Text, 0, 0));

        foreach (var module in new[] { outside, duplicate, emptyTarget, oddAlignment, instructionInData, misplacedInstruction })
            Assert.ThrowsExactly<InvalidOperationException>(() => ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libx.so"));
        Assert.ThrowsExactly<ArgumentException>(() => ElfSharedLibraryWriter.Write(SampleObjectModules.TextOnly(), TargetPlatform.OsxX64, "libx.so"));
    }

    // ---- Helpers ----

    private static void RequireLinuxX64Host()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Inconclusive("loading a linux-x64 library needs a linux-x64 host");
    }

    private static LoadedNativeLibrary Load(ObjectModule module, string soname) =>
        new(soname, ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, soname));

    private static TemporaryFile WriteCounter() =>
        new("libcounter.so", ElfSharedLibraryWriter.Write(SampleObjectModules.Counter(), TargetPlatform.LinuxX64, "libcounter.so"));

    private static ExternalToolResult RunTool(string tool, string package, params string[] arguments)
    {
        if (!ExternalTool.Exists(tool))
            ExternalTool.MissingTool($"{tool} not installed: apt-get install {package}");
        return ExternalTool.Run(tool, arguments);
    }

    /// <summary>The whitespace-separated fields of each program header line of the given type in `readelf -lW` output.</summary>
    private static List<string[]> SegmentLines(string readelfOutput, string type) =>
        readelfOutput.Split('\n')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 0 && fields[0] == type)
            .ToList();

    /// <summary>The flag fields of a program header line: between MemSiz (field 5) and Align (last).</summary>
    private static string[] Flags(string[] fields) => fields[6..^1];
}
