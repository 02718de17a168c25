namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// One AArch64 instruction as data: an encoding class of the ARM ARM with typed operands
/// (registers that say whether 31 is sp or zr, validated immediates, byte offsets for
/// PC-relative forms). <see cref="Arm64Encoder"/> turns it into its 32-bit word, rejecting
/// operands that do not fit; <see cref="Arm64Formatter"/> prints it as llvm-objdump would.
/// Aliases (mov, cmp, tst, lsl, cset, neg...) are factory methods in <see cref="A64"/>.
/// Register widths must agree within an instruction (checked by the encoder).
/// </summary>
public abstract record Arm64Instruction;

/// <summary>add/sub (immediate): Rd and Rn may be sp. <c>mov sp, x0</c> is <c>add sp, x0, #0</c>.</summary>
public sealed record AddSubImmediateInstruction(bool Subtract, RegisterOrSp Rd, RegisterOrSp Rn, AddSubImmediate Immediate) : Arm64Instruction;

/// <summary>adds/subs (immediate): Rd is a zero-register context (cmp/cmn write xzr); Rn may be sp.</summary>
public sealed record AddSubImmediateSetFlagsInstruction(bool Subtract, Register Rd, RegisterOrSp Rn, AddSubImmediate Immediate) : Arm64Instruction;

/// <summary>add/adds/sub/subs (shifted register): lsl/lsr/asr by 0 to width-1. neg is sub from the zero register.</summary>
public sealed record AddSubShiftedInstruction(bool Subtract, bool SetFlags, Register Rd, Register Rn, Register Rm, Shift Shift = Shift.Lsl, int Amount = 0) : Arm64Instruction;

/// <summary>add/sub (extended register): the sp forms (<c>add sp, sp, x1</c>); Amount 0-4.</summary>
public sealed record AddSubExtendedInstruction(bool Subtract, RegisterOrSp Rd, RegisterOrSp Rn, Register Rm, Extend Extend, int Amount = 0) : Arm64Instruction;

/// <summary>adds/subs (extended register): <c>cmp sp, x1</c>; Rd is a zero-register context.</summary>
public sealed record AddSubExtendedSetFlagsInstruction(bool Subtract, Register Rd, RegisterOrSp Rn, Register Rm, Extend Extend, int Amount = 0) : Arm64Instruction;

public enum LogicalImmediateOperation { And = 0, Orr = 1, Eor = 2 }

/// <summary>and/orr/eor (immediate): Rd may be sp (<c>mov sp</c> is not this; <c>and sp, x0, #mask</c> is).</summary>
public sealed record LogicalImmediateInstruction(LogicalImmediateOperation Operation, RegisterOrSp Rd, Register Rn, BitmaskImmediate Immediate) : Arm64Instruction;

/// <summary>ands (immediate): tst is ands into the zero register.</summary>
public sealed record AndsImmediateInstruction(Register Rd, Register Rn, BitmaskImmediate Immediate) : Arm64Instruction;

/// <summary>The shifted-register logical operations, by their opc:N field value.</summary>
public enum LogicalOperation { And = 0, Bic = 1, Orr = 2, Orn = 3, Eor = 4, Eon = 5, Ands = 6, Bics = 7 }

/// <summary>and/bic/orr/orn/eor/eon/ands/bics (shifted register): mov is orr from xzr, mvn is orn, tst is ands into xzr.</summary>
public sealed record LogicalShiftedInstruction(LogicalOperation Operation, Register Rd, Register Rn, Register Rm, Shift Shift = Shift.Lsl, int Amount = 0) : Arm64Instruction;

public enum MoveWideOperation { Movn = 0, Movz = 2, Movk = 3 }

/// <summary>movn/movz/movk: a 16-bit immediate at bit 0, 16, 32 or 48 (0 or 16 for w registers).</summary>
public sealed record MoveWideInstruction(MoveWideOperation Operation, Register Rd, ushort Immediate, int Shift = 0) : Arm64Instruction;

public enum BitfieldOperation { Sbfm = 0, Bfm = 1, Ubfm = 2 }

/// <summary>sbfm/bfm/ubfm: immediate shifts (lsl/lsr/asr), sign and zero extensions (sxtb, uxth...), bitfield moves.</summary>
public sealed record BitfieldInstruction(BitfieldOperation Operation, Register Rd, Register Rn, int Immr, int Imms) : Arm64Instruction;

/// <summary>extr: bits of Rn:Rm from <paramref name="Lsb"/>; ror (immediate) is extr with Rn = Rm.</summary>
public sealed record ExtractInstruction(Register Rd, Register Rn, Register Rm, int Lsb) : Arm64Instruction;

/// <summary>Two-source data processing, by opcode field value.</summary>
public enum TwoSourceOperation { Udiv = 2, Sdiv = 3, Lslv = 8, Lsrv = 9, Asrv = 10, Rorv = 11 }

/// <summary>udiv/sdiv (x/0 = 0, MIN/-1 = MIN: the architecture's results) and variable shifts (count modulo the width).</summary>
public sealed record TwoSourceInstruction(TwoSourceOperation Operation, Register Rd, Register Rn, Register Rm) : Arm64Instruction;

/// <summary>Three-source data processing (op31:o0 field values); smulh/umulh are x-only and have no addend.</summary>
public enum ThreeSourceOperation { Madd = 0, Msub = 1, Smaddl = 2, Smsubl = 3, Smulh = 4, Umaddl = 10, Umsubl = 11, Umulh = 12 }

