using System.Text;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// The mach header and the load commands, in the order ld64 and lld write them for a dylib:
/// LC_SEGMENT_64 (each segment with its sections), LC_DYLD_INFO_ONLY, LC_SYMTAB, LC_DYSYMTAB,
/// LC_ID_DYLIB (@rpath/name), LC_UUID, LC_BUILD_VERSION (macOS, minos 11.0), LC_LOAD_DYLIB
/// (libSystem: always, since dyld refuses an image that links nothing), LC_CODE_SIGNATURE.
/// The size is known before layout (it only depends on counts and names), so the sections can be
/// placed after the commands; the UUID is written as zeros and filled in from the final bytes.
/// </summary>
internal sealed class MachOLoadCommands
{
    private readonly string _installName;
    private readonly int _segmentCount;
    private readonly int _sectionCount;

    public MachOLoadCommands(string fileName, int segmentCount, int sectionCount)
    {
        _installName = "@rpath/" + fileName;
        _segmentCount = segmentCount;
        _sectionCount = sectionCount;
        Size = checked(
            segmentCount * MachOConstants.SegmentCommandSize + sectionCount * MachOConstants.SectionHeaderSize
            + MachOConstants.DyldInfoCommandSize + MachOConstants.SymtabCommandSize + MachOConstants.DysymtabCommandSize
            + DylibCommandSize(_installName) + MachOConstants.UuidCommandSize
            + MachOConstants.BuildVersionCommandSize + MachOConstants.BuildToolSize
            + DylibCommandSize(PlatformLibraries.MacOSCLibrary) + MachOConstants.LinkeditDataCommandSize);
        UuidOffset = MachOConstants.HeaderSize + segmentCount * MachOConstants.SegmentCommandSize + sectionCount * MachOConstants.SectionHeaderSize
            + MachOConstants.DyldInfoCommandSize + MachOConstants.SymtabCommandSize + MachOConstants.DysymtabCommandSize
            + DylibCommandSize(_installName) + 8;
    }

    public int Size { get; }

    /// <summary>File offset of the 16 UUID bytes.</summary>
    public int UuidOffset { get; }

    private const int CommandCountBeyondSegments = 8;

    private static int DylibCommandSize(string name) => MachOConstants.DylibCommandHeaderSize + (Encoding.UTF8.GetByteCount(name) + 1 + 7) / 8 * 8;

