using System.Globalization;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// Prints an <see cref="Arm64Instruction"/> as llvm-objdump prints the same word: the preferred
/// alias (mov, cmp, tst, lsl, cset, mul...) where the architecture defines one, immediates in
/// the same radix, PC-relative targets as absolute addresses (given the instruction's address).
/// The listing uses it, so a listing reads like the disassembly of the library.
/// </summary>
public static class Arm64Formatter
{
    public static string Format(Arm64Instruction instruction, ulong address = 0)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        var (mnemonic, operands) = Parts(instruction, address);
        return operands.Length == 0 ? mnemonic : $"{mnemonic} {operands}";
    }

    private static string D(long value) => value.ToString(CultureInfo.InvariantCulture);
    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
    private static string Target(ulong address, long offset) => Hex(unchecked(address + (ulong)offset));
    private static string Lower(Enum value) => value.ToString().ToLowerInvariant();
    private static int Width(bool is64) => is64 ? 64 : 32;

    private static string ShiftSuffix(Shift shift, int amount) => shift == Shift.Lsl && amount == 0 ? "" : $", {Lower(shift)} #{amount}";

    private static (string, string) Parts(Arm64Instruction instruction, ulong address) => instruction switch
    {
        AddSubImmediateInstruction i => AddSubImmediate(i),
        AddSubImmediateSetFlagsInstruction i => i.Rd.IsZero
            ? (i.Subtract ? "cmp" : "cmn", $"{i.Rn}, {Immediate(i.Immediate)}")
            : (i.Subtract ? "subs" : "adds", $"{i.Rd}, {i.Rn}, {Immediate(i.Immediate)}"),
        AddSubShiftedInstruction i => AddSubShifted(i),
        AddSubExtendedInstruction i => (i.Subtract ? "sub" : "add", $"{i.Rd}, {i.Rn}, {Extended(i.Rd.IsSp || i.Rn.IsSp, i.Rd.Is64, i.Rm, i.Extend, i.Amount)}"),
        AddSubExtendedSetFlagsInstruction i => i.Rd.IsZero
            ? (i.Subtract ? "cmp" : "cmn", $"{i.Rn}, {Extended(i.Rn.IsSp, i.Rd.Is64, i.Rm, i.Extend, i.Amount)}")
            : (i.Subtract ? "subs" : "adds", $"{i.Rd}, {i.Rn}, {Extended(i.Rn.IsSp, i.Rd.Is64, i.Rm, i.Extend, i.Amount)}"),
        LogicalImmediateInstruction i => i.Operation == LogicalImmediateOperation.Orr && i.Rn.IsZero && !IsMoveWide(i.Immediate.Value, i.Rd.Is64)
            ? ("mov", $"{i.Rd}, #{D(Signed(i.Immediate.Value, i.Rd.Is64))}")
            : (Lower(i.Operation), $"{i.Rd}, {i.Rn}, {i.Immediate}"),
        AndsImmediateInstruction i => i.Rd.IsZero ? ("tst", $"{i.Rn}, {i.Immediate}") : ("ands", $"{i.Rd}, {i.Rn}, {i.Immediate}"),
        LogicalShiftedInstruction i => LogicalShifted(i),
        MoveWideInstruction i => MoveWide(i),
        BitfieldInstruction i => Bitfield(i),
        ExtractInstruction i => i.Rn == i.Rm ? ("ror", $"{i.Rd}, {i.Rn}, #{i.Lsb}") : ("extr", $"{i.Rd}, {i.Rn}, {i.Rm}, #{i.Lsb}"),
        TwoSourceInstruction i => (i.Operation switch
        {
            TwoSourceOperation.Lslv => "lsl",
            TwoSourceOperation.Lsrv => "lsr",
            TwoSourceOperation.Asrv => "asr",
            TwoSourceOperation.Rorv => "ror",
            _ => Lower(i.Operation),
        }, $"{i.Rd}, {i.Rn}, {i.Rm}"),
        ThreeSourceInstruction i => ThreeSource(i),
        OneSourceInstruction i => (Lower(i.Operation), $"{i.Rd}, {i.Rn}"),
        ConditionalSelectInstruction i => ConditionalSelect(i),
        BranchInstruction i => (i.Link ? "bl" : "b", Target(address, i.Offset)),
        ConditionalBranchInstruction i => ($"b.{i.Condition.Name()}", Target(address, i.Offset)),
        CompareBranchInstruction i => (i.NonZero ? "cbnz" : "cbz", $"{i.Rt}, {Target(address, i.Offset)}"),
        TestBranchInstruction i => (i.NonZero ? "tbnz" : "tbz", $"{(i.Bit < 32 ? i.Rt.As32 : i.Rt.As64)}, #{i.Bit}, {Target(address, i.Offset)}"),
        BranchRegisterInstruction i => i.Operation == BranchRegisterOperation.Ret && i.Rn.Code == 30 ? ("ret", "") : (Lower(i.Operation), i.Rn.ToString()),
        AddressInstruction i => i.Page
            ? ("adrp", $"{i.Rd}, {Hex(unchecked((address & ~0xfffUL) + (ulong)i.Offset))}")
            : ("adr", $"{i.Rd}, #{D(i.Offset)}"),
        LoadStoreInstruction i => LoadStore(i),
        LoadStoreRegisterOffsetInstruction i => (MemoryMnemonic(i.Operation, i.Size, false), $"{i.Rt}, [{i.Rn}, {RegisterOffset(i)}]"),
        LoadLiteralInstruction i => (i.Operation == MemoryOperation.LoadSigned ? "ldrsw" : "ldr", $"{i.Rt}, {Target(address, i.Offset)}"),
        LoadStorePairInstruction i => Pair(i),
        NopInstruction => ("nop", ""),
        BreakpointInstruction i => ("brk", i.Immediate == 0 ? "#0" : $"#{Hex(i.Immediate)}"),
        _ => (instruction.GetType().Name, ""),
    };

    private static string Immediate(AddSubImmediate immediate) => immediate.ToString();

    private static (string, string) AddSubImmediate(AddSubImmediateInstruction i)
    {
        if (!i.Subtract && i.Immediate.Imm12 == 0 && !i.Immediate.Shifted && (i.Rd.IsSp || i.Rn.IsSp))
            return ("mov", $"{i.Rd}, {i.Rn}");
        return (i.Subtract ? "sub" : "add", $"{i.Rd}, {i.Rn}, {Immediate(i.Immediate)}");
    }

    private static (string, string) AddSubShifted(AddSubShiftedInstruction i)
    {
        var name = (i.Subtract ? "sub" : "add") + (i.SetFlags ? "s" : "");
        var rm = $"{i.Rm}{ShiftSuffix(i.Shift, i.Amount)}";
        if (i.SetFlags && i.Rd.IsZero) return (i.Subtract ? "cmp" : "cmn", $"{i.Rn}, {rm}");
        if (i.Subtract && i.Rn.IsZero) return (i.SetFlags ? "negs" : "neg", $"{i.Rd}, {rm}");
        return (name, $"{i.Rd}, {i.Rn}, {rm}");
    }

    /// <summary>With sp involved, the identity extend (uxtx, uxtw for w) prints as lsl (or nothing).</summary>
    private static string Extended(bool spInvolved, bool is64, Register rm, Extend extend, int amount)
    {
        if (spInvolved && extend == (is64 ? Extend.Uxtx : Extend.Uxtw))
            return amount == 0 ? rm.ToString() : $"{rm}, lsl #{amount}";
        return amount == 0 ? $"{rm}, {Lower(extend)}" : $"{rm}, {Lower(extend)} #{amount}";
    }

    /// <summary>True when a single movz or movn makes the value, which llvm then prefers over orr's mov.</summary>
    private static bool IsMoveWide(ulong value, bool is64)
    {
        var width = Width(is64);
        var mask = is64 ? ulong.MaxValue : uint.MaxValue;
        value &= mask;
        var inverted = ~value & mask;
        for (var shift = 0; shift < width; shift += 16)
            if ((value & ~(0xffffUL << shift)) == 0 || (inverted & ~(0xffffUL << shift)) == 0) return true;
        return false;
    }

    private static long Signed(ulong value, bool is64) => is64 ? (long)value : (int)(uint)value;

    private static (string, string) LogicalShifted(LogicalShiftedInstruction i)
    {
        var rm = $"{i.Rm}{ShiftSuffix(i.Shift, i.Amount)}";
        return i.Operation switch
        {
            LogicalOperation.Orr when i.Rn.IsZero && i.Shift == Shift.Lsl && i.Amount == 0 => ("mov", $"{i.Rd}, {i.Rm}"),
            LogicalOperation.Orn when i.Rn.IsZero => ("mvn", $"{i.Rd}, {rm}"),
            LogicalOperation.Ands when i.Rd.IsZero => ("tst", $"{i.Rn}, {rm}"),
            _ => (Lower(i.Operation), $"{i.Rd}, {i.Rn}, {rm}"),
        };
    }

    private static (string, string) MoveWide(MoveWideInstruction i)
    {
        var mask = i.Rd.Is64 ? ulong.MaxValue : uint.MaxValue;
        var shifted = ((ulong)i.Immediate << i.Shift) & mask;
        var lsl = i.Shift == 0 ? "" : $", lsl #{i.Shift}";
        switch (i.Operation)
        {
            case MoveWideOperation.Movz when !(i.Immediate == 0 && i.Shift != 0):
                return ("mov", $"{i.Rd}, #{D(Signed(shifted, i.Rd.Is64))}");
            case MoveWideOperation.Movn when !(i.Immediate == 0 && i.Shift != 0) && !IsSingleHalfword(~shifted & mask, i.Rd.Is64):
                return ("mov", $"{i.Rd}, #{D(Signed(~shifted & mask, i.Rd.Is64))}");
            default:
                return (Lower(i.Operation), $"{i.Rd}, #{i.Immediate}{lsl}");
        }
    }

    /// <summary>A value a movz makes (movz wins over movn when both can).</summary>
    private static bool IsSingleHalfword(ulong value, bool is64)
    {
        for (var shift = 0; shift < Width(is64); shift += 16)
            if ((value & ~(0xffffUL << shift)) == 0) return true;
        return false;
    }

    private static (string, string) Bitfield(BitfieldInstruction i)
    {
        var width = Width(i.Rd.Is64);
        var (rd, rn, immr, imms) = (i.Rd, i.Rn, i.Immr, i.Imms);
        switch (i.Operation)
        {
            case BitfieldOperation.Ubfm:
                if (imms == width - 1) return ("lsr", $"{rd}, {rn}, #{immr}");
                if (imms + 1 == immr) return ("lsl", $"{rd}, {rn}, #{width - immr}");
                if (!rd.Is64 && immr == 0 && imms is 7 or 15) return (imms == 7 ? "uxtb" : "uxth", $"{rd}, {rn}");
                return imms < immr ? ("ubfiz", $"{rd}, {rn}, #{width - immr}, #{imms + 1}") : ("ubfx", $"{rd}, {rn}, #{immr}, #{imms - immr + 1}");
            case BitfieldOperation.Sbfm:
                if (imms == width - 1) return ("asr", $"{rd}, {rn}, #{immr}");
                if (immr == 0 && (imms is 7 or 15 || (imms == 31 && rd.Is64)))
                    return (imms switch { 7 => "sxtb", 15 => "sxth", _ => "sxtw" }, $"{rd}, {rn.As32}");
                return imms < immr ? ("sbfiz", $"{rd}, {rn}, #{width - immr}, #{imms + 1}") : ("sbfx", $"{rd}, {rn}, #{immr}, #{imms - immr + 1}");
            default:
                return imms < immr ? ("bfi", $"{rd}, {rn}, #{width - immr}, #{imms + 1}") : ("bfxil", $"{rd}, {rn}, #{immr}, #{imms - immr + 1}");
        }
    }

    private static (string, string) ThreeSource(ThreeSourceInstruction i)
    {
        var operands = $"{i.Rd}, {i.Rn}, {i.Rm}";
        if (i.Operation is ThreeSourceOperation.Smulh or ThreeSourceOperation.Umulh) return (Lower(i.Operation), operands);
        if (i.Ra.IsZero)
        {
            var alias = i.Operation switch
            {
                ThreeSourceOperation.Madd => "mul",
                ThreeSourceOperation.Msub => "mneg",
                ThreeSourceOperation.Smaddl => "smull",
                ThreeSourceOperation.Smsubl => "smnegl",
                ThreeSourceOperation.Umaddl => "umull",
                _ => "umnegl",
            };
            return (alias, operands);
        }
        return (Lower(i.Operation), $"{operands}, {i.Ra}");
    }

    private static (string, string) ConditionalSelect(ConditionalSelectInstruction i)
    {
        var invertible = i.Condition is not (Condition.Al or Condition.Nv);
        if (invertible && i.Rn == i.Rm)
        {
            var inverse = i.Condition.Invert().Name();
            switch (i.Operation)
            {
                case ConditionalSelectOperation.Csinc: return i.Rn.IsZero ? ("cset", $"{i.Rd}, {inverse}") : ("cinc", $"{i.Rd}, {i.Rn}, {inverse}");
                case ConditionalSelectOperation.Csinv: return i.Rn.IsZero ? ("csetm", $"{i.Rd}, {inverse}") : ("cinv", $"{i.Rd}, {i.Rn}, {inverse}");
                case ConditionalSelectOperation.Csneg: return ("cneg", $"{i.Rd}, {i.Rn}, {inverse}");
            }
        }
        return (Lower(i.Operation), $"{i.Rd}, {i.Rn}, {i.Rm}, {i.Condition.Name()}");
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

    private static (string, string) LoadStore(LoadStoreInstruction i)
    {
        var unscaled = i.Mode == AddressMode.UnscaledOffset;
        var address = i.Mode switch
        {
            AddressMode.PreIndex => $"[{i.Rn}, #{D(i.Offset)}]!",
            AddressMode.PostIndex => $"[{i.Rn}], #{D(i.Offset)}",
            _ => i.Offset == 0 ? $"[{i.Rn}]" : $"[{i.Rn}, #{D(i.Offset)}]",
        };
        return (MemoryMnemonic(i.Operation, i.Size, unscaled), $"{i.Rt}, {address}");
    }

    private static string RegisterOffset(LoadStoreRegisterOffsetInstruction i)
    {
        var amount = i.Size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
        var name = i.Extend == Extend.Uxtx ? "lsl" : Lower(i.Extend);
        if (i.Shifted) return $"{i.Rm}, {name} #{amount}";
        return i.Extend == Extend.Uxtx ? i.Rm.ToString() : $"{i.Rm}, {name}";
    }

    private static (string, string) Pair(LoadStorePairInstruction i)
    {
        var name = i.Operation switch
        {
            MemoryOperation.Store => "stp",
            MemoryOperation.Load => "ldp",
            _ => "ldpsw",
        };
        var address = i.Mode switch
        {
            PairAddressMode.PreIndex => $"[{i.Rn}, #{D(i.Offset)}]!",
            PairAddressMode.PostIndex => $"[{i.Rn}], #{D(i.Offset)}",
            _ => i.Offset == 0 ? $"[{i.Rn}]" : $"[{i.Rn}, #{D(i.Offset)}]",
        };
        return (name, $"{i.Rt}, {i.Rt2}, {address}");
    }
}
