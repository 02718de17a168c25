namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>One entry of the program header table (a segment as the loader sees it).</summary>
internal sealed record ElfProgramHeader(
    uint Type,
    uint Flags,
    ulong Offset,
    ulong VirtualAddress,
    ulong FileSize,
    ulong MemorySize,
    ulong Alignment);
