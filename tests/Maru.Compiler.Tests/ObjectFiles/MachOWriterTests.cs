using System.Globalization;
using System.Text.RegularExpressions;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.MachO;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>
/// The Mach-O dylib writer, checked without a Mac: LLVM's Mach-O tools (llvm-objdump --macho,
/// llvm-otool, llvm-nm) read every dylib, ld64.lld links a consumer against it, the ad-hoc
/// signature is recomputed field by field, and the test-side loader (a small dyld) maps, fixes up
/// and calls it: natively for osx-x64, under qemu-aarch64 for osx-arm64.
/// </summary>
[TestClass]
public sealed partial class MachOWriterTests
{
    public static IEnumerable<object[]> Samples =>
    [
        ["osx-x64", "TextOnly"], ["osx-x64", "Counter"], ["osx-x64", "TextAndData"], ["osx-x64", "CallsLibc"], ["osx-x64", "DataOnly"],
        ["osx-arm64", "DataOnly"], ["osx-arm64", "Arm64Code"],
        ["osx-x64", "Compiled"], ["osx-arm64", "Compiled"],
    ];

    private static TargetPlatform Target(string rid) => TargetPlatform.Known.Single(t => t.RuntimeIdentifier == rid);

    private static ObjectModule Sample(string rid, string name) => name switch
    {
        "Compiled" => CompiledModule(CompiledSource, Target(rid)),
        "TextOnly" => SampleObjectModules.TextOnly(),
        "Counter" => SampleObjectModules.Counter(),
        "TextAndData" => SampleObjectModules.TextAndData(),
        "CallsLibc" => SampleObjectModules.CallsLibc(),
        "DataOnly" => SampleObjectModules.DataOnly(),
        "Arm64Code" => Arm64Sample(),
        _ => throw new ArgumentException(name),
    };

    private static void RequireTool(string name)
    {
        if (!ExternalTool.Exists(name)) ExternalTool.MissingTool($"{name} not installed (llvm-15, lld-15)");
    }

