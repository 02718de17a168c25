using Maru.Compiler.Backends.Arm64;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends.Arm64;

/// <summary>
/// Our AArch64 encoder against llvm-mc: thousands of generated forms (<see cref="Arm64EncodingCases"/>)
/// assembled by llvm-mc in one run; every form llvm-mc accepts must encode to the same word,
/// and every form we reject (an operand beyond its field) must be rejected by llvm-mc too.
/// </summary>
[TestClass]
public sealed class Arm64EncoderTests
{
    [TestMethod]
    public void EncodingsEqualLlvmMcForEveryGeneratedForm()
    {
        var cases = Arm64EncodingCases.All(new Random(2026)).ToList();
        var batch = LlvmMc.AssembleArm64(cases.Select(c => c.Assembly).ToList());

        var failures = new List<string>();
        var (agreed, rejected) = (0, 0);
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            uint? ours = null;
            var ourError = c.BuildError;
            if (c.Instruction is { } instruction)
            {
                try
                {
                    ours = Arm64Encoder.Encode(instruction);
                }
                catch (Arm64EncodingException exception)
                {
                    ourError = exception.Message;
                }
            }
            var theirs = batch.Words[i];
            if (ours is { } word && theirs is { } expected)
            {
                if (word != expected) failures.Add($"{c.Assembly}: ours 0x{word:x8}, llvm-mc 0x{expected:x8}");
                else agreed++;
            }
            else if (ours is null && theirs is null)
                rejected++;
            else if (ours is null && !c.LlvmRejectsToo)
                rejected++;
            else if (ours is null)
                failures.Add($"{c.Assembly}: we reject it ({ourError}), llvm-mc encodes 0x{theirs:x8}");
            else
                failures.Add($"{c.Assembly}: we encode 0x{ours:x8}, llvm-mc rejects it ({batch.Errors.GetValueOrDefault(i)})");
        }
        Assert.IsEmpty(failures, $"{failures.Count} of {cases.Count} differ:\n" + string.Join('\n', failures.Take(60)));
        Assert.IsGreaterThan(10000, agreed, "encodings compared");
        Assert.IsGreaterThan(500, rejected, "rejections compared");
    }

    [TestMethod]
    public void EveryLogicalImmediateRoundTripsThroughTheEncodabilityTest()
    {
        // 5,334 64-bit and 1,302 32-bit patterns exist (ARM ARM): the field enumeration and the
        // value-based encoder must agree on each.
        var counts = new[] { true, false }.Select(is64 =>
        {
            var count = 0;
            for (var n = 0; n <= 1; n++)
                for (var immr = 0; immr < 64; immr++)
                    for (var imms = 0; imms < 64; imms++)
                        if (BitmaskImmediate.TryFromFields(n, immr, imms, is64) is { } field)
                        {
                            Assert.AreEqual(field, BitmaskImmediate.TryCreate(field.Value, is64));
                            count++;
                        }
            return count;
        }).ToArray();
        CollectionAssert.AreEqual(new[] { 5334, 1302 }, counts);
    }

    [TestMethod]
    public void MoveImmediateSequencesProduceTheirConstants()
    {
        // Each sequence is run in a small interpreter of movz/movn/movk/orr semantics, written
        // from the ARM ARM independently of the encoder, and must be minimal for simple values.
        var random = new Random(5);
        var values = new List<ulong> { 0, 1, 0xffff, 0x10000, ulong.MaxValue, 0xffff_ffff_ffff_0000, 0x5555_5555_5555_5555, 0x8000_0000_0000_0000, 0x1234_5678_9abc_def0, 0xffff_1234_ffff_ffff };
        for (var i = 0; i < 2000; i++) values.Add((ulong)random.NextInt64() << random.Next(0, 2) ^ (random.Next(2) == 0 ? 0 : ulong.MaxValue));
        foreach (var value in values)
            foreach (var is64 in new[] { true, false })
            {
                var rd = is64 ? Register.X(3) : Register.W(3);
                var sequence = A64.MoveImmediate(rd, value);
                ulong register = 0xdead;
                foreach (var instruction in sequence)
                {
                    Arm64Encoder.Encode(instruction); // every step encodable
                    register = instruction switch
                    {
                        MoveWideInstruction { Operation: MoveWideOperation.Movz } m => (ulong)m.Immediate << m.Shift,
                        MoveWideInstruction { Operation: MoveWideOperation.Movn } m => ~((ulong)m.Immediate << m.Shift),
                        MoveWideInstruction m => (register & ~(0xffffUL << m.Shift)) | ((ulong)m.Immediate << m.Shift),
                        LogicalImmediateInstruction l => l.Immediate.Value,
                        _ => throw new AssertFailedException($"unexpected {instruction}"),
                    };
                    if (!is64) register &= uint.MaxValue;
                }
                Assert.AreEqual(is64 ? value : value & uint.MaxValue, register, $"0x{value:x} into {rd}");
                if ((is64 ? value : value & uint.MaxValue) < 0x10000 || (is64 ? ~value : ~value & uint.MaxValue) < 0x10000)
                    Assert.HasCount(1, sequence, $"0x{value:x} into {rd}");
            }
    }

    [TestMethod]
    public void RegisterContextsAreTyped()
    {
        Assert.ThrowsExactly<Arm64EncodingException>(() => Register.X(31));
        Assert.ThrowsExactly<Arm64EncodingException>(() => { RegisterOrSp _ = Register.Xzr; });
        Assert.ThrowsExactly<Arm64EncodingException>(() => RegisterOrSp.Sp.AsRegister);
        Assert.AreEqual(RegisterOrSp.X(4), (RegisterOrSp)Register.X(4));
        Assert.AreEqual(Condition.Ge, Condition.Lt.Invert());
        Assert.ThrowsExactly<Arm64EncodingException>(() => Condition.Al.Invert());
    }
}
