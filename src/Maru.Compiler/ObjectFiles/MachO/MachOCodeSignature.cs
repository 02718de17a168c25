using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// The ad-hoc code signature (LC_CODE_SIGNATURE): an embedded-signature SuperBlob holding a
/// CodeDirectory and an empty requirements blob. The CodeDirectory (version 0x20400, flags
/// adhoc | linker-signed, SHA-256) carries one hash per 4 KiB page of the file up to the
/// signature itself (the last page unpadded) and two special slots: -1, Info.plist (none: zeros),
/// and -2, the hash of the requirements blob. Everything is big-endian. The identifier is padded
/// so the whole signature is a multiple of 16 bytes and the SuperBlob length equals its size.
/// </summary>
internal static class MachOCodeSignature
{
    private const int SuperBlobHeaderSize = 12;
    private const int BlobIndexSize = 8;
    private const int BlobCount = 2;
    private const int SpecialSlots = 2;
    private const int RequirementsSize = 12;
    private const int PageSize = 1 << MachOConstants.CsPageSizeLog2;

    private static int IdentifierFieldSize(string identifier) =>
        (Encoding.UTF8.GetByteCount(identifier) + 1 + 15) / 16 * 16;

    private static int CodeSlots(long codeLimit) => checked((int)((codeLimit + PageSize - 1) / PageSize));

    /// <summary>The signature's size for a file whose signed part (everything before the signature) is <paramref name="codeLimit"/> bytes.</summary>
    public static int Size(string identifier, long codeLimit) => checked(
        SuperBlobHeaderSize + BlobCount * BlobIndexSize
        + MachOConstants.CsCodeDirectoryHeaderSize + IdentifierFieldSize(identifier)
        + (SpecialSlots + CodeSlots(codeLimit)) * MachOConstants.CsHashSize
        + RequirementsSize);

    /// <summary>Writes the signature into <paramref name="file"/> at <paramref name="codeLimit"/>, hashing the final bytes before it.</summary>
    /// <param name="textSegmentFileSize">__TEXT's file size: the executable segment the kernel checks.</param>
    public static void Sign(Span<byte> file, int codeLimit, string identifier, ulong textSegmentFileSize)
    {
        var size = Size(identifier, codeLimit);
        if (file.Length != codeLimit + size)
            throw new InvalidOperationException("the code signature is not the last thing in the file");
        var signature = file.Slice(codeLimit, size);
        signature.Clear();
        var codeSlots = CodeSlots(codeLimit);
        var identifierBytes = Encoding.UTF8.GetBytes(identifier);
        var directoryOffset = SuperBlobHeaderSize + BlobCount * BlobIndexSize;
        var identOffset = MachOConstants.CsCodeDirectoryHeaderSize;
        var hashOffset = identOffset + IdentifierFieldSize(identifier) + SpecialSlots * MachOConstants.CsHashSize;
        var directoryLength = hashOffset + codeSlots * MachOConstants.CsHashSize;
        var requirementsOffset = directoryOffset + directoryLength;

        // SuperBlob and its index.
        U32(signature, 0, MachOConstants.CsMagicEmbeddedSignature);
        U32(signature, 4, (uint)size);
        U32(signature, 8, BlobCount);
        U32(signature, 12, MachOConstants.CsSlotCodeDirectory);
        U32(signature, 16, (uint)directoryOffset);
        U32(signature, 20, MachOConstants.CsSlotRequirements);
        U32(signature, 24, (uint)requirementsOffset);

        // The empty requirements blob: magic, length, count 0.
        var requirements = signature.Slice(requirementsOffset, RequirementsSize);
        U32(requirements, 0, MachOConstants.CsMagicRequirements);
        U32(requirements, 4, RequirementsSize);
        U32(requirements, 8, 0);

        var directory = signature.Slice(directoryOffset, directoryLength);
        U32(directory, 0, MachOConstants.CsMagicCodeDirectory);
        U32(directory, 4, (uint)directoryLength);
        U32(directory, 8, MachOConstants.CsVersionExecSegment);
        U32(directory, 12, MachOConstants.CsFlagAdhoc | MachOConstants.CsFlagLinkerSigned);
        U32(directory, 16, (uint)hashOffset);
        U32(directory, 20, (uint)identOffset);
        U32(directory, 24, SpecialSlots);
        U32(directory, 28, (uint)codeSlots);
        U32(directory, 32, (uint)codeLimit);
        directory[36] = MachOConstants.CsHashSize;
        directory[37] = MachOConstants.CsHashTypeSha256;
        directory[38] = 0; // platform
        directory[39] = MachOConstants.CsPageSizeLog2;
        // 40 spare2, 44 scatterOffset, 48 teamOffset, 52 spare3, 56 codeLimit64: all zero.
        U64(directory, 64, 0); // execSegBase: __TEXT starts the file
        U64(directory, 72, textSegmentFileSize);
        U64(directory, 80, 0); // execSegFlags: a library, not a main executable
        identifierBytes.CopyTo(directory[identOffset..]);

        // Special slot -2 (requirements) sits two hashes before slot 0; -1 (Info.plist) stays zero.
        SHA256.HashData(requirements, directory.Slice(hashOffset - 2 * MachOConstants.CsHashSize, MachOConstants.CsHashSize));
        var code = file[..codeLimit];
        for (var i = 0; i < codeSlots; i++)
        {
            var start = i * PageSize;
            var page = code.Slice(start, Math.Min(PageSize, codeLimit - start));
            SHA256.HashData(page, directory.Slice(hashOffset + i * MachOConstants.CsHashSize, MachOConstants.CsHashSize));
        }
    }

    private static void U32(Span<byte> span, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(span[offset..], value);

    private static void U64(Span<byte> span, int offset, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(span[offset..], value);
}
