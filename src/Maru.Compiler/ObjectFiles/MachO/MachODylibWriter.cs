using System.Buffers.Binary;
using System.Security.Cryptography;
using Maru.Compiler.ObjectFiles.Elf;
using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// Writes an <see cref="ObjectModule"/> as a Mach-O dynamic library (MH_DYLIB) that dyld loads:
/// no assembler, no linker, no codesign. Model -> layout -> bytes:
/// validate the module; build the sections (__TEXT,__text; __DATA_CONST,__got, one slot per
/// import, and __DATA_CONST,__const; __DATA,__data); place the segments (<see cref="MachOLayout"/>); resolve the
/// relocations (PC-relative ones are patched, pointers in data become rebases, GOT slots binds);
/// build __LINKEDIT (rebase and bind opcodes, export trie, symbol table, indirect symbols,
/// strings); write header and load commands in the order ld64 and lld use; derive LC_UUID from
/// the bytes; sign ad hoc over the final bytes (<see cref="MachOCodeSignature"/>), last.
/// Fixups use LC_DYLD_INFO_ONLY (not chained fixups), so the minimum OS is macOS 11.0, the
/// first release for arm64 Macs, on both architectures.
/// The output depends only on the module, the target and the file name.
/// </summary>
public static class MachODylibWriter
{
    private const ulong GotEntrySize = 8;
    private const int LibSystemOrdinal = 1;

    /// <param name="module">Code, data, symbols and relocations from a backend.</param>
    /// <param name="target">A Mach-O target; its architecture picks CPU type and page size.</param>
    /// <param name="fileName">The library's file name (libfoo.dylib): the install name is @rpath/fileName, the signature's identifier fileName.</param>
    /// <exception cref="InvalidOperationException">The module is malformed or cannot be laid out: a compiler bug.</exception>
    public static byte[] Write(ObjectModule module, TargetPlatform target, string fileName)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        if (target.ObjectFormat != ObjectFormat.MachO)
            throw new ArgumentException($"target '{target}' does not use Mach-O", nameof(target));
        if (fileName.Contains('/') || fileName.Contains('\0'))
            throw new ArgumentException($"'{fileName}' is not a bare file name", nameof(fileName));

        var architecture = MachOArchitecture.For(target.Architecture);
        ObjectModuleValidator.Validate(module); // the format-neutral checks on the object model
        var imports = module.Imports;

        // Sections. __text is always present (possibly empty) so the image always has code to sign.
        // Each section's alignment is the one the backend asked for in the object model.
        int AlignmentLog2(SectionKind kind) => AlignmentExponent(module.AlignmentOf(kind), kind);
        var text = new MachOSection("__TEXT", "__text", MachOConstants.SectionRegular | MachOConstants.SectionPureInstructions | MachOConstants.SectionSomeInstructions,
            AlignmentLog2(SectionKind.Text), module.Text.ToArray());
        var constants = module.ReadOnlyData.Count == 0 ? null : new MachOSection("__DATA_CONST", "__const", MachOConstants.SectionRegular, AlignmentLog2(SectionKind.ReadOnlyData), module.ReadOnlyData.ToArray());
        var got = imports.Count == 0 ? null : new MachOSection("__DATA_CONST", "__got", MachOConstants.SectionNonLazySymbolPointers, AlignmentLog2(SectionKind.Got), new byte[checked(imports.Count * (int)GotEntrySize)]) { Reserved1 = 0 };
        var data = module.Data.Count == 0 ? null : new MachOSection("__DATA", "__data", MachOConstants.SectionRegular, AlignmentLog2(SectionKind.Data), module.Data.ToArray());

        // Page protections (W^X, read-only after fixups): __TEXT holds the header and code only;
        // everything read-only at run time (the GOT, bound once; constants and string literals)
        // is in __DATA_CONST, writable only while dyld applies fixups (SG_READ_ONLY), never
        // executable; __DATA holds only what the program writes.
        var segments = new List<MachOSegment>
        {
            new("__TEXT", MachOConstants.ProtRead | MachOConstants.ProtExecute, 0, [text]),
        };
        if (got is not null || constants is not null)
            segments.Add(new MachOSegment("__DATA_CONST", MachOConstants.ProtRead | MachOConstants.ProtWrite, MachOConstants.SegmentReadOnly, Present(got, constants)));
        if (data is not null)
            segments.Add(new MachOSegment("__DATA", MachOConstants.ProtRead | MachOConstants.ProtWrite, 0, [data]));
        var sections = segments.SelectMany(s => s.Sections).ToList();
        for (var i = 0; i < sections.Count; i++)
            sections[i].Ordinal = i + 1;

        var commands = new MachOLoadCommands(fileName, segments.Count + 1, sections.Count);
        var linkeditOffset = MachOLayout.PlaceSegments(segments, (ulong)(MachOConstants.HeaderSize + commands.Size), architecture.PageSize);