/// <summary>madd/msub (mul is madd with xzr, mneg msub), smulh/umulh (Ra ignored: written as xzr), s/umaddl.</summary>
public sealed record ThreeSourceInstruction(ThreeSourceOperation Operation, Register Rd, Register Rn, Register Rm, Register Ra) : Arm64Instruction;

/// <summary>One-source data processing, by opcode field value.</summary>
public enum OneSourceOperation { Rbit = 0, Rev16 = 1, Rev32 = 2, Rev = 3, Clz = 4, Cls = 5 }

/// <summary>rbit/rev16/rev32/rev/clz/cls (rev32 is x-only; for w registers rev is opcode 2, spelt <c>Rev</c>).</summary>
public sealed record OneSourceInstruction(OneSourceOperation Operation, Register Rd, Register Rn) : Arm64Instruction;

public enum ConditionalSelectOperation { Csel, Csinc, Csinv, Csneg }

/// <summary>csel/csinc/csinv/csneg: Rd = cond ? Rn : op(Rm). cset, csetm, cinc, cneg are aliases.</summary>
public sealed record ConditionalSelectInstruction(ConditionalSelectOperation Operation, Register Rd, Register Rn, Register Rm, Condition Condition) : Arm64Instruction;

/// <summary>b / bl to a byte offset from this instruction: a multiple of 4 within +-128 MiB.</summary>
public sealed record BranchInstruction(bool Link, long Offset) : Arm64Instruction;

/// <summary>b.cond to a byte offset: a multiple of 4 within +-1 MiB.</summary>
public sealed record ConditionalBranchInstruction(Condition Condition, long Offset) : Arm64Instruction;

/// <summary>cbz/cbnz: compare a register with zero and branch within +-1 MiB.</summary>
public sealed record CompareBranchInstruction(bool NonZero, Register Rt, long Offset) : Arm64Instruction;

/// <summary>tbz/tbnz: test one bit (0-63 of an x register, 0-31 of a w register) and branch within +-32 KiB.</summary>
public sealed record TestBranchInstruction(bool NonZero, Register Rt, int Bit, long Offset) : Arm64Instruction;

public enum BranchRegisterOperation { Br = 0, Blr = 1, Ret = 2 }

/// <summary>br/blr/ret through an x register (ret normally x30).</summary>
public sealed record BranchRegisterInstruction(BranchRegisterOperation Operation, Register Rn) : Arm64Instruction;

/// <summary>adr (byte offset within +-1 MiB) or adrp (offset of 4 KiB pages, a multiple of 4096 within +-4 GiB).</summary>
public sealed record AddressInstruction(bool Page, Register Rd, long Offset) : Arm64Instruction;

/// <summary>What a load or store does with the register: store it, load zero-extended, or load sign-extended (into Rt's width).</summary>
public enum MemoryOperation { Store, Load, LoadSigned }

/// <summary>How the address of a load/store is formed.</summary>
public enum AddressMode
{
    /// <summary>[Rn, #imm]: unsigned, a multiple of the access size up to 4095 * size.</summary>
    ScaledOffset,
    /// <summary>[Rn, #imm] as ldur/stur: signed, -256 to 255, any alignment.</summary>
    UnscaledOffset,
    /// <summary>[Rn, #imm]!: Rn += imm first, -256 to 255.</summary>
    PreIndex,
    /// <summary>[Rn], #imm: access at Rn, then Rn += imm, -256 to 255.</summary>
    PostIndex,
}

/// <summary>
/// ldr/str/ldrb/strb/ldrh/strh/ldrsb/ldrsh/ldrsw with an immediate offset. <paramref name="Size"/>
/// is the access in bytes (1, 2, 4, 8); Rt is a w register for 1/2/4-byte accesses (except
/// sign-extending loads into x) and an x register for 8.
/// </summary>
public sealed record LoadStoreInstruction(MemoryOperation Operation, int Size, Register Rt, RegisterOrSp Rn, long Offset, AddressMode Mode = AddressMode.ScaledOffset) : Arm64Instruction;

/// <summary>
/// The register-offset form: [Rn, Rm{, extend {#amount}}]; Extend is Uxtx (printed lsl), Uxtw,
/// Sxtw or Sxtx (Rm a w register for the w extends); Shifted scales Rm by the access size.
/// </summary>
public sealed record LoadStoreRegisterOffsetInstruction(MemoryOperation Operation, int Size, Register Rt, RegisterOrSp Rn, Register Rm, Extend Extend = Extend.Uxtx, bool Shifted = false) : Arm64Instruction;

/// <summary>ldr (literal): load from a PC-relative byte offset within +-1 MiB (w or x; LoadSigned = ldrsw).</summary>
public sealed record LoadLiteralInstruction(MemoryOperation Operation, Register Rt, long Offset) : Arm64Instruction;

public enum PairAddressMode { Offset, PreIndex, PostIndex }

/// <summary>ldp/stp (and ldpsw with LoadSigned): two registers of one width; Offset a multiple of the register size, -64 to 63 of them.</summary>
public sealed record LoadStorePairInstruction(MemoryOperation Operation, Register Rt, Register Rt2, RegisterOrSp Rn, long Offset, PairAddressMode Mode = PairAddressMode.Offset) : Arm64Instruction;

/// <summary>nop.</summary>
public sealed record NopInstruction : Arm64Instruction;

/// <summary>brk #imm16: a breakpoint (traps).</summary>
public sealed record BreakpointInstruction(ushort Immediate) : Arm64Instruction;
