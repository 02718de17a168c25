namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// The __LINKEDIT tables in the order ld64 and lld write them (rebase, bind, export trie, symbol
/// table, indirect symbols, strings; the code signature follows), each 8-byte aligned, starting
/// at the page-aligned <paramref name="fileOffset"/>. An empty table has offset 0, as the tools expect.
/// </summary>
internal sealed class MachOLinkedit(ulong fileOffset)
{
    public required byte[] Rebase { get; init; }
    public required byte[] Bind { get; init; }
    public required byte[] ExportTrie { get; init; }
    public required byte[] SymbolTable { get; init; }
    public required byte[] IndirectSymbols { get; init; }
    public required byte[] Strings { get; init; }

    public uint RebaseOffset { get; private set; }
    public uint BindOffset { get; private set; }
    public uint ExportOffset { get; private set; }
    public uint SymbolOffset { get; private set; }
    public uint IndirectOffset { get; private set; }
    public uint StringOffset { get; private set; }

    /// <summary>Assigns every table its file offset; returns the end of the last one.</summary>
    public ulong Place()
    {
        var cursor = fileOffset;
        uint Next(byte[] table)
        {
            if (table.Length == 0) return 0;
            cursor = MachOLayout.AlignUp(cursor, 8);
            var at = cursor;
            cursor = checked(cursor + (ulong)table.Length);
            if (cursor > uint.MaxValue / 2)
                throw new InvalidOperationException("the library is too large for a Mach-O file");
            return (uint)at;
        }
        RebaseOffset = Next(Rebase);
        BindOffset = Next(Bind);
        ExportOffset = Next(ExportTrie);
        SymbolOffset = Next(SymbolTable);
        IndirectOffset = Next(IndirectSymbols);
        StringOffset = Next(Strings);
        return cursor;
    }

    public void CopyTo(byte[] file)
    {
        Rebase.CopyTo(file, RebaseOffset);
        Bind.CopyTo(file, BindOffset);
        ExportTrie.CopyTo(file, ExportOffset);
        SymbolTable.CopyTo(file, SymbolOffset);
        IndirectSymbols.CopyTo(file, IndirectOffset);
        Strings.CopyTo(file, StringOffset);
    }
}
