namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>A pointer-sized place dyld fixes up: <paramref name="Offset"/> bytes into segment number <paramref name="Segment"/> (load command order).</summary>
internal readonly record struct MachOFixupPlace(int Segment, ulong Offset);

/// <summary>
/// The rebase and bind opcode streams of LC_DYLD_INFO_ONLY. Rebase: each place holds an address
/// of this image (as laid out at vmaddr 0) and dyld adds the slide. Bind: each place (a GOT slot)
/// receives the address of a symbol from a dylib, by ordinal. Every place is named by an explicit
/// SET_SEGMENT_AND_OFFSET, so the streams never depend on dyld's implicit address advance.
/// Both streams end with DONE and are padded to 8 bytes with zeros (DONE).
/// </summary>
internal static class MachOFixups
{
    public static byte[] Rebases(IReadOnlyList<MachOFixupPlace> places)
    {
        if (places.Count == 0) return [];
        var writer = new MachOByteWriter();
        writer.U8(MachOConstants.RebaseOpcodeSetTypeImm | MachOConstants.RebaseTypePointer);
        foreach (var place in places.OrderBy(p => p.Segment).ThenBy(p => p.Offset))
        {
            writer.U8((byte)(MachOConstants.RebaseOpcodeSetSegmentAndOffsetUleb | SegmentImmediate(place.Segment)));
            writer.Uleb(place.Offset);
            writer.U8(MachOConstants.RebaseOpcodeDoRebaseImmTimes | 1);
        }
        writer.U8(MachOConstants.RebaseOpcodeDone);
        writer.PadTo(8);
        return writer.ToArray();
    }

    /// <param name="binds">Each place with the symbol (leading underscore included) bound there from library ordinal <paramref name="libraryOrdinal"/>.</param>
    public static byte[] Binds(IReadOnlyList<(MachOFixupPlace Place, string Symbol)> binds, int libraryOrdinal)
    {
        if (binds.Count == 0) return [];
        if (libraryOrdinal is < 1 or > 15)
            throw new InvalidOperationException($"library ordinal {libraryOrdinal} does not fit the immediate form");
        var writer = new MachOByteWriter();
        writer.U8((byte)(MachOConstants.BindOpcodeSetDylibOrdinalImm | libraryOrdinal));
        writer.U8(MachOConstants.BindOpcodeSetTypeImm | MachOConstants.BindTypePointer);
        foreach (var (place, symbol) in binds)
        {
            writer.U8(MachOConstants.BindOpcodeSetSymbolTrailingFlagsImm);
            writer.CString(symbol);
            writer.U8((byte)(MachOConstants.BindOpcodeSetSegmentAndOffsetUleb | SegmentImmediate(place.Segment)));
            writer.Uleb(place.Offset);
            writer.U8(MachOConstants.BindOpcodeDoBind);
        }
        writer.U8(MachOConstants.BindOpcodeDone);
        writer.PadTo(8);
        return writer.ToArray();
    }

    private static byte SegmentImmediate(int segment) =>
        segment is >= 0 and <= 15 ? (byte)segment : throw new InvalidOperationException($"segment index {segment} does not fit a fixup opcode's immediate");
}
