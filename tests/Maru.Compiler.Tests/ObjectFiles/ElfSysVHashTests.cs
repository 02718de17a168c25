using System.Buffers.Binary;
using Maru.Compiler.ObjectFiles.Elf;

namespace Maru.Compiler.Tests.ObjectFiles;

[TestClass]
public sealed class ElfSysVHashTests
{
    [TestMethod]
    [DataRow("", 0x0u)]
    [DataRow("a", 0x61u)]
    [DataRow("exit", 0x6cf04u)]
    [DataRow("printf", 0x77905a6u)]
    [DataRow("a_rather_long_exported_symbol_name", 0xf16ba15u)] // folds the high nibble many times
    public void HashMatchesTheGabiFunction(string name, uint expected) =>
        Assert.AreEqual(expected, ElfSysVHash.Hash(name));

    [TestMethod]
    [DataRow(0, 1u)]
    [DataRow(1, 1u)]
    [DataRow(2, 1u)]
    [DataRow(9, 7u)]
    [DataRow(100, 61u)]
    public void BucketCountIsTheLargestTablePrimeNotAboveTheSymbolCount(int symbols, uint expected) =>
        Assert.AreEqual(expected, ElfSysVHash.BucketCount(symbols));

    [TestMethod]
    public void EverySymbolIsReachableFromItsBucket()
    {
        string[] names = ["", "answer", "add2", "counter", "bump", "get_counter", "magic", "counter_ptr", "call_helper", "get_magic"];
        var table = ElfSysVHash.Build(names);

        var bucketCount = BinaryPrimitives.ReadUInt32LittleEndian(table);
        var chainCount = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(4));
        Assert.AreEqual((uint)names.Length, chainCount);
        Assert.AreEqual(ElfSysVHash.Size(names.Length), table.Length);
        uint Word(long index) => BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan((int)(4 * index)));

        for (var i = 1; i < names.Length; i++)
        {
            var found = false;
            for (var index = Word(2 + ElfSysVHash.Hash(names[i]) % bucketCount); index != 0; index = Word(2 + bucketCount + index))
                found |= index == i;
            Assert.IsTrue(found, names[i]);
        }
    }
}