    [TestMethod]
    [DynamicData(nameof(Samples))]
    public void LlvmToolsReadEveryPart(string rid, string sample)
    {
        RequireTool("llvm-objdump-15");
        RequireTool("llvm-otool-15");
        RequireTool("llvm-nm-15");
        var target = Target(rid);
        var module = Sample(rid, sample);
        using var file = new TemporaryFile($"lib{sample}.dylib", MachODylibWriter.Write(module, target, $"lib{sample}.dylib"));

        var objdump = ExternalTool.Run("llvm-objdump-15", "--macho", "--private-headers", "--exports-trie", "--rebase", "--bind", "--lazy-bind", "--weak-bind", "--dylib-id", "--dylibs-used", "-d", file.Path);
        Assert.AreEqual(0, objdump.ExitCode, objdump.ToString());
        Assert.AreEqual("", objdump.StandardError.Trim(), objdump.ToString());
        var otool = ExternalTool.Run("llvm-otool-15", "-l", file.Path);
        Assert.AreEqual(0, otool.ExitCode, otool.ToString());
        Assert.AreEqual("", otool.StandardError.Trim(), otool.ToString());
        var nm = ExternalTool.Run("llvm-nm-15", "-m", file.Path);
        Assert.AreEqual(0, nm.ExitCode, nm.ToString());
        Assert.AreEqual("", nm.StandardError.Trim(), nm.ToString());
        var text = objdump.StandardOutput;

        // Header: 64-bit dylib of the right CPU with the flags dyld expects of a two-level dylib.
        StringAssert.Matches(text, new Regex($@"MH_MAGIC_64\s+{(target.Architecture == TargetArchitecture.Arm64 ? "ARM64" : "X86_64")}\s+ALL\s+0x00\s+DYLIB\s+\d+\s+\d+\s+NOUNDEFS DYLDLINK TWOLEVEL NO_REEXPORTED_DYLIBS"));
        // Load commands in ld64/lld order.
        var commands = Regex.Matches(text, @"^\s+cmd (LC_\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        var segments = commands.TakeWhile(c => c == "LC_SEGMENT_64").Count();
        CollectionAssert.AreEqual(
            new[] { "LC_DYLD_INFO_ONLY", "LC_SYMTAB", "LC_DYSYMTAB", "LC_ID_DYLIB", "LC_UUID", "LC_BUILD_VERSION", "LC_LOAD_DYLIB", "LC_CODE_SIGNATURE" },
            commands.Skip(segments).ToArray(), text);
        var segmentNames = Regex.Matches(otool.StandardOutput, @"segname (\S+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.AreEqual("__TEXT", segmentNames[0]);
        Assert.AreEqual("__LINKEDIT", segmentNames[^1]);
        Assert.AreEqual(module.Imports.Count > 0 || module.ReadOnlyData.Count > 0, segmentNames.Contains("__DATA_CONST"));
        Assert.AreEqual(module.Data.Count > 0, segmentNames.Contains("__DATA"));
        StringAssert.Contains(text, $"@rpath/lib{sample}.dylib");
        StringAssert.Contains(text, "/usr/lib/libSystem.B.dylib (compatibility version 1.0.0, current version 1311.0.0)");
        StringAssert.Matches(text, new Regex(@"platform macos\s+sdk 11\.0\s+minos 11\.0"));

        // Segments start on pages of the architecture, at equal file offset and address.
        var page = target.Architecture == TargetArchitecture.Arm64 ? 0x4000UL : 0x1000UL;
        foreach (Match segment in Regex.Matches(otool.StandardOutput, @"cmd LC_SEGMENT_64\s+cmdsize \d+\s+segname (\S+)\s+vmaddr (0x[0-9a-f]+)\s+vmsize (0x[0-9a-f]+)\s+fileoff (\d+)"))
        {
            var address = Convert.ToUInt64(segment.Groups[2].Value, 16);
            var fileOffset = ulong.Parse(segment.Groups[4].Value, CultureInfo.InvariantCulture);
            Assert.AreEqual(address, fileOffset, segment.Value);
            Assert.AreEqual(0UL, fileOffset % page, segment.Value);
        }

        // Protections (W^X at page level): no segment may be writable and executable; __TEXT holds
        // only code; constants share the GOT's read-only-after-fixups segment; __DATA only data.
        var layout = OtoolSegments(otool.StandardOutput);
        foreach (var (name, (maxprot, initprot, flags, sections)) in layout)
        {
            Assert.IsFalse((maxprot & 2) != 0 && (maxprot & 4) != 0, $"{name} is writable and executable:\n{otool.StandardOutput}");
            Assert.AreEqual(0, initprot & ~maxprot, $"{name}'s initprot exceeds its maxprot");
        }
        CollectionAssert.AreEqual(new[] { "__text" }, layout["__TEXT"].Sections, otool.StandardOutput);
        Assert.AreEqual(5, layout["__TEXT"].MaxProt, otool.StandardOutput);
        if (layout.TryGetValue("__DATA_CONST", out var dataConst))
        {
            Assert.AreEqual(0x10u, dataConst.Flags & 0x10, "__DATA_CONST is SG_READ_ONLY");
            Assert.AreEqual(3, dataConst.MaxProt, otool.StandardOutput);
        }
        Assert.AreEqual(module.ReadOnlyData.Count > 0, layout.TryGetValue("__DATA_CONST", out var constant) && constant.Sections.Contains("__const"), otool.StandardOutput);
        if (layout.TryGetValue("__DATA", out var writable))
            CollectionAssert.AreEqual(new[] { "__data" }, writable.Sections, otool.StandardOutput);

        // Symbols: exports are external and defined, imports undefined from libSystem, all with the underscore.
        var nmLines = nm.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var exported = module.Symbols.Where(s => s.IsExported).ToList();
        var addresses = new Dictionary<string, ulong>();
        foreach (var symbol in exported)
        {
            var line = nmLines.SingleOrDefault(l => l.EndsWith(" external _" + symbol.Name, StringComparison.Ordinal));
            Assert.IsNotNull(line, $"_{symbol.Name} is not an external definition:\n{nm.StandardOutput}");
            addresses["_" + symbol.Name] = Convert.ToUInt64(line[..16], 16);
        }
        foreach (var import in module.Imports)
            Assert.IsTrue(nmLines.Any(l => l.Trim() == $"(undefined) external _{import} (from libSystem)"), nm.StandardOutput);

        // The export trie holds exactly the exports, at the symbol table's addresses.
        var trie = Regex.Matches(text, @"^0x([0-9A-F]+)\s+(\S+)$", RegexOptions.Multiline).ToDictionary(m => m.Groups[2].Value, m => Convert.ToUInt64(m.Groups[1].Value, 16));
        CollectionAssert.AreEquivalent(addresses.Keys.ToList(), trie.Keys.ToList(), text);
        foreach (var (name, address) in addresses)
            Assert.AreEqual(address, trie[name], name);

        // Fixups: one bind per GOT slot, one rebase per pointer stored in data.
        foreach (var import in module.Imports)
            StringAssert.Matches(text, new Regex($@"__DATA_CONST __got\s+0x[0-9A-F]+ pointer\s+0 libSystem\s+_{import}\b"));
        var rebases = Regex.Matches(text, @"^__DATA\s+__data\s+0x[0-9A-F]+\s+pointer", RegexOptions.Multiline).Count;
        Assert.AreEqual(module.Relocations.Count(r => r.Kind == RelocationKind.Absolute64), rebases, text);
    }

    /// <summary>llvm-otool -l's segments: protections, flags and section names, by segment name.</summary>
    private static Dictionary<string, (int MaxProt, int InitProt, uint Flags, List<string> Sections)> OtoolSegments(string otool)
    {
        var segments = new Dictionary<string, (int, int, uint, List<string>)>();
        foreach (Match segment in Regex.Matches(otool, @"cmd LC_SEGMENT_64\s+cmdsize \d+\s+segname (\S+)[\s\S]*?maxprot (0x[0-9a-f]+)\s+initprot (0x[0-9a-f]+)\s+nsects \d+\s+flags (0x[0-9a-f]+)"))
        {
            var name = segment.Groups[1].Value;
            var sections = Regex.Matches(otool, $@"sectname (\S+)\s+segname {Regex.Escape(name)}\s").Select(m => m.Groups[1].Value).ToList();
            segments[name] = (Convert.ToInt32(segment.Groups[2].Value, 16), Convert.ToInt32(segment.Groups[3].Value, 16), Convert.ToUInt32(segment.Groups[4].Value, 16), sections);
        }
        return segments;
    }

    [TestMethod]
    [DataRow("osx-x64")]
    [DataRow("osx-arm64")]
    public void Ld64LinksAConsumerAgainstTheDylib(string rid)
    {
        RequireTool("ld64.lld-15");
        RequireTool("llvm-mc-15");
        var target = Target(rid);
        var arm = target.Architecture == TargetArchitecture.Arm64;
        // Code our backend generated (adrp/add/ldr and bl relocations on arm64, rel32 on x86-64), calling libc through the GOT.
        var module = CompiledModule(CompiledSource, target);
        const string called = "call_labs";
        using var library = new TemporaryFile("libconsumed.dylib", MachODylibWriter.Write(module, target, "libconsumed.dylib"));
        var directory = library.Directory;
        // A libSystem text stub, as the macOS SDK ships it, so no SDK is needed.
        File.WriteAllText(Path.Combine(directory, "libSystem.tbd"), """
            --- !tapi-tbd
            tbd-version: 4
            targets: [ x86_64-macos, arm64-macos ]
            install-name: '/usr/lib/libSystem.B.dylib'
            current-version: 1311
            exports:
              - targets: [ x86_64-macos, arm64-macos ]
                symbols: [ dyld_stub_binder ]
            ...

            """);
        File.WriteAllText(Path.Combine(directory, "main.s"), arm
            ? $".globl _main\n.p2align 2\n_main:\n stp x29, x30, [sp, #-16]!\n mov x29, sp\n bl _{called}\n ldp x29, x30, [sp], #16\n ret\n"
            : $".globl _main\n_main:\n pushq %rbp\n movq $-5, %rdi\n callq _{called}\n popq %rbp\n retq\n");
        var triple = arm ? "arm64-apple-macos11" : "x86_64-apple-macos11";
        var assemble = ExternalTool.Run("llvm-mc-15", ["-triple", triple, "-filetype=obj", "main.s", "-o", "main.o"], workingDirectory: directory);
        Assert.AreEqual(0, assemble.ExitCode, assemble.ToString());
        var link = ExternalTool.Run("ld64.lld-15", ["-arch", arm ? "arm64" : "x86_64", "-platform_version", "macos", "11.0", "11.0",
            "-o", "main", "main.o", "libconsumed.dylib", "libSystem.tbd"], workingDirectory: directory);
        Assert.AreEqual(0, link.ExitCode, link.ToString());
        Assert.AreEqual("", link.StandardError.Trim(), link.ToString());
        var binds = ExternalTool.Run("llvm-objdump-15", ["--macho", "--bind", "--lazy-bind", "--dylibs-used", "main"], workingDirectory: directory);
        StringAssert.Matches(binds.StandardOutput, new Regex($@"libconsumed\s+_{called}\b"), binds.ToString());
        StringAssert.Contains(binds.StandardOutput, "@rpath/libconsumed.dylib");
    }

    [TestMethod]
    [DynamicData(nameof(Samples))]
    public void TheSignatureCoversEveryByteBeforeIt(string rid, string sample)
    {
        var bytes = MachODylibWriter.Write(Sample(rid, sample), Target(rid), $"lib{sample}.dylib");
        var problems = MachOSignatureCheck.Problems(bytes, $"lib{sample}.dylib");
        Assert.AreEqual(0, problems.Count, string.Join("\n", problems));

        // The check is real: one changed byte in the code pages is caught.
        bytes[40] ^= 1;
        CollectionAssert.Contains(MachOSignatureCheck.Problems(bytes, $"lib{sample}.dylib"), "page 0 hash does not match");
    }

    [TestMethod]
    public void OutputIsDeterministicAndTheUuidFollowsTheContent()
    {
        var target = TargetPlatform.OsxX64;
        var first = MachODylibWriter.Write(SampleObjectModules.Counter(), target, "libcounter.dylib");
        var second = MachODylibWriter.Write(SampleObjectModules.Counter(), target, "libcounter.dylib");
        CollectionAssert.AreEqual(first, second);
        var other = MachODylibWriter.Write(SampleObjectModules.TextOnly(), target, "libcounter.dylib");
        Assert.AreNotEqual(Uuid(first), Uuid(other));
        Assert.AreNotEqual(Uuid(first), Uuid(MachODylibWriter.Write(SampleObjectModules.Counter(), TargetPlatform.OsxArm64, "libcounter.dylib")));
    }

    private static string Uuid(byte[] dylib)
    {
        using var file = new TemporaryFile("libuuid.dylib", dylib);
        var otool = ExternalTool.Run("llvm-otool-15", "-l", file.Path);
        return Regex.Match(otool.StandardOutput, @"uuid (\S+)").Groups[1].Value is { Length: > 0 } uuid ? uuid : throw new AssertFailedException(otool.ToString());
    }

    [TestMethod]
    public void WriterRefusesWhatItCannotRepresent()
    {
        Assert.ThrowsExactly<ArgumentException>(() => MachODylibWriter.Write(SampleObjectModules.TextOnly(), TargetPlatform.LinuxX64, "libx.dylib"));
        Assert.ThrowsExactly<ArgumentException>(() => MachODylibWriter.Write(SampleObjectModules.TextOnly(), TargetPlatform.OsxX64, "dir/libx.dylib"));
        var module = SampleObjectModules.TextAndData();
        module.Relocations.Add(new Relocation(SectionKind.Text, 0, RelocationKind.Absolute64, SectionKind.Data, 0, 0));
        Assert.ThrowsExactly<InvalidOperationException>(() => MachODylibWriter.Write(module, TargetPlatform.OsxX64, "libx.dylib"));
        // Section alignments come from the object model and must be powers of two up to a page.
        var misaligned = SampleObjectModules.TextAndData();
        misaligned.Alignment[SectionKind.Data] = 0x10000;
        Assert.ThrowsExactly<InvalidOperationException>(() => MachODylibWriter.Write(misaligned, TargetPlatform.OsxArm64, "libx.dylib"));
    }
}
