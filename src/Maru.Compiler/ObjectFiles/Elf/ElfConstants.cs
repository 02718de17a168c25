namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// The numbers of the ELF64 format (System V gABI) this writer uses, named as in elf.h so they
/// can be looked up. Architecture-specific numbers (machine, relocation types, page size) live in
/// <see cref="ElfMachine"/> instead, so a new architecture only adds a row there.
/// </summary>
internal static class ElfConstants
{
    // e_ident
    public const byte ElfClass64 = 2;
    public const byte ElfData2Lsb = 1;
    public const byte EvCurrent = 1;
    public const byte ElfOsAbiNone = 0;
    public const int IdentSize = 16;

    // e_type
    public const ushort EtDyn = 3;

    // Record sizes of ELF64.
    public const int FileHeaderSize = 64;
    public const int ProgramHeaderSize = 56;
    public const int SectionHeaderSize = 64;
    public const int SymbolSize = 24;
    public const int RelaSize = 24;
    public const int DynamicEntrySize = 16;
    public const int HashWordSize = 4;

    // p_type
    public const uint PtLoad = 1;
    public const uint PtDynamic = 2;
    public const uint PtGnuStack = 0x6474e551;
    public const uint PtGnuRelro = 0x6474e552;

    // p_flags
    public const uint PfX = 1;
    public const uint PfW = 2;
    public const uint PfR = 4;

    // sh_type
    public const uint ShtNull = 0;
    public const uint ShtProgbits = 1;
    public const uint ShtStrtab = 3;
    public const uint ShtRela = 4;
    public const uint ShtHash = 5;
    public const uint ShtDynamic = 6;
    public const uint ShtDynsym = 11;

    // sh_flags
    public const ulong ShfWrite = 1;
    public const ulong ShfAlloc = 2;
    public const ulong ShfExecInstr = 4;

    // d_tag
    public const long DtNull = 0;
    public const long DtNeeded = 1;
    public const long DtHash = 4;
    public const long DtStrtab = 5;
    public const long DtSymtab = 6;
    public const long DtRela = 7;
    public const long DtRelasz = 8;
    public const long DtRelaent = 9;
    public const long DtStrsz = 10;
    public const long DtSyment = 11;
    public const long DtSoname = 14;
    public const long DtFlags = 30;
    public const long DtRelacount = 0x6ffffff9;
    public const long DtFlags1 = 0x6ffffffb;

    // DT_FLAGS / DT_FLAGS_1 values
    public const ulong DfBindNow = 0x8;
    public const ulong Df1Now = 0x1;

    // st_info
    public const byte StbGlobal = 1;
    public const byte SttObject = 1;
    public const byte SttFunc = 2;
    public const byte StvDefault = 0;

    // Special section indexes
    public const ushort ShnUndef = 0;
}
