using System.Globalization;
using System.Runtime.InteropServices;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>
/// The protections of a library as the process that loaded it sees them, read from
/// /proc/self/maps after dlopen: the GOT, .dynamic, the symbol table and read-only data are
/// read-only (RELRO that protects, not rounded away), read-only data is never in an executable
/// page, and no page is both writable and executable (W^X at page level).
/// </summary>
[TestClass]
public sealed class LoadedProtectionTests
{
    private const string Program = """
        (define labs (extern 'labs))
        (define greeting "hello, world")
        (define counter 41)
        (define-function magnitude (x) (labs x))
        (define-function greeting-byte (i) (string-at greeting i))
        (define-function bump () (set counter (+ counter 1)))
        """;

    private sealed record Mapping(ulong Start, ulong End, string Permissions, ulong Offset);

    private static List<Mapping> MappingsOf(string path) =>
        File.ReadAllLines("/proc/self/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].Trim() == path)
            .Select(fields =>
            {
                var range = fields[0].Split('-');
                return new Mapping(ulong.Parse(range[0], NumberStyles.HexNumber), ulong.Parse(range[1], NumberStyles.HexNumber), fields[1],
                    ulong.Parse(fields[2], NumberStyles.HexNumber));
            })
            .ToList();

    private static string PermissionsAt(List<Mapping> mappings, ulong address) =>
        mappings.SingleOrDefault(m => m.Start <= address && address < m.End)?.Permissions
        ?? throw new AssertFailedException($"0x{address:x} is not mapped from the library");

    [TestMethod]
    [DataRow(OptimisationLevel.O0)]
    [DataRow(OptimisationLevel.O1)]
    public void RelroAndWriteXorExecuteHoldInTheLoadedLibrary(OptimisationLevel level)
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("/proc/self/maps is Linux's");
        var result = MaruCompiler.Compile([new Maru.Compiler.Syntax.SourceFile("test.l", Program)], CompiledLibrary.OptionsAt(level));
        Assert.IsTrue(result.Success, string.Join("\n", result.Diagnostics));
        using var library = CompiledLibrary.Load(result);
        ElfLint.AssertStrictlyValid(library.Path);

        // It works: the GOT slot was bound, the string and the counter are where the code looks.
        Assert.AreEqual(5, library.Call("magnitude", -5));
        Assert.AreEqual('w', library.Call("greeting-byte", 7));
        Assert.AreEqual(42, library.Call("bump"));

        var mappings = MappingsOf(library.Path);
        Assert.IsNotEmpty(mappings, "the library is mapped");
        var loadBase = mappings.Where(m => m.Offset == 0).Min(m => m.Start);
        var image = new ElfImage(result.Library!);
        string At(string section, ulong delta = 0) => PermissionsAt(mappings, loadBase + image.SectionNamed(section).Address + delta);
        var report = string.Join("\n", mappings.Select(m => $"{m.Start:x}-{m.End:x} {m.Permissions} {m.Offset:x}"));

        foreach (var section in new[] { ".got", ".dynamic", ".dynsym", ".rodata" })
        {
            var size = (ulong)image.SectionNamed(section).Size;
            Assert.AreEqual("r--p", At(section), $"{section} is read-only once relocated\n{report}");
            Assert.AreEqual("r--p", At(section, size - 1), $"{section} ends read-only\n{report}");
        }
        Assert.AreEqual("r-xp", At(".text"), report);
        Assert.AreEqual("rw-p", At(".data"), report);
        var rodata = image.SectionNamed(".rodata");
        Assert.DoesNotContain('x', At(".rodata"), report);
        Assert.DoesNotContain('x', At(".rodata", (ulong)rodata.Size - 1), report);
        foreach (var mapping in mappings)
            Assert.IsFalse(mapping.Permissions.Contains('w') && mapping.Permissions.Contains('x'), $"a page is writable and executable\n{report}");

        // Only code (and zero padding) is executable: every executable page of the file holds bytes of .text or zeros.
        var text = image.SectionNamed(".text");
        foreach (var mapping in mappings.Where(m => m.Permissions.Contains('x')))
        {
            for (var offset = mapping.Offset; offset < mapping.Offset + (mapping.End - mapping.Start) && offset < (ulong)result.Library!.Length; offset++)
            {
                var inText = offset >= (ulong)text.Offset && offset < (ulong)(text.Offset + text.Size);
                if (!inText && result.Library[offset] != 0)
                    Assert.Fail($"file byte 0x{offset:x} (not code) is mapped executable\n{report}");
            }
        }
    }
}
