using System.Buffers.Binary;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.ObjectFiles;

/// <summary>
/// The shared relocation patcher on AArch64 fields: for many places, targets and addends (random
/// and at the limits), patching an instruction word must give exactly the word llvm-mc assembles
/// for the same instruction with the resolved immediate, and every value beyond a field's range
/// or alignment must be refused (llvm-mc refuses the same immediates). One llvm-mc run for all.
/// </summary>
[TestClass]
public sealed class RelocationPatcherTests
{
    /// <summary>A relocation kind, the instruction it patches (with {0} where the resolved immediate goes), and how that immediate is computed.</summary>
    private sealed record Form(RelocationKind Kind, string Template, Func<long, long, long> Immediate);

    private static long Page(long address) => address & ~0xfffL;

    private static readonly Form[] Forms =
    [
        new(RelocationKind.Arm64Page21, "adrp x3, #{0}", (p, sa) => Page(sa) - Page(p)),
        new(RelocationKind.Arm64Page21, "adrp x30, #{0}", (p, sa) => Page(sa) - Page(p)),
        new(RelocationKind.Arm64Adr21, "adr x5, #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64AddLo12, "add x1, x2, #{0}", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64AddLo12, "add sp, x29, #{0}", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore8Lo12, "ldrb w1, [x2, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore8Lo12, "strb w7, [sp, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore16Lo12, "ldrsh x1, [x2, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore32Lo12, "ldr w1, [x2, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore64Lo12, "ldr x16, [x16, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore64Lo12, "str x0, [x9, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64LoadStore128Lo12, "ldr q1, [x2, #{0}]", (_, sa) => sa & 0xfff),
        new(RelocationKind.Arm64Call26, "bl #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64Jump26, "b #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64CondBranch19, "b.ne #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64CondBranch19, "cbz x1, #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64CondBranch19, "ldr x4, #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64TestBranch14, "tbnz w1, #3, #{0}", (p, sa) => sa - p),
        new(RelocationKind.Arm64TestBranch14, "tbz x9, #63, #{0}", (p, sa) => sa - p),
    ];

    private sealed record Case(Form Form, long Place, long Target, long Addend, bool Fits);

    /// <summary>Places, targets and addends: the field's limits (just inside and just outside) and random values.</summary>
    private static IEnumerable<Case> Cases(Form form, Random random)
    {
        // The reach in bytes of each field, and the granule its value must be a multiple of.
        var (reach, granule) = form.Kind switch
        {
            RelocationKind.Arm64Page21 => (1L << 32, 4096L),
            RelocationKind.Arm64Adr21 => (1L << 20, 1L),
            RelocationKind.Arm64Call26 or RelocationKind.Arm64Jump26 => (1L << 27, 4L),
            RelocationKind.Arm64CondBranch19 => (1L << 20, 4L),
            RelocationKind.Arm64TestBranch14 => (1L << 15, 4L),
            _ => (0L, 0L),
        };
        if (reach == 0)
        {
            // lo12 forms: any target fits unless it is misaligned for the access size.
            var size = form.Kind switch
            {
                RelocationKind.Arm64LoadStore16Lo12 => 2,
                RelocationKind.Arm64LoadStore32Lo12 => 4,
                RelocationKind.Arm64LoadStore64Lo12 => 8,
                RelocationKind.Arm64LoadStore128Lo12 => 16,
                _ => 1,
            };
            foreach (var low in new long[] { 0, 0xfff & -size, size, 0x800 })
                yield return new Case(form, 0x10000, 0x25000 + low, 0, true);
            for (var i = 0; i < 60; i++)
            {
                var target = random.NextInt64(0, 1L << 33);
                var addend = random.Next(-4096, 4096);
                yield return new Case(form, random.NextInt64(0, 1L << 30) * 4, target, addend, ((target + addend) & (size - 1)) == 0);
            }
            yield break;
        }

        var place = random.NextInt64(1L << 20, 1L << 34) & ~3L;
        foreach (var displacement in new[] { 0, granule, -granule, reach - granule, -reach, reach, -reach - granule })
            yield return new Case(form, place, place + displacement, 0, displacement >= -reach && displacement < reach);
        // The addend counts: the same limit reached through it.
        yield return new Case(form, place, place, reach - granule, true);
        yield return new Case(form, place, place, reach, false);
        if (granule > 1)
            yield return new Case(form, place, place + 2, 0, form.Kind == RelocationKind.Arm64Page21);
        for (var i = 0; i < 60; i++)
        {
            var p = random.NextInt64(1L << 20, 1L << 34) & ~3L;
            var d = random.NextInt64(-reach, reach);
            d = form.Kind == RelocationKind.Arm64Page21 ? d : d / granule * granule;
            yield return new Case(form, p, p + d, 0, true);
        }
    }

    [TestMethod]
    public void Arm64FieldsMatchLlvmMcAndRefuseWhatDoesNotFit()
    {
        var random = new Random(7);
        var cases = Forms.SelectMany(f => Cases(f, random)).ToList();

        // Per form: the word with immediate 0 (what a backend emits before relocation), then the
        // word with the resolved immediate for every case that fits.
        var lines = new List<string>();
        foreach (var form in Forms)
            lines.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, form.Template, 0));
        foreach (var c in cases)
            lines.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, c.Form.Template, c.Form.Immediate(c.Place, c.Target + c.Addend)));
        var batch = LlvmMc.AssembleArm64(lines);

        var checkedCount = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var line = lines[Forms.Length + i];
            var baseWord = batch.Words[Array.IndexOf(Forms, c.Form)] ?? throw new AssertFailedException($"llvm-mc rejected {c.Form.Template}");
            var field = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(field, baseWord);
            var relocation = new Relocation(SectionKind.Text, 0, c.Form.Kind, SectionKind.Text, 0, c.Addend);
            if (c.Fits)
            {
                RelocationPatcher.Patch(field, relocation, c.Place, c.Target);
                Assert.AreEqual(batch.Words[Forms.Length + i], BinaryPrimitives.ReadUInt32LittleEndian(field), $"{line} (P=0x{c.Place:x}, S=0x{c.Target:x}, A={c.Addend})");
            }
            else
            {
                Assert.ThrowsExactly<RelocationOutOfRangeException>(() => RelocationPatcher.Patch(field, relocation, c.Place, c.Target), line);
                // Branches and ADR/ADRP overflow: llvm-mc refuses those immediates too. A misaligned
                // lo12 offset is no overflow: llvm-mc quietly assembles it as LDUR (when it fits in
                // 9 bits), another instruction, which a relocation cannot turn the word into.
                if (c.Form.Kind is not (>= RelocationKind.Arm64LoadStore8Lo12 and <= RelocationKind.Arm64LoadStore128Lo12))
                    Assert.IsNull(batch.Words[Forms.Length + i], $"llvm-mc accepted {line}, which the patcher refused");
            }
            checkedCount++;
        }
        Assert.IsTrue(checkedCount > 1000, $"{checkedCount} cases");
    }

    [TestMethod]
    public void PcRelative32IsCheckedAtBothLimits()
    {
        var relocation = new Relocation(SectionKind.Text, 0, RelocationKind.PcRelative32, SectionKind.Data, 0, -4);
        var field = new byte[4];
        RelocationPatcher.Patch(field, relocation, 0x1000, 0x1004 + (long)int.MaxValue);
        Assert.AreEqual(int.MaxValue, BinaryPrimitives.ReadInt32LittleEndian(field));
        RelocationPatcher.Patch(field, relocation, 0x1000 - (long)int.MinValue, 0x1004);
        Assert.AreEqual(int.MinValue, BinaryPrimitives.ReadInt32LittleEndian(field));
        Assert.ThrowsExactly<RelocationOutOfRangeException>(() => RelocationPatcher.Patch(field, relocation, 0x1000, 0x1005 + (long)int.MaxValue));
        Assert.ThrowsExactly<RelocationOutOfRangeException>(() => RelocationPatcher.Patch(field, relocation, 0x1001 - (long)int.MinValue, 0x1004));
    }

    [TestMethod]
    public void EveryNamedKindIsKnownAndNoOther()
    {
        // The validator's quick test of a kind against the enum's own list: a member added
        // without updating it would be refused as unknown here.
        var named = Enum.GetValues<RelocationKind>();
        for (var value = -3; value <= named.Max(k => (int)k) + 3; value++)
            Assert.AreEqual(Enum.IsDefined((RelocationKind)value), RelocationPatcher.IsKnown((RelocationKind)value), $"kind {value}");
        // And a module with an unknown one is refused before any writer patches it.
        var module = new ObjectModule();
        module.Text.AddRange(new byte[16]);
        module.Relocations.Add(new Relocation(SectionKind.Text, 4, (RelocationKind)(named.Max(k => (int)k) + 1), SectionKind.Text, 0, 0));
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ObjectModuleValidator.Validate(module));
        StringAssert.Contains(error.Message, "is unknown");
    }

    [TestMethod]
    public void AbsolutePointersAreReturnedAsLoadTimeFixups()
    {
        var module = new ObjectModule();
        module.Text.AddRange(new byte[16]);
        module.Data.AddRange(new byte[24]);
        module.Relocations.Add(new Relocation(SectionKind.Data, 8, RelocationKind.Absolute64, SectionKind.Text, 4, 3));
        module.Relocations.Add(new Relocation(SectionKind.Data, 16, RelocationKind.Absolute64, SectionKind.Data, 0, 0));
        var text = module.Text.ToArray();
        var data = module.Data.ToArray();
        var fixups = RelocationPatcher.Apply(module, k => k == SectionKind.Text ? 0x1000UL : 0x20000UL, k => k == SectionKind.Text ? text : data);

        CollectionAssert.AreEqual(new[]
        {
            new LoadTimeFixup(SectionKind.Data, 8, 0x20008, 0x1007),
            new LoadTimeFixup(SectionKind.Data, 16, 0x20010, 0x20000),
        }, fixups.ToArray());
        Assert.AreEqual(0x1007L, BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(8)));
        Assert.AreEqual(0x20000L, BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(16)));
    }
}
