using System.Globalization;
using Maru.Compiler.Backends.Arm64;

namespace Maru.Compiler.Tests.Backends.Arm64;

/// <summary>
/// One generated encoder case: the instruction built with our model (or the error building it
/// gave, when an immediate is invalid; built at once, so loop variables are captured by value),
/// the same instruction written independently in plain (alias-free) assembly for llvm-mc, and
/// whether llvm-mc must reject it as well when we do (false only where llvm-mc quietly picks
/// another instruction: ldur for a misaligned ldr, sub for add of a negative number).
/// </summary>
internal sealed class EncodingCase
{
    public EncodingCase(Func<Arm64Instruction> build, string assembly, bool LlvmRejectsToo = true)
    {
        Assembly = assembly;
        this.LlvmRejectsToo = LlvmRejectsToo;
        try
        {
            Instruction = build();
        }
        catch (Arm64EncodingException exception)
        {
            BuildError = exception.Message;
        }
    }

    public Arm64Instruction? Instruction { get; }
    public string? BuildError { get; }
    public string Assembly { get; }
    public bool LlvmRejectsToo { get; }
}

/// <summary>
/// Generates thousands of forms: every register in every position (sp and zr contexts), every
/// immediate field at and beyond its limits, every logical bitmask immediate, shifts, extends,
/// conditions, branch ranges, all addressing modes.
/// </summary>
internal static class Arm64EncodingCases
{
    private static string X(int n) => n == 31 ? "xzr" : $"x{n}";
    private static string W(int n) => n == 31 ? "wzr" : $"w{n}";
    private static string XSp(int n) => n == 31 ? "sp" : $"x{n}";
    private static string WSp(int n) => n == 31 ? "wsp" : $"w{n}";
    private static Register R(int n, bool is64) => n == 31 ? (is64 ? Register.Xzr : Register.Wzr) : is64 ? Register.X(n) : Register.W(n);
    private static RegisterOrSp S(int n, bool is64) => n == 31 ? (is64 ? RegisterOrSp.Sp : RegisterOrSp.Wsp) : is64 ? RegisterOrSp.X(n) : RegisterOrSp.W(n);
    private static string Reg(int n, bool is64) => is64 ? X(n) : W(n);
    private static string RegSp(int n, bool is64) => is64 ? XSp(n) : WSp(n);
    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static readonly bool[] Widths = [true, false];

    /// <summary>Register triples that put every number 0-31 in every position once.</summary>
    private static IEnumerable<(int D, int N, int M)> RegisterSweep()
    {
        for (var r = 0; r < 32; r++)
        {
            yield return (r, 7, 9);
            yield return (3, r, 9);
            yield return (3, 7, r);
        }
    }

    public static IEnumerable<EncodingCase> All(Random random) =>
        AddSub(random).Concat(Logical(random)).Concat(MoveWide(random)).Concat(Bitfield())
            .Concat(DataProcessing()).Concat(Branches(random)).Concat(LoadStore(random)).Concat(Miscellaneous());

