using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.ObjectFiles.Elf;
using Maru.Compiler.Targets;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>
/// Imports: functions of the C library reached through GOT slots that the loader binds
/// (GLOB_DAT), called without a PLT, and what readelf and eu-elflint see of them.
/// </summary>
public sealed partial class ElfWriterTests
{
    // ---- Calling imports ----

    [TestMethod]
    public unsafe void ImportIsCalledThroughItsGotSlot()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.CallsLibc(), "libimports_labs.so");
        var callLabs = (delegate* unmanaged<long, long>)library.Export("call_labs");

        Assert.AreEqual(5L, callLabs(-5));
        Assert.AreEqual(7L, callLabs(7));
        Assert.AreEqual(long.MaxValue, callLabs(long.MinValue + 1));
    }

    [TestMethod]
    public unsafe void GotSlotHoldsTheAddressTheCLibraryExports()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.CallsLibc(), "libimports_slot.so");
        var libc = NativeLibrary.Load("libc.so.6");
        try
        {
            var slot = ((delegate* unmanaged<IntPtr>)library.Export("get_strlen_address"))();

            Assert.AreNotEqual(IntPtr.Zero, slot, "the loader left the GOT slot empty");
            Assert.AreEqual(NativeLibrary.GetExport(libc, "strlen"), slot);
        }
        finally
        {
            NativeLibrary.Free(libc);
        }
    }

    [TestMethod]
    public unsafe void ImportReceivesAPointerIntoReadOnlyData()
    {
        RequireLinuxX64Host();
        using var library = Load(SampleObjectModules.CallsLibc(), "libimports_strlen.so");

        Assert.AreEqual((long)SampleObjectModules.Greeting.Length, ((delegate* unmanaged<long>)library.Export("greeting_length"))());
        Assert.AreEqual(SampleObjectModules.Greeting, Marshal.PtrToStringAnsi(library.Export("greeting")));
        Assert.AreEqual(library.Export("greeting"), Marshal.ReadIntPtr(library.Export("greeting_ptr")), "the RELATIVE relocation next to the GLOB_DATs was not applied");
    }

    // ---- Independent validation ----

    [TestMethod]
    [DataRow("x64")]
    [DataRow("arm64")]
    public void ElfLintStrictAcceptsLibrariesWithImports(string architecture)
    {
        var (module, target) = architecture == "arm64"
            ? (DataOnlyImporting("labs", "strlen"), TargetPlatform.LinuxArm64)
            : (SampleObjectModules.CallsLibc(), TargetPlatform.LinuxX64);
        using var file = new TemporaryFile("libimports.so", ElfSharedLibraryWriter.Write(module, target, "libimports.so"));

        ElfLint.AssertStrictlyValid(file.Path);
    }

    [TestMethod]
    public void CLibraryIsTheFirstAndOnlyNeededLibrary()
    {
        using var file = WriteCallsLibc();
        var dynamic = RunTool("readelf", "binutils", "-dW", file.Path);
        Assert.AreEqual(0, dynamic.ExitCode, dynamic.ToString());
        var text = dynamic.StandardOutput;

        var tags = Regex.Matches(text, @"^\s*0x[0-9a-f]+\s+\((\w+)\)\s+(.*)$", RegexOptions.Multiline).Select(m => (Tag: m.Groups[1].Value, Value: m.Groups[2].Value.Trim())).ToList();
        Assert.AreEqual(("NEEDED", "Shared library: [libc.so.6]"), tags[0], text);
        Assert.AreEqual(1, tags.Count(t => t.Tag == "NEEDED"), text);
        Assert.AreEqual(("RELACOUNT", "1"), tags.Single(t => t.Tag == "RELACOUNT"), text);
        Assert.DoesNotContain("TEXTREL", text);
        Assert.MatchesRegex(@"\(FLAGS\)\s+BIND_NOW", text);
    }

    [TestMethod]
    public void GotSlotsAreBoundByGlobDatAfterTheRelativeRelocations()
    {
        using var file = WriteCallsLibc();
        var output = RunTool("readelf", "binutils", "-rSW", file.Path).StandardOutput;

        var types = Regex.Matches(output, @"^[0-9a-f]{16}\s+[0-9a-f]{16}\s+(R_X86_64_\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        CollectionAssert.AreEqual(new[] { "R_X86_64_RELATIVE", "R_X86_64_GLOB_DAT", "R_X86_64_GLOB_DAT" }, types, output);

        var got = SectionAddress(output, ".got");
        var bindings = Regex.Matches(output, @"^([0-9a-f]{16})\s+[0-9a-f]{16}\s+R_X86_64_GLOB_DAT\s+0{16}\s+(\w+)\s+\+\s+0$", RegexOptions.Multiline)
            .Select(m => (Slot: Convert.ToUInt64(m.Groups[1].Value, 16), Name: m.Groups[2].Value))
            .ToArray();
        CollectionAssert.AreEqual(new[] { (got, "labs"), (got + 8, "strlen") }, bindings, output);
    }

    [TestMethod]
    public void ImportsAreUndefinedUnversionedFunctionsBeforeTheExports()
    {
        using var file = WriteCallsLibc();
        var symbols = RunTool("readelf", "binutils", "--dyn-syms", "-W", file.Path);
        Assert.AreEqual(0, symbols.ExitCode, symbols.ToString());
        var text = symbols.StandardOutput;

        Assert.MatchesRegex(new Regex(@"^\s+1:\s+0{16}\s+0\s+FUNC\s+GLOBAL\s+DEFAULT\s+UND\s+labs$", RegexOptions.Multiline), text);
        Assert.MatchesRegex(new Regex(@"^\s+2:\s+0{16}\s+0\s+FUNC\s+GLOBAL\s+DEFAULT\s+UND\s+strlen$", RegexOptions.Multiline), text);
        Assert.AreEqual(2, Regex.Matches(text, @"UND[ \t]+\S").Count, text);
        foreach (var name in new[] { "call_labs", "get_strlen_address", "greeting_length", "greeting", "greeting_ptr" })
            Assert.MatchesRegex(new Regex($@"^\s+([3-9]|\d\d+):.*\sGLOBAL\s+DEFAULT\s+\d+\s+{name}$", RegexOptions.Multiline), text);
        Assert.DoesNotContain("@", text);
    }

    [TestMethod]
    public void GotFollowsDynamicAndRelroCoversEverythingBeforeTheCode()
    {
        using var file = WriteCallsLibc();
        var output = RunTool("readelf", "binutils", "-lSW", file.Path).StandardOutput;

        var names = Regex.Matches(output, @"^\s*\[\s*\d+\]\s+(\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        CollectionAssert.AreEqual(
            new[] { "NULL", ".hash", ".dynsym", ".dynstr", ".rela.dyn", ".rodata", ".dynamic", ".got", ".text", ".data", ".shstrtab" },
            names,
            output);
        // [Nr] Name Type Address Off Size ES Flg Lk Inf Al
        Assert.MatchesRegex(new Regex(@"\]\s+\.got\s+PROGBITS\s+[0-9a-f]+\s+[0-9a-f]+\s+0+10\s+08\s+WA\s+0\s+0\s+8$", RegexOptions.Multiline), output);

        var relro = SegmentSections(output, "GNU_RELRO");
        // Everything before the code, headers included: read-only once relocated.
        CollectionAssert.AreEqual(new[] { ".hash", ".dynsym", ".dynstr", ".rela.dyn", ".rodata", ".dynamic", ".got" }, relro, output);
        var writable = SegmentSections(output, "LOAD"); // the last PT_LOAD: RW data on pages of its own, after the RELRO segment
        CollectionAssert.AreEqual(new[] { ".data" }, writable, output);
    }

    [TestMethod]
    public void Arm64BindsGotSlotsWithItsGlobDatType()
    {
        using var file = new TemporaryFile("libarm.so", ElfSharedLibraryWriter.Write(DataOnlyImporting("labs"), TargetPlatform.LinuxArm64, "libarm.so"));
        var output = RunTool("readelf", "binutils", "-drW", file.Path).StandardOutput;

        Assert.MatchesRegex(@"R_AARCH64_GLOB_DAT\s+0{16}\s+labs \+ 0", output);
        Assert.Contains("Shared library: [libc.so.6]", output);
    }

    [TestMethod]
    public void LibraryWithoutImportsNeedsNothingAndHasNoGot()
    {
        using var file = WriteCounter();
        var output = RunTool("readelf", "binutils", "-dSrW", "--dyn-syms", file.Path).StandardOutput;

        Assert.DoesNotContain("(NEEDED)", output);
        Assert.DoesNotContain(".got", output);
        Assert.DoesNotContain("GLOB_DAT", output);
        Assert.DoesNotMatchRegex(@"UND[ \t]+\S", output, "an undefined symbol other than the null entry");
    }

    [TestMethod]
    public void NeededLibraryComesFromTheTargetOperatingSystem()
    {
        Assert.AreEqual("libc.so.6", PlatformLibraries.CLibrary(TargetPlatform.LinuxX64));
        Assert.AreEqual("libc.so.6", PlatformLibraries.CLibrary(TargetPlatform.LinuxArm64));
        Assert.AreEqual("/usr/lib/libSystem.B.dylib", PlatformLibraries.CLibrary(TargetPlatform.OsxArm64));
        Assert.AreEqual("/usr/lib/libSystem.B.dylib", PlatformLibraries.CLibrary(TargetPlatform.OsxX64));
    }

    // ---- Determinism and input checking ----

    [TestMethod]
    public void ModuleWithImportsGivesIdenticalBytes()
    {
        var first = ElfSharedLibraryWriter.Write(SampleObjectModules.CallsLibc(), TargetPlatform.LinuxX64, "libimports.so");
        var second = ElfSharedLibraryWriter.Write(SampleObjectModules.CallsLibc(), TargetPlatform.LinuxX64, "libimports.so");

        CollectionAssert.AreEqual(first, second);
    }

    [TestMethod]
    public void ImportOrderDecidesSlotsAndSymbols()
    {
        var reordered = DataOnlyImporting("strlen", "labs");
        using var file = new TemporaryFile("libreordered.so", ElfSharedLibraryWriter.Write(reordered, TargetPlatform.LinuxX64, "libreordered.so"));
        var output = RunTool("readelf", "binutils", "-rW", "--dyn-syms", file.Path).StandardOutput;

        var bound = Regex.Matches(output, @"R_X86_64_GLOB_DAT\s+0{16}\s+(\w+)").Select(m => m.Groups[1].Value).ToArray();
        CollectionAssert.AreEqual(new[] { "strlen", "labs" }, bound, output);
        Assert.MatchesRegex(new Regex(@"^\s+1:.*UND\s+strlen$", RegexOptions.Multiline), output);
    }

    [TestMethod]
    public void MalformedImportsAreRejected()
    {
        static ObjectModule With(Action<ObjectModule> change)
        {
            var module = SampleObjectModules.CallsLibc();
            change(module);
            return module;
        }

        static Relocation ToSlot(long targetOffset) => new(SectionKind.Text, 0, RelocationKind.PcRelative32, SectionKind.Got, targetOffset, -4);

        var malformed = new Dictionary<string, ObjectModule>
        {
            ["Got target past the last slot"] = With(m => m.Relocations.Add(ToSlot(8 * m.Imports.Count))),
            ["Got target before the first slot"] = With(m => m.Relocations.Add(ToSlot(-8))),
            ["Got target inside a slot"] = With(m => m.Relocations.Add(ToSlot(4))),
            ["Got target without imports"] = WithRelocation(SampleObjectModules.TextOnly(), ToSlot(0)),
            ["duplicate import"] = With(m => m.Imports.Add("labs")),
            ["empty import name"] = With(m => m.Imports.Add("")),
            ["import that is also an export"] = With(m => m.Imports.Add("call_labs")),
            ["symbol in the GOT"] = With(m => m.Symbols.Add(new ObjectSymbol("slot", SymbolKind.Object, SectionKind.Got, 0, 8, IsExported: true))),
            ["relocation placed in the GOT"] = With(m => m.Relocations.Add(new Relocation(SectionKind.Got, 0, RelocationKind.Absolute64, SectionKind.Data, 0, 0))),
        };

        foreach (var (description, module) in malformed)
            Assert.ThrowsExactly<InvalidOperationException>(() => ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libx.so"), description);
    }

    [TestMethod]
    public void EveryGotSlotMayBeReferenced()
    {
        var module = SampleObjectModules.CallsLibc();
        module.Relocations.Add(new Relocation(SectionKind.Text, 0, RelocationKind.PcRelative32, SectionKind.Got, 8 * (module.Imports.Count - 1), -4));
        module.Relocations.Add(new Relocation(SectionKind.Data, 0, RelocationKind.Absolute64, SectionKind.Got, 0, 0));

        Assert.IsNotEmpty(ElfSharedLibraryWriter.Write(module, TargetPlatform.LinuxX64, "libx.so"));
    }

    // ---- Helpers ----

    private static TemporaryFile WriteCallsLibc() =>
        new("libimports.so", ElfSharedLibraryWriter.Write(SampleObjectModules.CallsLibc(), TargetPlatform.LinuxX64, "libimports.so"));

    /// <summary>The architecture-neutral data-only sample plus imports nothing refers to yet.</summary>
    private static ObjectModule DataOnlyImporting(params string[] imports)
    {
        var module = SampleObjectModules.DataOnly();
        module.Imports.AddRange(imports);
        return module;
    }

    private static ObjectModule WithRelocation(ObjectModule module, Relocation relocation)
    {
        module.Relocations.Add(relocation);
        return module;
    }

    /// <summary>sh_addr of a section in `readelf -SW` output.</summary>
    private static ulong SectionAddress(string readelfOutput, string name)
    {
        var match = Regex.Match(readelfOutput, $@"\]\s+{Regex.Escape(name)}\s+\S+\s+([0-9a-f]+)\s");
        Assert.IsTrue(match.Success, $"no section {name} in:\n{readelfOutput}");
        return Convert.ToUInt64(match.Groups[1].Value, 16);
    }

    /// <summary>
    /// The sections readelf -lW maps to each program header of <paramref name="type"/>: program
    /// headers are numbered in order, and the "Section to Segment mapping" lists them by number.
    /// </summary>
    private static string[] SegmentSections(string readelfOutput, string type)
    {
        var headers = readelfOutput[readelfOutput.IndexOf("Program Headers:", StringComparison.Ordinal)..]
            .Split('\n')
            .Skip(2)
            .TakeWhile(line => line.Trim().Length > 0)
            .Where(line => !line.TrimStart().StartsWith('['))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])
            .ToList();
        var mapping = Regex.Matches(
                readelfOutput[readelfOutput.IndexOf("Section to Segment mapping:", StringComparison.Ordinal)..],
                @"^\s+(\d\d)\s*(.*)$",
                RegexOptions.Multiline)
            .ToDictionary(m => int.Parse(m.Groups[1].Value), m => m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var index = headers.LastIndexOf(type);
        Assert.IsGreaterThanOrEqualTo(0, index, $"no {type} program header in:\n{readelfOutput}");
        return mapping[index];
    }
}
