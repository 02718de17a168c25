namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>The numbers of the Mach-O format (mach-o/loader.h, nlist.h, codesign) that the writer uses.</summary>
internal static class MachOConstants
{
    public const uint Magic64 = 0xfeedfacf;
    public const uint FileTypeDylib = 6; // MH_DYLIB

    // Header flags: no undefined references left unresolved to a dylib, dyld-linked, two-level
    // namespace (every import names its library ordinal), re-exports nothing.
    public const uint FlagNoUndefs = 0x1;
    public const uint FlagDyldLink = 0x4;
    public const uint FlagTwoLevel = 0x80;
    public const uint FlagNoReexportedDylibs = 0x100000;

    public const int HeaderSize = 32;

    // Load commands.
    public const uint LcSegment64 = 0x19;
    public const uint LcSymtab = 0x2;
    public const uint LcDysymtab = 0xb;
    public const uint LcIdDylib = 0xd;
    public const uint LcLoadDylib = 0xc;
    public const uint LcUuid = 0x1b;
    public const uint LcCodeSignature = 0x1d;
    public const uint LcDyldInfoOnly = 0x80000022;
    public const uint LcBuildVersion = 0x32;

    public const int SegmentCommandSize = 72;
    public const int SectionHeaderSize = 80;
    public const int DyldInfoCommandSize = 48;
    public const int SymtabCommandSize = 24;
    public const int DysymtabCommandSize = 80;
    public const int DylibCommandHeaderSize = 24;
    public const int UuidCommandSize = 24;
    public const int BuildVersionCommandSize = 24;
    public const int BuildToolSize = 8;
    public const int LinkeditDataCommandSize = 16;

    // Segment protections and flags.
    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int ProtExecute = 4;
    /// <summary>SG_READ_ONLY: dyld makes the segment read-only once its fixups are applied.</summary>
    public const uint SegmentReadOnly = 0x10;

    // Section types and attributes.
    public const uint SectionRegular = 0x0;
    public const uint SectionNonLazySymbolPointers = 0x6;
    public const uint SectionPureInstructions = 0x80000000;
    public const uint SectionSomeInstructions = 0x400;

    // nlist_64.
    public const int NlistSize = 16;
    public const byte NTypeUndefined = 0x0;
    public const byte NTypeSection = 0xe;
    public const byte NExternal = 0x1;

    // LC_BUILD_VERSION.
    public const uint PlatformMacOS = 1;
    public const uint ToolLd = 3;

    // Rebase and bind opcodes (LC_DYLD_INFO_ONLY).
    public const byte RebaseTypePointer = 1;
    public const byte RebaseOpcodeDone = 0x00;
    public const byte RebaseOpcodeSetTypeImm = 0x10;
    public const byte RebaseOpcodeSetSegmentAndOffsetUleb = 0x20;
    public const byte RebaseOpcodeDoRebaseImmTimes = 0x50;
    public const byte BindTypePointer = 1;
    public const byte BindOpcodeDone = 0x00;
    public const byte BindOpcodeSetDylibOrdinalImm = 0x10;
    public const byte BindOpcodeSetSymbolTrailingFlagsImm = 0x40;
    public const byte BindOpcodeSetTypeImm = 0x50;
    public const byte BindOpcodeSetSegmentAndOffsetUleb = 0x70;
    public const byte BindOpcodeDoBind = 0x90;

    // Code signature (all big-endian on disk).
    public const uint CsMagicEmbeddedSignature = 0xfade0cc0;
    public const uint CsMagicCodeDirectory = 0xfade0c02;
    public const uint CsMagicRequirements = 0xfade0c01;
    public const uint CsSlotCodeDirectory = 0;
    public const uint CsSlotRequirements = 2;
    /// <summary>CodeDirectory version with the executable-segment fields (CS_SUPPORTSEXECSEG).</summary>
    public const uint CsVersionExecSegment = 0x20400;
    public const uint CsFlagAdhoc = 0x2;
    public const uint CsFlagLinkerSigned = 0x20000;
    public const byte CsHashTypeSha256 = 2;
    public const int CsHashSize = 32;
    /// <summary>Signature pages are 4 KiB (log2 12) on every architecture, 16 KiB-page arm64 included.</summary>
    public const int CsPageSizeLog2 = 12;
    public const int CsCodeDirectoryHeaderSize = 88;

    /// <summary>macOS 11.0, the first release on arm64 Macs: the minimum OS of every library we write.</summary>
    public const uint MinimumMacOS = 11 << 16;

    /// <summary>libSystem's current version recorded in LC_LOAD_DYLIB (1311.0.0), as ld64 records it for macOS 11 SDKs.</summary>
    public const uint LibSystemCurrentVersion = 1311u << 16;
    public const uint Version1 = 1u << 16;
}
