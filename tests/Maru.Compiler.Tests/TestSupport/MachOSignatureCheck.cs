using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Checks a Mach-O file's ad-hoc code signature from the raw bytes, independently of the writer:
/// finds LC_CODE_SIGNATURE and __TEXT by walking the load commands, then checks every field of
/// the SuperBlob, the CodeDirectory and the requirements blob, and recomputes every page hash and
/// the requirements' special-slot hash. Returns the problems found (empty when the signature is valid).
/// </summary>
internal static class MachOSignatureCheck
{
    public static List<string> Problems(byte[] file, string expectedIdentifier)
    {
        var problems = new List<string>();
        void Expect<T>(T actual, T expected, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(actual, expected)) problems.Add($"{what}: expected {expected}, actual {actual}");
        }
        uint Le32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        ulong Le64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));

        Expect(Le32(0), 0xfeedfacfu, "magic");
        int ncmds = (int)Le32(16), at = 32;
        uint dataOffset = 0, dataSize = 0;
        ulong textFileOffset = ulong.MaxValue, textFileSize = 0;
        for (var i = 0; i < ncmds; i++)
        {
            uint command = Le32(at), size = Le32(at + 4);
            if (command == 0x1d) { dataOffset = Le32(at + 8); dataSize = Le32(at + 12); }
            if (command == 0x19 && Encoding.ASCII.GetString(file, at + 8, 16).TrimEnd('\0') == "__TEXT") { textFileOffset = Le64(at + 40); textFileSize = Le64(at + 48); }
            at += (int)size;
        }
        if (dataOffset == 0) return ["no LC_CODE_SIGNATURE"];
        Expect((long)dataOffset + dataSize, file.LongLength, "signature end (must be the file's end)");
        Expect(dataOffset % 16, 0u, "signature offset alignment");

        var signature = file.AsSpan((int)dataOffset, (int)dataSize);
        uint Be32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32BigEndian(s[offset..]);
        ulong Be64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64BigEndian(s[offset..]);
        Expect(Be32(signature, 0), 0xfade0cc0u, "SuperBlob magic");
        Expect(Be32(signature, 4), dataSize, "SuperBlob length");
        var count = (int)Be32(signature, 8);
        int directoryAt = -1, requirementsAt = -1;
        for (var i = 0; i < count; i++)
        {
            var type = Be32(signature, 12 + 8 * i);
            var offset = (int)Be32(signature, 16 + 8 * i);
            if (type == 0) directoryAt = offset;
            else if (type == 2) requirementsAt = offset;
            else problems.Add($"unexpected blob type {type}");
        }
        if (directoryAt < 0) return [.. problems, "no CodeDirectory"];

        var directory = signature[directoryAt..];
        Expect(Be32(directory, 0), 0xfade0c02u, "CodeDirectory magic");
        var directoryLength = (int)Be32(directory, 4);
        Expect(Be32(directory, 8), 0x20400u, "CodeDirectory version");
        Expect(Be32(directory, 12), 0x20002u, "flags (adhoc | linker-signed)");
        var hashOffset = (int)Be32(directory, 16);
        var identOffset = (int)Be32(directory, 20);
        var specialSlots = (int)Be32(directory, 24);
        var codeSlots = (int)Be32(directory, 28);
        Expect(Be32(directory, 32), dataOffset, "codeLimit");
        Expect(directory[36], (byte)32, "hashSize");
        Expect(directory[37], (byte)2, "hashType (SHA-256)");
        Expect(directory[38], (byte)0, "platform");
        Expect(directory[39], (byte)12, "pageSize (log2)");
        Expect(Be32(directory, 40), 0u, "spare2");
        Expect(Be32(directory, 44), 0u, "scatterOffset");
        Expect(Be32(directory, 48), 0u, "teamOffset");
        Expect(Be32(directory, 52), 0u, "spare3");
        Expect(Be64(directory, 56), 0ul, "codeLimit64");
        Expect(Be64(directory, 64), textFileOffset, "execSegBase");
        Expect(Be64(directory, 72), textFileSize, "execSegLimit");
        Expect(Be64(directory, 80), 0ul, "execSegFlags");
        Expect(identOffset, 88, "identOffset");
        var identEnd = directory[identOffset..].IndexOf((byte)0);
        Expect(Encoding.UTF8.GetString(directory.Slice(identOffset, identEnd)), expectedIdentifier, "identifier");
        Expect(codeSlots, (int)((dataOffset + 4095) / 4096), "nCodeSlots");
        Expect(directoryLength, hashOffset + codeSlots * 32, "CodeDirectory length");
        if (hashOffset - specialSlots * 32 < identOffset + identEnd + 1) problems.Add("special slots overlap the identifier");

        for (var i = 0; i < codeSlots && hashOffset + (i + 1) * 32 <= directory.Length; i++)
        {
            var start = i * 4096;
            var expected = SHA256.HashData(file.AsSpan(start, (int)Math.Min(4096, dataOffset - start)));
            if (!directory.Slice(hashOffset + i * 32, 32).SequenceEqual(expected)) problems.Add($"page {i} hash does not match");
        }

        if (requirementsAt < 0) problems.Add("no requirements blob");
        else
        {
            var requirements = signature.Slice(requirementsAt, 12);
            Expect(Be32(requirements, 0), 0xfade0c01u, "requirements magic");
            Expect(Be32(requirements, 4), 12u, "requirements length");
            Expect(Be32(requirements, 8), 0u, "requirements count");
            Expect(specialSlots, 2, "nSpecialSlots");
            if (specialSlots >= 2 && !directory.Slice(hashOffset - 64, 32).SequenceEqual(SHA256.HashData(requirements)))
                problems.Add("special slot -2 is not the requirements' hash");
            if (specialSlots >= 1 && directory.Slice(hashOffset - 32, 32).ContainsAnyExcept((byte)0))
                problems.Add("special slot -1 (Info.plist) is not empty");
        }
        return problems;
    }
}