    private static IEnumerable<EncodingCase> AddSub(Random random)
    {
        foreach (var is64 in Widths)
        {
            foreach (var sub in new[] { false, true })
            {
                var name = sub ? "sub" : "add";
                foreach (var (d, n, _) in RegisterSweep())
                {
                    yield return new(() => new AddSubImmediateInstruction(sub, S(d, is64), S(n, is64), AddSubImmediate.Create(291, false)), $"{name} {RegSp(d, is64)}, {RegSp(n, is64)}, #291");
                    yield return new(() => new AddSubImmediateSetFlagsInstruction(sub, R(d, is64), S(n, is64), AddSubImmediate.Create(17, true)), $"{name}s {Reg(d, is64)}, {RegSp(n, is64)}, #17, lsl #12");
                }
                foreach (var value in new long[] { 0, 1, 4095, 4096, 8192, 4095L << 12, 4096L << 12, 4097, -1, 1L << 24 })
                {
                    var text = value is >= 0 and <= 4095 ? $"#{value}" : (value & 0xfff) == 0 && value > 0 ? $"#{value >> 12}, lsl #12" : $"#{value}";
                    yield return new(() => new AddSubImmediateInstruction(sub, S(1, is64), S(2, is64), AddSubImmediate.Create(value)), $"{name} {RegSp(1, is64)}, {RegSp(2, is64)}, {text}", LlvmRejectsToo: value >= 0);
                }
                foreach (var (imm, shifted) in new[] { (4095, false), (4095, true), (4096, false), (4096, true), (-1, false) })
                    yield return new(() => new AddSubImmediateInstruction(sub, S(1, is64), S(2, is64), AddSubImmediate.Create(imm, shifted)), $"{name} {RegSp(1, is64)}, {RegSp(2, is64)}, #{imm}{(shifted ? ", lsl #12" : "")}", LlvmRejectsToo: shifted);

                foreach (var flags in new[] { false, true })
                {
                    var mnemonic = name + (flags ? "s" : "");
                    foreach (var (d, n, m) in RegisterSweep())
                        yield return new(() => new AddSubShiftedInstruction(sub, flags, R(d, is64), R(n, is64), R(m, is64)), $"{mnemonic} {Reg(d, is64)}, {Reg(n, is64)}, {Reg(m, is64)}");
                    foreach (var shift in new[] { Shift.Lsl, Shift.Lsr, Shift.Asr, Shift.Ror })
                        foreach (var amount in new[] { 0, 1, 31, 32, 63, 64 })
                            yield return new(() => new AddSubShiftedInstruction(sub, flags, R(4, is64), R(5, is64), R(6, is64), shift, amount),
                                $"{mnemonic} {Reg(4, is64)}, {Reg(5, is64)}, {Reg(6, is64)}, {shift.ToString().ToLowerInvariant()} #{amount}");

                    // Extended register: the sp forms.
                    foreach (var extend in Enum.GetValues<Extend>())
                    {
                        var indexIs64 = is64 && extend is Extend.Uxtx or Extend.Sxtx;
                        foreach (var amount in new[] { 0, 1, 4, 5 })
                        {
                            var text = $"{mnemonic} {(flags ? Reg(31, is64) : RegSp(31, is64))}, {RegSp(31, is64)}, {Reg(8, indexIs64)}, {extend.ToString().ToLowerInvariant()} #{amount}";
                            yield return flags
                                ? new(() => new AddSubExtendedSetFlagsInstruction(sub, R(31, is64), S(31, is64), R(8, indexIs64), extend, amount), text)
                                : new(() => new AddSubExtendedInstruction(sub, S(31, is64), S(31, is64), R(8, indexIs64), extend, amount), text);
                        }
                    }
                    foreach (var (d, n, m) in RegisterSweep())
                        yield return flags
                            ? new(() => new AddSubExtendedSetFlagsInstruction(sub, R(d, is64), S(n, is64), R(m, false), Extend.Sxtw, 2), $"{mnemonic} {Reg(d, is64)}, {RegSp(n, is64)}, {W(m)}, sxtw #2")
                            : new(() => new AddSubExtendedInstruction(sub, S(d, is64), S(n, is64), R(m, false), Extend.Uxtb, 1), $"{mnemonic} {RegSp(d, is64)}, {RegSp(n, is64)}, {W(m)}, uxtb #1");
                }
            }
        }
        // A wrong-width index: rejected by both.
        yield return new(() => new AddSubExtendedInstruction(false, RegisterOrSp.Sp, RegisterOrSp.Sp, Register.X(1), Extend.Uxtw), "add sp, sp, x1, uxtw");
        _ = random;
    }

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static IEnumerable<EncodingCase> Logical(Random random)
    {
        string[] names = ["and", "orr", "eor", "ands"];
        foreach (var is64 in Widths)
        {
            // Every encodable bitmask, each built from its value (the encodability test and
            // encoder), alternating the operation and walking the registers.
            var index = 0;
            for (var n = 0; n <= (is64 ? 1 : 0); n++)
                for (var immr = 0; immr < 64; immr++)
                    for (var imms = 0; imms < 64; imms++)
                    {
                        if (BitmaskImmediate.TryFromFields(n, immr, imms, is64) is not { } field) continue;
                        var value = field.Value;
                        var op = index % 4;
                        var d = index % 32;
                        var s = (index * 7) % 32;
                        index++;
                        yield return op == 3
                            ? new(() => new AndsImmediateInstruction(R(d, is64), R(s, is64), BitmaskImmediate.Create(value, is64)), $"ands {Reg(d, is64)}, {Reg(s, is64)}, #{Hex(value)}")
                            : new(() => new LogicalImmediateInstruction((LogicalImmediateOperation)op, S(d, is64), R(s, is64), BitmaskImmediate.Create(value, is64)), $"{names[op]} {RegSp(d, is64)}, {Reg(s, is64)}, #{Hex(value)}");
                    }
            // Unencodable values: random ones (most are), 0, all ones, and a 32-bit value too wide.
            var unencodable = new List<ulong> { 0, is64 ? ulong.MaxValue : uint.MaxValue, 0x1234, 0x5, 0xff00ff00ff00ff01 & (is64 ? ulong.MaxValue : uint.MaxValue) };
            while (unencodable.Count < 300)
            {
                var candidate = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
                if (!is64) candidate &= uint.MaxValue;
                if (BitmaskImmediate.TryCreate(candidate, is64) is null) unencodable.Add(candidate);
            }
            foreach (var value in unencodable)
                yield return new(() => new LogicalImmediateInstruction(LogicalImmediateOperation.And, S(1, is64), R(2, is64), BitmaskImmediate.Create(value, is64)), $"and {RegSp(1, is64)}, {Reg(2, is64)}, #{Hex(value)}");
            if (!is64)
                yield return new(() => new LogicalImmediateInstruction(LogicalImmediateOperation.Orr, S(1, false), R(2, false), BitmaskImmediate.Create(0x1_0000_0001, false)), "orr w1, w2, #0x100000001");

            string[] shifted = ["and", "bic", "orr", "orn", "eor", "eon", "ands", "bics"];
            foreach (var operation in Enum.GetValues<LogicalOperation>())
            {
                foreach (var (d, n, m) in RegisterSweep())
                    yield return new(() => new LogicalShiftedInstruction(operation, R(d, is64), R(n, is64), R(m, is64)), $"{shifted[(int)operation]} {Reg(d, is64)}, {Reg(n, is64)}, {Reg(m, is64)}");
                foreach (var shift in Enum.GetValues<Shift>())
                    foreach (var amount in new[] { 0, 5, 31, 32, 63, 64 })
                        yield return new(() => new LogicalShiftedInstruction(operation, R(1, is64), R(2, is64), R(3, is64), shift, amount),
                            $"{shifted[(int)operation]} {Reg(1, is64)}, {Reg(2, is64)}, {Reg(3, is64)}, {shift.ToString().ToLowerInvariant()} #{amount}");
            }
        }
    }

    private static IEnumerable<EncodingCase> MoveWide(Random random)
    {
        foreach (var is64 in Widths)
            foreach (var operation in Enum.GetValues<MoveWideOperation>())
            {
                var name = operation.ToString().ToLowerInvariant();
                for (var d = 0; d < 32; d++)
                    yield return new(() => new MoveWideInstruction(operation, R(d, is64), 0x1234, 16), $"{name} {Reg(d, is64)}, #0x1234, lsl #16");
                foreach (var shift in new[] { 0, 16, 32, 48, 8, 64 })
                    foreach (var value in new ushort[] { 0, 1, 0x8000, 0xffff, (ushort)random.Next(65536) })
                        yield return new(() => new MoveWideInstruction(operation, R(2, is64), value, shift), $"{name} {Reg(2, is64)}, #{value}, lsl #{shift}");
            }
    }

    private static IEnumerable<EncodingCase> Bitfield()
    {
        foreach (var is64 in Widths)
        {
            foreach (var operation in Enum.GetValues<BitfieldOperation>())
            {
                var name = operation.ToString().ToLowerInvariant();
                foreach (var (d, n, _) in RegisterSweep().Where(t => t.M == 9))
                    yield return new(() => new BitfieldInstruction(operation, R(d, is64), R(n, is64), 3, 9), $"{name} {Reg(d, is64)}, {Reg(n, is64)}, #3, #9");
                foreach (var immr in new[] { 0, 1, 7, 31, 32, 63, 64 })
                    foreach (var imms in new[] { 0, 6, 7, 15, 31, 32, 62, 63, 64 })
                        yield return new(() => new BitfieldInstruction(operation, R(1, is64), R(2, is64), immr, imms), $"{name} {Reg(1, is64)}, {Reg(2, is64)}, #{immr}, #{imms}");
            }
            foreach (var lsb in new[] { 0, 1, 31, 32, 63, 64 })
                yield return new(() => new ExtractInstruction(R(1, is64), R(2, is64), R(3, is64), lsb), $"extr {Reg(1, is64)}, {Reg(2, is64)}, {Reg(3, is64)}, #{lsb}");
        }
    }

    private static IEnumerable<EncodingCase> DataProcessing()
    {
        foreach (var is64 in Widths)
        {
            foreach (var operation in Enum.GetValues<TwoSourceOperation>())
                foreach (var (d, n, m) in RegisterSweep())
                    yield return new(() => new TwoSourceInstruction(operation, R(d, is64), R(n, is64), R(m, is64)), $"{operation.ToString().ToLowerInvariant()} {Reg(d, is64)}, {Reg(n, is64)}, {Reg(m, is64)}");
            foreach (var operation in new[] { ThreeSourceOperation.Madd, ThreeSourceOperation.Msub })
                foreach (var (d, n, m) in RegisterSweep())
                    yield return new(() => new ThreeSourceInstruction(operation, R(d, is64), R(n, is64), R(m, is64), R((d + m) % 32, is64)),
                        $"{operation.ToString().ToLowerInvariant()} {Reg(d, is64)}, {Reg(n, is64)}, {Reg(m, is64)}, {Reg((d + m) % 32, is64)}");
            foreach (var operation in Enum.GetValues<ConditionalSelectOperation>())
                foreach (var condition in Enum.GetValues<Condition>())
                    yield return new(() => new ConditionalSelectInstruction(operation, R(1, is64), R(2, is64), R(31, is64), condition),
                        $"{operation.ToString().ToLowerInvariant()} {Reg(1, is64)}, {Reg(2, is64)}, {Reg(31, is64)}, {condition.Name()}");
            foreach (var (d, n, m) in RegisterSweep())
                yield return new(() => new ConditionalSelectInstruction(ConditionalSelectOperation.Csel, R(d, is64), R(n, is64), R(m, is64), Condition.Lt), $"csel {Reg(d, is64)}, {Reg(n, is64)}, {Reg(m, is64)}, lt");
            foreach (var operation in Enum.GetValues<OneSourceOperation>())
            {
                var name = operation == OneSourceOperation.Rev && !is64 ? "rev" : operation.ToString().ToLowerInvariant();
                yield return new(() => new OneSourceInstruction(operation, R(4, is64), R(31, is64)), $"{name} {Reg(4, is64)}, {Reg(31, is64)}");
            }
        }
        foreach (var operation in new[] { ThreeSourceOperation.Smulh, ThreeSourceOperation.Umulh })
            foreach (var (d, n, m) in RegisterSweep())
                yield return new(() => new ThreeSourceInstruction(operation, R(d, true), R(n, true), R(m, true), Register.Xzr), $"{operation.ToString().ToLowerInvariant()} {X(d)}, {X(n)}, {X(m)}");
        foreach (var operation in new[] { ThreeSourceOperation.Smaddl, ThreeSourceOperation.Smsubl, ThreeSourceOperation.Umaddl, ThreeSourceOperation.Umsubl })
            yield return new(() => new ThreeSourceInstruction(operation, Register.X(1), Register.W(2), Register.W(3), Register.X(4)), $"{operation.ToString().ToLowerInvariant()} x1, w2, w3, x4");
        // Width mismatches are rejected by both.
        yield return new(() => new TwoSourceInstruction(TwoSourceOperation.Sdiv, Register.X(1), Register.W(2), Register.X(3)), "sdiv x1, w2, x3");
        yield return new(() => new ThreeSourceInstruction(ThreeSourceOperation.Smulh, Register.W(1), Register.W(2), Register.W(3), Register.Xzr), "smulh w1, w2, w3");
    }

    private static IEnumerable<EncodingCase> Branches(Random random)
    {
        IEnumerable<long> Offsets(long reach)
        {
            foreach (var offset in new[] { 0, 4, -4, 8, reach - 4, -reach, reach, -reach - 4, 2, -2 })
                yield return offset;
            for (var i = 0; i < 6; i++)
                yield return random.NextInt64(-reach / 4, reach / 4) * 4;
        }
        foreach (var link in new[] { false, true })
            foreach (var offset in Offsets(1L << 27))
                yield return new(() => new BranchInstruction(link, offset), $"{(link ? "bl" : "b")} #{I(offset)}");
        foreach (var condition in Enum.GetValues<Condition>())
            foreach (var offset in Offsets(1L << 20))
                yield return new(() => new ConditionalBranchInstruction(condition, offset), $"b.{condition.Name()} #{I(offset)}");
        foreach (var is64 in Widths)
            foreach (var nonZero in new[] { false, true })
            {
                for (var t = 0; t < 32; t++)
                    yield return new(() => new CompareBranchInstruction(nonZero, R(t, is64), -64), $"{(nonZero ? "cbnz" : "cbz")} {Reg(t, is64)}, #-64");
                foreach (var offset in Offsets(1L << 20))
                    yield return new(() => new CompareBranchInstruction(nonZero, R(5, is64), offset), $"{(nonZero ? "cbnz" : "cbz")} {Reg(5, is64)}, #{I(offset)}");
                foreach (var bit in new[] { 0, 1, 31, 32, 63, 64 })
                    yield return new(() => new TestBranchInstruction(nonZero, R(6, is64), bit, 128), $"{(nonZero ? "tbnz" : "tbz")} {Reg(6, is64)}, #{bit}, #128");
                foreach (var offset in Offsets(1L << 15))
                    yield return new(() => new TestBranchInstruction(nonZero, R(31, is64), 3, offset), $"{(nonZero ? "tbnz" : "tbz")} {Reg(31, is64)}, #3, #{I(offset)}");
            }
        for (var n = 0; n < 32; n++)
            foreach (var operation in Enum.GetValues<BranchRegisterOperation>())
                yield return new(() => new BranchRegisterInstruction(operation, R(n, true)), $"{operation.ToString().ToLowerInvariant()} {X(n)}");
        for (var d = 0; d < 32; d++)
        {
            yield return new(() => new AddressInstruction(false, R(d, true), -77), $"adr {X(d)}, #-77");
            yield return new(() => new AddressInstruction(true, R(d, true), 4096 * 5), $"adrp {X(d)}, #{4096 * 5}");
        }
        foreach (var offset in new[] { 0, 1, -1, (1L << 20) - 1, -(1L << 20), 1L << 20, -(1L << 20) - 1, random.Next(-1 << 20, 1 << 20) })
            yield return new(() => new AddressInstruction(false, Register.X(3), offset), $"adr x3, #{I(offset)}");
        foreach (var pages in new[] { 0, 1, -1, (1L << 20) - 1, -(1L << 20), 1L << 20, -(1L << 20) - 1, random.Next(-1 << 20, 1 << 20) })
            yield return new(() => new AddressInstruction(true, Register.X(3), pages * 4096), $"adrp x3, #{I(pages * 4096)}");
        yield return new(() => new AddressInstruction(true, Register.X(3), 4095), "adrp x3, #4095");
        yield return new(() => new BranchRegisterInstruction(BranchRegisterOperation.Br, Register.W(3)), "br w3");
    }

    private static string MemoryMnemonic(MemoryOperation operation, int size, bool unscaled)
    {
        var stem = operation switch
        {
            MemoryOperation.Store => unscaled ? "stur" : "str",
            MemoryOperation.Load => unscaled ? "ldur" : "ldr",
            _ => unscaled ? "ldurs" : "ldrs",
        };
        return stem + size switch { 1 => "b", 2 => "h", 4 when operation == MemoryOperation.LoadSigned => "w", _ => "" };
    }

    private static IEnumerable<(MemoryOperation Operation, int Size, bool Is64)> MemoryForms()
    {
        foreach (var size in new[] { 1, 2, 4, 8 })
        {
            yield return (MemoryOperation.Store, size, size == 8);
            yield return (MemoryOperation.Load, size, size == 8);
            if (size < 8) yield return (MemoryOperation.LoadSigned, size, true);
            if (size < 4) yield return (MemoryOperation.LoadSigned, size, false);
        }
    }

    private static IEnumerable<EncodingCase> LoadStore(Random random)
    {
        foreach (var (operation, size, is64) in MemoryForms())
        {
            var name = MemoryMnemonic(operation, size, false);
            var unscaledName = MemoryMnemonic(operation, size, true);
            for (var r = 0; r < 32; r++)
            {
                yield return new(() => new LoadStoreInstruction(operation, size, R(r, is64), S(9, true), size * 3), $"{name} {Reg(r, is64)}, [x9, #{size * 3}]");
                yield return new(() => new LoadStoreInstruction(operation, size, R(5, is64), S(r, true), size), $"{name} {Reg(5, is64)}, [{XSp(r)}, #{size}]");
            }
            // Scaled unsigned offsets: the limits, then ones llvm-mc would turn into ldur (we refuse).
            foreach (var offset in new long[] { 0, size, 4095L * size, random.Next(4096) * (long)size })
                yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(2, true), offset), $"{name} {Reg(1, is64)}, [x2, #{offset}]");
            yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(2, true), 4096L * size), $"{name} {Reg(1, is64)}, [x2, #{4096L * size}]");
            if (size > 1)
                yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(2, true), size + 1), $"{name} {Reg(1, is64)}, [x2, #{size + 1}]", LlvmRejectsToo: false);
            yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(2, true), -size), $"{name} {Reg(1, is64)}, [x2, #{-size}]", LlvmRejectsToo: false);

            foreach (var offset in new long[] { -256, -1, 0, 1, 255, 256, -257, random.Next(-256, 256) })
            {
                yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(31, true), offset, AddressMode.UnscaledOffset), $"{unscaledName} {Reg(1, is64)}, [sp, #{offset}]");
                yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(3, true), offset, AddressMode.PreIndex), $"{name} {Reg(1, is64)}, [x3, #{offset}]!");
                yield return new(() => new LoadStoreInstruction(operation, size, R(1, is64), S(3, true), offset, AddressMode.PostIndex), $"{name} {Reg(1, is64)}, [x3], #{offset}");
            }

            var log2 = size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
            foreach (var extend in new[] { Extend.Uxtw, Extend.Uxtx, Extend.Sxtw, Extend.Sxtx })
                foreach (var shifted in new[] { false, true })
                {
                    var index = extend is Extend.Uxtx or Extend.Sxtx ? "x4" : "w4";
                    var extendText = extend == Extend.Uxtx ? "lsl" : extend.ToString().ToLowerInvariant();
                    var text = shifted ? $", {extendText} #{log2}" : extend == Extend.Uxtx ? "" : $", {extendText}";
                    yield return new(() => new LoadStoreRegisterOffsetInstruction(operation, size, R(1, is64), S(31, true), R(4, index[0] == 'x'), extend, shifted), $"{name} {Reg(1, is64)}, [sp, {index}{text}]");
                }
            for (var r = 0; r < 32; r++)
                yield return new(() => new LoadStoreRegisterOffsetInstruction(operation, size, R(2, is64), S(3, true), R(r, true), Extend.Uxtx, true), $"{name} {Reg(2, is64)}, [x3, {X(r)}, lsl #{log2}]");
        }
        // Wrong register widths: rejected by both.
        yield return new(() => new LoadStoreInstruction(MemoryOperation.Load, 8, Register.W(1), RegisterOrSp.X(2), 0), "ldr w1, [x2, #0]", LlvmRejectsToo: false);
        yield return new(() => new LoadStoreInstruction(MemoryOperation.Load, 1, Register.X(1), RegisterOrSp.X(2), 0), "ldrb x1, [x2]");
        yield return new(() => new LoadStoreInstruction(MemoryOperation.LoadSigned, 4, Register.W(1), RegisterOrSp.X(2), 0), "ldrsw w1, [x2]");
        yield return new(() => new LoadStoreInstruction(MemoryOperation.Load, 8, Register.X(1), RegisterOrSp.W(2), 0), "ldr x1, [w2]");

        // Literals.
        foreach (var (operation, is64, name) in new[] { (MemoryOperation.Load, true, "ldr"), (MemoryOperation.Load, false, "ldr"), (MemoryOperation.LoadSigned, true, "ldrsw") })
            foreach (var offset in new long[] { 0, 4, -4, (1L << 20) - 4, -(1L << 20), 1L << 20, 6 })
                yield return new(() => new LoadLiteralInstruction(operation, R(7, is64), offset), $"{name} {Reg(7, is64)}, #{offset}");

        // Pairs.
        foreach (var (operation, is64, name) in new[] { (MemoryOperation.Store, true, "stp"), (MemoryOperation.Load, true, "ldp"), (MemoryOperation.Store, false, "stp"), (MemoryOperation.Load, false, "ldp"), (MemoryOperation.LoadSigned, true, "ldpsw") })
        {
            var scale = is64 && operation != MemoryOperation.LoadSigned ? 8 : 4;
            foreach (var offset in new long[] { 0, scale, -scale, -64 * scale, 63 * scale, 64 * scale, -65 * scale, scale / 2, random.Next(-64, 64) * scale })
            {
                yield return new(() => new LoadStorePairInstruction(operation, R(29, is64), R(30, is64), S(31, true), offset), $"{name} {Reg(29, is64)}, {Reg(30, is64)}, [sp, #{offset}]");
                yield return new(() => new LoadStorePairInstruction(operation, R(19, is64), R(20, is64), S(31, true), offset, PairAddressMode.PreIndex), $"{name} {Reg(19, is64)}, {Reg(20, is64)}, [sp, #{offset}]!");
                yield return new(() => new LoadStorePairInstruction(operation, R(1, is64), R(2, is64), S(5, true), offset, PairAddressMode.PostIndex), $"{name} {Reg(1, is64)}, {Reg(2, is64)}, [x5], #{offset}");
            }
            for (var r = 0; r < 32; r++)
                yield return new(() => new LoadStorePairInstruction(operation, R(r, is64), R((r + 5) % 32, is64), S(r == 31 ? 0 : 31 - r, true), 16), $"{name} {Reg(r, is64)}, {Reg((r + 5) % 32, is64)}, [{XSp(r == 31 ? 0 : 31 - r)}, #16]");
        }
    }

    private static IEnumerable<EncodingCase> Miscellaneous()
    {
        yield return new(() => new NopInstruction(), "nop");
        foreach (var value in new ushort[] { 0, 1, 0x3e8, 0xffff })
            yield return new(() => new BreakpointInstruction(value), $"brk #{value}");
    }
}
