namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// Encodes <see cref="Arm64Instruction"/>s into their 32-bit words (bit layouts from the Arm
/// Architecture Reference Manual, A64 base instructions). Every operand is checked against its
/// field: a value that does not fit, a misaligned offset, a wrong register width or context
/// throws <see cref="Arm64EncodingException"/>; nothing is ever truncated.
/// </summary>
public static class Arm64Encoder
{
    public static uint Encode(Arm64Instruction instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        return instruction switch
        {
            AddSubImmediateInstruction i => AddSubImmediate(i.Subtract, false, Sf(i, i.Rd.Is64, i.Rn.Is64), i.Rd.Code, i.Rn.Code, i.Immediate),
            AddSubImmediateSetFlagsInstruction i => AddSubImmediate(i.Subtract, true, Sf(i, i.Rd.Is64, i.Rn.Is64), i.Rd.Code, i.Rn.Code, i.Immediate),
            AddSubShiftedInstruction i => AddSubShifted(i),
            AddSubExtendedInstruction i => AddSubExtended(i, i.Subtract, false, i.Rd.Is64, i.Rd.Code, i.Rn, i.Rm, i.Extend, i.Amount),
            AddSubExtendedSetFlagsInstruction i => AddSubExtended(i, i.Subtract, true, i.Rd.Is64, i.Rd.Code, i.Rn, i.Rm, i.Extend, i.Amount),
            LogicalImmediateInstruction i => LogicalImmediate(i, (uint)i.Operation, i.Rd.Is64, i.Rd.Code, i.Rn, i.Immediate),
            AndsImmediateInstruction i => LogicalImmediate(i, 3, i.Rd.Is64, i.Rd.Code, i.Rn, i.Immediate),
            LogicalShiftedInstruction i => LogicalShifted(i),
            MoveWideInstruction i => MoveWide(i),
            BitfieldInstruction i => Bitfield(i),
            ExtractInstruction i => Extract(i),
            TwoSourceInstruction i => 0x1AC0_0000u | Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64) | Field(i.Rm.Code, 16) | (uint)i.Operation << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code,
            ThreeSourceInstruction i => ThreeSource(i),
            OneSourceInstruction i => OneSource(i),
            ConditionalSelectInstruction i => ConditionalSelect(i),
            BranchInstruction i => (i.Link ? 0x9400_0000u : 0x1400_0000u) | Displacement(i, i.Offset, 26),
            ConditionalBranchInstruction i => 0x5400_0000u | Displacement(i, i.Offset, 19) << 5 | (uint)i.Condition,
            CompareBranchInstruction i => (i.Rt.Is64 ? 1u << 31 : 0) | (i.NonZero ? 0x3500_0000u : 0x3400_0000u) | Displacement(i, i.Offset, 19) << 5 | (uint)i.Rt.Code,
            TestBranchInstruction i => TestBranch(i),
            BranchRegisterInstruction i => BranchRegister(i),
            AddressInstruction i => Address(i),
            LoadStoreInstruction i => LoadStore(i),
            LoadStoreRegisterOffsetInstruction i => LoadStoreRegisterOffset(i),
            LoadLiteralInstruction i => LoadLiteral(i),
            LoadStorePairInstruction i => LoadStorePair(i),
            NopInstruction => 0xD503_201Fu,
            BreakpointInstruction i => 0xD420_0000u | (uint)i.Immediate << 5,
            _ => throw new Arm64EncodingException($"no encoding for {instruction.GetType().Name}"),
        };
    }

    /// <summary>Encodes into little-endian bytes appended to <paramref name="output"/>.</summary>
    public static void Encode(Arm64Instruction instruction, List<byte> output)
    {
        var word = Encode(instruction);
        output.Add((byte)word);
        output.Add((byte)(word >> 8));
        output.Add((byte)(word >> 16));
        output.Add((byte)(word >> 24));
    }

    /// <summary>The sf bit, after checking that every register operand has the same width.</summary>
    private static uint Sf(Arm64Instruction instruction, bool first, params bool[] others)
    {
        foreach (var other in others)
            if (other != first)
                throw new Arm64EncodingException($"{instruction}: register widths differ (x and w operands mixed)");
        return first ? 1u << 31 : 0;
    }

    private static uint Field(int value, int position) => (uint)value << position;

    private static uint CheckUnsigned(Arm64Instruction instruction, string what, long value, long limit) =>
        value >= 0 && value <= limit ? (uint)value : throw new Arm64EncodingException($"{instruction}: {what} {value} is outside 0-{limit}");

    /// <summary>A PC-relative byte offset, a multiple of 4, as a signed word count of <paramref name="bits"/> bits.</summary>
    private static uint Displacement(Arm64Instruction instruction, long offset, int bits)
    {
        if ((offset & 3) != 0)
            throw new Arm64EncodingException($"{instruction}: branch offset {offset} is not a multiple of 4");
        var words = offset >> 2;
        if (words < -(1L << (bits - 1)) || words >= 1L << (bits - 1))
            throw new Arm64EncodingException($"{instruction}: offset {offset} is beyond the +-{(1L << (bits + 1)) / 2} bytes the {bits}-bit field reaches");
        return (uint)(words & ((1L << bits) - 1));
    }

    private static uint AddSubImmediate(bool subtract, bool setFlags, uint sf, int rd, int rn, AddSubImmediate immediate) =>
        0x1100_0000u | sf | (subtract ? 1u << 30 : 0) | (setFlags ? 1u << 29 : 0) | (immediate.Shifted ? 1u << 22 : 0)
        | (uint)immediate.Imm12 << 10 | Field(rn, 5) | (uint)rd;

    private static uint AddSubShifted(AddSubShiftedInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64);
        if (i.Shift == Shift.Ror)
            throw new Arm64EncodingException($"{i}: add/sub cannot rotate its operand");
        CheckUnsigned(i, "shift amount", i.Amount, i.Rd.Is64 ? 63 : 31);
        return 0x0B00_0000u | sf | (i.Subtract ? 1u << 30 : 0) | (i.SetFlags ? 1u << 29 : 0) | (uint)i.Shift << 22
            | Field(i.Rm.Code, 16) | (uint)i.Amount << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint AddSubExtended(Arm64Instruction i, bool subtract, bool setFlags, bool is64, int rd, RegisterOrSp rn, Register rm, Extend extend, int amount)
    {
        var sf = Sf(i, is64, rn.Is64);
        // The 64-bit forms take a w index for the byte/half/word extends and an x one for uxtx/sxtx.
        var wantsX = is64 && extend is Extend.Uxtx or Extend.Sxtx;
        if (rm.Is64 != wantsX)
            throw new Arm64EncodingException($"{i}: {extend} needs a{(wantsX ? "n x" : " w")} index register");
        CheckUnsigned(i, "extend shift", amount, 4);
        return 0x0B20_0000u | sf | (subtract ? 1u << 30 : 0) | (setFlags ? 1u << 29 : 0) | Field(rm.Code, 16)
            | (uint)extend << 13 | (uint)amount << 10 | Field(rn.Code, 5) | (uint)rd;
    }

    private static uint LogicalImmediate(Arm64Instruction i, uint opc, bool is64, int rd, Register rn, BitmaskImmediate immediate)
    {
        var sf = Sf(i, is64, rn.Is64, immediate.Is64);
        return 0x1200_0000u | sf | opc << 29 | (uint)immediate.N << 22 | (uint)immediate.Immr << 16 | (uint)immediate.Imms << 10 | Field(rn.Code, 5) | (uint)rd;
    }

    private static uint LogicalShifted(LogicalShiftedInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64);
        CheckUnsigned(i, "shift amount", i.Amount, i.Rd.Is64 ? 63 : 31);
        var operation = (uint)i.Operation;
        return 0x0A00_0000u | sf | (operation >> 1) << 29 | (uint)i.Shift << 22 | (operation & 1) << 21
            | Field(i.Rm.Code, 16) | (uint)i.Amount << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint MoveWide(MoveWideInstruction i)
    {
        if (i.Shift is not (0 or 16 or 32 or 48) || (!i.Rd.Is64 && i.Shift > 16))
            throw new Arm64EncodingException($"{i}: a {(i.Rd.Is64 ? 64 : 32)}-bit move-wide shifts by {(i.Rd.Is64 ? "0, 16, 32 or 48" : "0 or 16")}, not {i.Shift}");
        return 0x1280_0000u | (i.Rd.Is64 ? 1u << 31 : 0) | (uint)i.Operation << 29 | (uint)(i.Shift / 16) << 21 | (uint)i.Immediate << 5 | (uint)i.Rd.Code;
    }

    private static uint Bitfield(BitfieldInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64);
        var limit = i.Rd.Is64 ? 63 : 31;
        CheckUnsigned(i, "immr", i.Immr, limit);
        CheckUnsigned(i, "imms", i.Imms, limit);
        return 0x1300_0000u | sf | (uint)i.Operation << 29 | (sf != 0 ? 1u << 22 : 0) | (uint)i.Immr << 16 | (uint)i.Imms << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint Extract(ExtractInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64);
        CheckUnsigned(i, "lsb", i.Lsb, i.Rd.Is64 ? 63 : 31);
        return 0x1380_0000u | sf | (sf != 0 ? 1u << 22 : 0) | Field(i.Rm.Code, 16) | (uint)i.Lsb << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint ThreeSource(ThreeSourceInstruction i)
    {
        uint sf;
        switch (i.Operation)
        {
            case ThreeSourceOperation.Madd or ThreeSourceOperation.Msub:
                sf = Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64, i.Ra.Is64);
                break;
            case ThreeSourceOperation.Smulh or ThreeSourceOperation.Umulh:
                if (!i.Rd.Is64 || !i.Rn.Is64 || !i.Rm.Is64)
                    throw new Arm64EncodingException($"{i}: smulh/umulh work on x registers");
                if (!i.Ra.IsZero)
                    throw new Arm64EncodingException($"{i}: smulh/umulh have no addend (Ra must be xzr)");
                sf = 1u << 31;
                break;
            default:
                // The widening forms: x destination and addend, w sources.
                if (!i.Rd.Is64 || i.Rn.Is64 || i.Rm.Is64 || !i.Ra.Is64)
                    throw new Arm64EncodingException($"{i}: widening multiplies take w sources and x destination and addend");
                sf = 1u << 31;
                break;
        }
        var operation = (uint)i.Operation;
        return 0x1B00_0000u | sf | (operation >> 1) << 21 | Field(i.Rm.Code, 16) | (operation & 1) << 15 | Field(i.Ra.Code, 10) | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint OneSource(OneSourceInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64);
        var opcode = (uint)i.Operation;
        if (sf == 0)
        {
            // In the 32-bit form, opcode 2 is rev (the whole word); rev32 does not exist.
            if (i.Operation == OneSourceOperation.Rev32)
                throw new Arm64EncodingException($"{i}: rev32 needs x registers (rev reverses a w register)");
            if (i.Operation == OneSourceOperation.Rev) opcode = 2;
        }
        return 0x5AC0_0000u | sf | opcode << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint ConditionalSelect(ConditionalSelectInstruction i)
    {
        var sf = Sf(i, i.Rd.Is64, i.Rn.Is64, i.Rm.Is64);
        var (op, o2) = i.Operation switch
        {
            ConditionalSelectOperation.Csel => (0u, 0u),
            ConditionalSelectOperation.Csinc => (0u, 1u),
            ConditionalSelectOperation.Csinv => (1u, 0u),
            _ => (1u, 1u),
        };
        return 0x1A80_0000u | sf | op << 30 | Field(i.Rm.Code, 16) | (uint)i.Condition << 12 | o2 << 10 | Field(i.Rn.Code, 5) | (uint)i.Rd.Code;
    }

    private static uint TestBranch(TestBranchInstruction i)
    {
        CheckUnsigned(i, "bit number", i.Bit, i.Rt.Is64 ? 63 : 31);
        return (uint)(i.Bit >> 5) << 31 | (i.NonZero ? 0x3700_0000u : 0x3600_0000u) | (uint)(i.Bit & 31) << 19
            | Displacement(i, i.Offset, 14) << 5 | (uint)i.Rt.Code;
    }

    private static uint BranchRegister(BranchRegisterInstruction i)
    {
        if (!i.Rn.Is64)
            throw new Arm64EncodingException($"{i}: branches go through x registers");
        return 0xD61F_0000u | (uint)i.Operation << 21 | Field(i.Rn.Code, 5);
    }

    private static uint Address(AddressInstruction i)
    {
        if (!i.Rd.Is64)
            throw new Arm64EncodingException($"{i}: adr/adrp write x registers");
        long immediate = i.Offset;
        if (i.Page)
        {
            if ((i.Offset & 0xfff) != 0)
                throw new Arm64EncodingException($"{i}: adrp's offset {i.Offset} is not a multiple of 4096");
            immediate = i.Offset >> 12;
        }
        if (immediate < -(1L << 20) || immediate >= 1L << 20)
            throw new Arm64EncodingException($"{i}: offset {i.Offset} is beyond adr{(i.Page ? "p" : "")}'s reach");
        var bits = (uint)(immediate & 0x1fffff);
        return (i.Page ? 0x9000_0000u : 0x1000_0000u) | (bits & 3) << 29 | (bits >> 2) << 5 | (uint)i.Rd.Code;
    }

    /// <summary>The size and opc fields shared by every single-register load/store form.</summary>
    private static (uint Size, uint Opc) SizeAndOpc(Arm64Instruction i, MemoryOperation operation, int size, Register rt)
    {
        var log2 = size switch
        {
            1 => 0u,
            2 => 1u,
            4 => 2u,
            8 => 3u,
            _ => throw new Arm64EncodingException($"{i}: access size {size} is not 1, 2, 4 or 8"),
        };
        switch (operation)
        {
            case MemoryOperation.Store or MemoryOperation.Load:
                if (rt.Is64 != (size == 8))
                    throw new Arm64EncodingException($"{i}: a {size}-byte {(operation == MemoryOperation.Store ? "store" : "load")} uses a{(size == 8 ? "n x" : " w")} register");
                return (log2, operation == MemoryOperation.Store ? 0u : 1u);
            default:
                if (size == 8)
                    throw new Arm64EncodingException($"{i}: there is no sign-extending 8-byte load");
                if (size == 4 && !rt.Is64)
                    throw new Arm64EncodingException($"{i}: ldrsw loads into an x register");
                return (log2, rt.Is64 ? 2u : 3u);
        }
    }

    private static uint LoadStore(LoadStoreInstruction i)
    {
        var (size, opc) = SizeAndOpc(i, i.Operation, i.Size, i.Rt);
        if (!i.Rn.Is64)
            throw new Arm64EncodingException($"{i}: the base must be an x register or sp");
        var common = size << 30 | opc << 22 | Field(i.Rn.Code, 5) | (uint)i.Rt.Code;
        if (i.Mode == AddressMode.ScaledOffset)
        {
            if (i.Offset % i.Size != 0)
                throw new Arm64EncodingException($"{i}: offset {i.Offset} is not a multiple of the access size {i.Size}");
            var scaled = CheckUnsigned(i, "scaled offset", i.Offset / i.Size, 4095);
            if (i.Offset < 0)
                throw new Arm64EncodingException($"{i}: a scaled offset is unsigned, not {i.Offset}");
            return 0x3900_0000u | common | scaled << 10;
        }
        if (i.Offset is < -256 or > 255)
            throw new Arm64EncodingException($"{i}: offset {i.Offset} is outside the -256 to 255 of an unscaled or indexed address");
        var mode = i.Mode switch
        {
            AddressMode.UnscaledOffset => 0u,
            AddressMode.PostIndex => 1u,
            AddressMode.PreIndex => 3u,
            _ => throw new Arm64EncodingException($"{i}: unknown address mode"),
        };
        return 0x3800_0000u | common | ((uint)i.Offset & 0x1ff) << 12 | mode << 10;
    }

    private static uint LoadStoreRegisterOffset(LoadStoreRegisterOffsetInstruction i)
    {
        var (size, opc) = SizeAndOpc(i, i.Operation, i.Size, i.Rt);
        if (!i.Rn.Is64)
            throw new Arm64EncodingException($"{i}: the base must be an x register or sp");
        if (i.Extend is not (Extend.Uxtw or Extend.Uxtx or Extend.Sxtw or Extend.Sxtx))
            throw new Arm64EncodingException($"{i}: a register offset is extended by uxtw, lsl (uxtx), sxtw or sxtx");
        if (i.Rm.Is64 != (i.Extend is Extend.Uxtx or Extend.Sxtx))
            throw new Arm64EncodingException($"{i}: {i.Extend} needs a{(i.Rm.Is64 ? " w" : "n x")} index register");
        return 0x3820_0800u | size << 30 | opc << 22 | Field(i.Rm.Code, 16) | (uint)i.Extend << 13 | (i.Shifted ? 1u << 12 : 0)
            | Field(i.Rn.Code, 5) | (uint)i.Rt.Code;
    }

    private static uint LoadLiteral(LoadLiteralInstruction i)
    {
        var opc = i.Operation switch
        {
            MemoryOperation.Load => i.Rt.Is64 ? 1u : 0u,
            MemoryOperation.LoadSigned when i.Rt.Is64 => 2u,
            _ => throw new Arm64EncodingException($"{i}: a literal is loaded into w, x, or sign-extended into x (ldrsw)"),
        };
        return 0x1800_0000u | opc << 30 | Displacement(i, i.Offset, 19) << 5 | (uint)i.Rt.Code;
    }

    private static uint LoadStorePair(LoadStorePairInstruction i)
    {
        if (i.Rt.Is64 != i.Rt2.Is64)
            throw new Arm64EncodingException($"{i}: a pair has registers of one width");
        if (!i.Rn.Is64)
            throw new Arm64EncodingException($"{i}: the base must be an x register or sp");
        uint opc;
        int scale;
        switch (i.Operation)
        {
            case MemoryOperation.LoadSigned:
                if (!i.Rt.Is64) throw new Arm64EncodingException($"{i}: ldpsw loads into x registers");
                (opc, scale) = (1, 4);
                break;
            default:
                (opc, scale) = i.Rt.Is64 ? (2u, 8) : (0u, 4);
                break;
        }
        if (i.Offset % scale != 0)
            throw new Arm64EncodingException($"{i}: pair offset {i.Offset} is not a multiple of {scale}");
        var scaled = i.Offset / scale;
        if (scaled is < -64 or > 63)
            throw new Arm64EncodingException($"{i}: pair offset {i.Offset} is outside {-64 * scale} to {63 * scale}");
        var mode = i.Mode switch
        {
            PairAddressMode.PostIndex => 1u,
            PairAddressMode.Offset => 2u,
            _ => 3u,
        };
        return 0x2800_0000u | opc << 30 | mode << 23 | (i.Operation == MemoryOperation.Store ? 0 : 1u << 22)
            | ((uint)scaled & 0x7f) << 15 | Field(i.Rt2.Code, 10) | Field(i.Rn.Code, 5) | (uint)i.Rt.Code;
    }
}