        MachOSection SectionFor(SectionKind kind) => kind switch
        {
            SectionKind.Text => text,
            SectionKind.ReadOnlyData => constants,
            SectionKind.Got => got,
            _ => data,
        } ?? throw new InvalidOperationException($"the {kind} section is empty but referenced");
        MachOSegment SegmentOf(MachOSection section) => segments.First(s => s.Sections.Contains(section));

        var rebases = ApplyRelocations(module, SectionFor, SegmentOf);
        var binds = new List<(MachOFixupPlace, string)>();
        if (got is not null)
        {
            var gotSegment = SegmentOf(got);
            for (var i = 0; i < imports.Count; i++)
                binds.Add((new MachOFixupPlace(gotSegment.Index, got.Address - gotSegment.Address + (ulong)i * GotEntrySize), "_" + imports[i]));
        }

        // __LINKEDIT: rebase, bind, exports, symbols, indirect symbols, strings, then the signature.
        var symbols = MachOSymbolTable.Build(module, s => SectionFor(s));
        var exportTrie = MachOExportTrie.Build(module.Symbols.Where(s => s.IsExported)
            .Select(s => ("_" + s.Name, SectionFor(s.Section).Address + (ulong)s.Offset)).ToList());
        var linkedit = new MachOLinkedit(linkeditOffset)
        {
            Rebase = MachOFixups.Rebases(rebases),
            Bind = MachOFixups.Binds(binds, LibSystemOrdinal),
            ExportTrie = exportTrie,
            SymbolTable = symbols.Entries,
            IndirectSymbols = symbols.IndirectSymbols,
            Strings = symbols.Strings,
        };
        var codeLimit = linkedit.Place();
        var signatureOffset = checked((int)MachOLayout.AlignUp(codeLimit, 16)); // every offset field is 32-bit and the file one array
        var signatureSize = MachOCodeSignature.Size(fileName, signatureOffset);
        var fileSize = checked(signatureOffset + signatureSize);
        var linkeditSegment = new MachOSegment("__LINKEDIT", MachOConstants.ProtRead, 0, [])
        {
            Index = segments.Count,
            FileOffset = linkeditOffset,
            Address = linkeditOffset,
            FileSize = (ulong)fileSize - linkeditOffset,
            VmSize = MachOLayout.AlignUp((ulong)fileSize - linkeditOffset, architecture.PageSize),
        };
        segments.Add(linkeditSegment);

        var file = new byte[fileSize];
        var header = commands.Write(architecture, segments, linkedit, symbols, (uint)signatureOffset, (uint)signatureSize);
        header.CopyTo(file, 0);
        foreach (var section in sections)
            section.Contents.CopyTo(file, (int)section.FileOffset);
        linkedit.CopyTo(file);

        // LC_UUID: a hash of every byte before the signature (the UUID field still zero), shaped
        // as an RFC 4122 name-based UUID. Same inputs, same UUID; different code, different UUID.
        var hash = SHA256.HashData(file.AsSpan(0, signatureOffset));
        hash[6] = (byte)((hash[6] & 0x0f) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3f) | 0x80);
        hash.AsSpan(0, 16).CopyTo(file.AsSpan(commands.UuidOffset));

        MachOCodeSignature.Sign(file, signatureOffset, fileName, segments[0].FileSize);
        return file;
    }

    /// <summary>
    /// Resolves the module's relocations at final addresses through the shared
    /// <see cref="RelocationPatcher"/> (place-relative fields patched, absolute pointers stored
    /// unslid); each absolute pointer becomes a rebase (dyld adds the slide). Returns the rebase places.
    /// </summary>
    private static List<MachOFixupPlace> ApplyRelocations(ObjectModule module, Func<SectionKind, MachOSection> sectionFor, Func<MachOSection, MachOSegment> segmentOf)
    {
        var rebases = new List<MachOFixupPlace>();
        foreach (var fixup in RelocationPatcher.Apply(module, kind => sectionFor(kind).Address, kind => sectionFor(kind).Contents))
        {
            var segment = segmentOf(sectionFor(fixup.Section));
            if ((segment.Protection & MachOConstants.ProtWrite) == 0)
                throw new InvalidOperationException($"a pointer at {fixup.Section}+{fixup.Offset} needs a rebase but its segment {segment.Name} is not writable");
            if (fixup.Address % 8 != 0)
                throw new InvalidOperationException($"a pointer at {fixup.Section}+{fixup.Offset} is not 8-byte aligned");
            rebases.Add(new MachOFixupPlace(segment.Index, fixup.Address - segment.Address));
        }
        return rebases;
    }

    /// <summary>log2 of a section alignment: a power of two from 1 byte to a 16 KiB page.</summary>
    private static int AlignmentExponent(int alignment, SectionKind kind) =>
        alignment is >= 1 and <= 0x4000 && (alignment & (alignment - 1)) == 0
            ? System.Numerics.BitOperations.Log2((uint)alignment)
            : throw new InvalidOperationException($"the {kind} section's alignment {alignment} is not a power of two up to 16 KiB");

    private static MachOSection[] Present(params MachOSection?[] sections) => sections.OfType<MachOSection>().ToArray();
}
