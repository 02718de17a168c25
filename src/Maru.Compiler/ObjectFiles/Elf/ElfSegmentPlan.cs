namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>A PT_LOAD to be laid out: its permissions and the sections it holds, in address order.</summary>
internal sealed record ElfSegmentPlan(uint Flags, IReadOnlyList<ElfSection> Sections);