    public byte[] Write(MachOArchitecture architecture, IReadOnlyList<MachOSegment> segments, MachOLinkedit linkedit, MachOSymbolTable symbols,
        uint signatureOffset, uint signatureSize)
    {
        if (segments.Count != _segmentCount || segments.Sum(s => s.Sections.Count) != _sectionCount)
            throw new InvalidOperationException("the segments changed after the load commands were sized");
        var w = new MachOByteWriter();
        w.U32(MachOConstants.Magic64);
        w.U32(architecture.CpuType);
        w.U32(architecture.CpuSubtype);
        w.U32(MachOConstants.FileTypeDylib);
        w.U32((uint)(_segmentCount + CommandCountBeyondSegments));
        w.U32((uint)Size);
        w.U32(MachOConstants.FlagNoUndefs | MachOConstants.FlagDyldLink | MachOConstants.FlagTwoLevel | MachOConstants.FlagNoReexportedDylibs);
        w.U32(0); // reserved

        foreach (var segment in segments)
        {
            w.U32(MachOConstants.LcSegment64);
            w.U32((uint)(MachOConstants.SegmentCommandSize + segment.Sections.Count * MachOConstants.SectionHeaderSize));
            w.Name16(segment.Name);
            w.U64(segment.Address);
            w.U64(segment.VmSize);
            w.U64(segment.FileOffset);
            w.U64(segment.FileSize);
            w.U32((uint)segment.Protection); // maxprot
            w.U32((uint)segment.Protection); // initprot
            w.U32((uint)segment.Sections.Count);
            w.U32(segment.Flags);
            foreach (var section in segment.Sections)
            {
                w.Name16(section.Name);
                w.Name16(section.SegmentName);
                w.U64(section.Address);
                w.U64((ulong)section.Contents.Length);
                w.U32(checked((uint)section.FileOffset));
                w.U32((uint)section.AlignmentLog2);
                w.U32(0); // reloff: a linked image has no relocation entries
                w.U32(0); // nreloc
                w.U32(section.Flags);
                w.U32(section.Reserved1);
                w.U32(0); // reserved2
                w.U32(0); // reserved3
            }
        }

        w.U32(MachOConstants.LcDyldInfoOnly);
        w.U32(MachOConstants.DyldInfoCommandSize);
        w.U32(linkedit.RebaseOffset);
        w.U32((uint)linkedit.Rebase.Length);
        w.U32(linkedit.BindOffset);
        w.U32((uint)linkedit.Bind.Length);
        w.U32(0); // weak bind
        w.U32(0);
        w.U32(0); // lazy bind: every import is bound at load time
        w.U32(0);
        w.U32(linkedit.ExportOffset);
        w.U32((uint)linkedit.ExportTrie.Length);

        w.U32(MachOConstants.LcSymtab);
        w.U32(MachOConstants.SymtabCommandSize);
        w.U32(symbols.Count == 0 ? 0 : linkedit.SymbolOffset);
        w.U32((uint)symbols.Count);
        w.U32(linkedit.StringOffset);
        w.U32((uint)linkedit.Strings.Length);

        w.U32(MachOConstants.LcDysymtab);
        w.U32(MachOConstants.DysymtabCommandSize);
        w.U32(0);
        w.U32((uint)symbols.LocalCount);
        w.U32((uint)symbols.LocalCount);
        w.U32((uint)symbols.ExternalCount);
        w.U32((uint)(symbols.LocalCount + symbols.ExternalCount));
        w.U32((uint)symbols.UndefinedCount);
        for (var i = 0; i < 6; i++) w.U32(0); // tocoff, ntoc, modtaboff, nmodtab, extrefsymoff, nextrefsyms
        w.U32(linkedit.IndirectOffset);
        w.U32((uint)(linkedit.IndirectSymbols.Length / 4));
        for (var i = 0; i < 4; i++) w.U32(0); // extreloff, nextrel, locreloff, nlocrel

        // Timestamps 1 and 2 and versions 1.0.0 are what ld64 records; nothing reads them.
        Dylib(w, MachOConstants.LcIdDylib, _installName, 1, MachOConstants.Version1, MachOConstants.Version1);

        w.U32(MachOConstants.LcUuid);
        w.U32(MachOConstants.UuidCommandSize);
        if (w.Length != UuidOffset) throw new InvalidOperationException("LC_UUID is not where it was planned");
        w.Bytes(new byte[16]);

        w.U32(MachOConstants.LcBuildVersion);
        w.U32(MachOConstants.BuildVersionCommandSize + MachOConstants.BuildToolSize);
        w.U32(MachOConstants.PlatformMacOS);
        w.U32(MachOConstants.MinimumMacOS);
        w.U32(MachOConstants.MinimumMacOS); // sdk
        w.U32(1);
        w.U32(MachOConstants.ToolLd);
        w.U32(MachOConstants.Version1);

        Dylib(w, MachOConstants.LcLoadDylib, PlatformLibraries.MacOSCLibrary, 2, MachOConstants.LibSystemCurrentVersion, MachOConstants.Version1);

        w.U32(MachOConstants.LcCodeSignature);
        w.U32(MachOConstants.LinkeditDataCommandSize);
        w.U32(signatureOffset);
        w.U32(signatureSize);

        if (w.Length != MachOConstants.HeaderSize + Size)
            throw new InvalidOperationException($"the load commands are {w.Length - MachOConstants.HeaderSize} bytes, {Size} were planned");
        return w.ToArray();
    }

    private static void Dylib(MachOByteWriter w, uint command, string name, uint timestamp, uint current, uint compatibility)
    {
        var size = DylibCommandSize(name);
        var start = w.Length;
        w.U32(command);
        w.U32((uint)size);
        w.U32(MachOConstants.DylibCommandHeaderSize); // name offset
        w.U32(timestamp);
        w.U32(current);
        w.U32(compatibility);
        w.CString(name);
        while (w.Length - start < size) w.U8(0);
    }
}
