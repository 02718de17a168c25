namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>One Elf64_Rela entry of .rela.dyn, applied by the loader.</summary>
internal sealed record ElfDynamicRelocation(ulong Offset, uint Type, uint Symbol, long Addend)
{
    public ulong Info => ((ulong)Symbol << 32) | Type;
}
