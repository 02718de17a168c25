using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// What the shared <see cref="FunctionEmitter"/> knows about a function's frame before the
/// machine lays it out: the callee-saved registers to preserve (in allocation order), the spill
/// slots, the frame blocks of Alloca (in order), and how the body uses the stack.
/// </summary>
internal sealed record FrameFacts(
    int[] SavedRegisters,
    int SlotCount,
    IReadOnlyList<(VReg Destination, long Size)> Blocks,
    bool HasCalls,
    bool ReadsStackParameters,
    int MaxStackArguments);

/// <summary>
/// The part of code generation that is one instruction set: the shared
/// <see cref="FunctionEmitter"/> decides what to compute and where values live, a machine emitter
/// turns each step into instructions. One instance emits a whole module (labels are module-wide
/// numbers: the functions' entry labels are made before any function is emitted). Registers are
/// the target's numbers in <see cref="Target"/>; <see cref="Loc.Mem"/> offsets are the machine's,
/// from <see cref="Slot"/> and <see cref="IncomingStackArgument"/>. A new operation (an opcode,
/// a prologue step such as stack probing) is one more member here, implemented by every ISA.
/// </summary>
internal abstract class MachineEmitter
{
    /// <summary>The allocator's view of the register file and of the fixed registers instructions need.</summary>
    public abstract IRegisterConstraints Target { get; }

    public abstract CallingConvention Convention { get; }

    /// <summary>A register no value lives in that breaks cycles of parallel moves.</summary>
    public abstract int CycleScratch { get; }

    /// <summary>The register an indirect call's callee is loaded into before the argument moves.</summary>
    public abstract int IndirectCallee { get; }

    /// <summary>Where code is now, in the machine's own unit (listing marks refer to it).</summary>
    public abstract int Position { get; }

    // ---- functions, labels and control --------------------------------------------------------

    /// <summary>Starts the function whose entry is <paramref name="entryLabel"/>; every label made from here to <see cref="EndFunction"/> is its own.</summary>
    public virtual void BeginFunction(int entryLabel) { }

    /// <summary>Ends the function begun last (a machine that encodes function by function encodes it here).</summary>
    public virtual void EndFunction() { }

    public abstract int NewLabel();

    public abstract void PlaceLabel(int label);

    /// <summary>Places the label of a block some later block branches back to (a loop's first block): a machine may align it.</summary>
    public virtual void PlaceLoopHeader(int label) => PlaceLabel(label);

    public abstract void Jump(int label);

    public abstract void JumpIf(Condition condition, int label);

    // ---- frame --------------------------------------------------------------------------------

    /// <summary>Lays out the frame of the function about to be emitted.</summary>
    public abstract void LayOutFrame(FrameFacts facts);

    /// <summary>
    /// The registers the function may allocate, given how its body uses the stack (the facts before
    /// allocation: no saved registers, no slots yet). A machine frees its frame pointer for values
    /// where the frame it will lay out does not need one.
    /// </summary>
    public virtual RegisterFile RegistersFor(FrameFacts shape) => Target.Registers;

    /// <summary>The function needs a frame at all (a leaf without spills has none).</summary>
    public abstract bool HasFrame { get; }

    public abstract Loc Slot(int slot);

    /// <summary>Where the caller put parameter <paramref name="index"/> beyond the argument registers (0 = first stack one).</summary>
    public abstract Loc IncomingStackArgument(int index);

    public abstract void Prologue();

    /// <summary>Restores what the prologue saved and returns (the result is already in the return register).</summary>
    public abstract void Epilogue();

    /// <summary>
    /// A sibling call: restores what the prologue saved, as <see cref="Epilogue"/> does, then jumps to
    /// the function (its arguments already in their registers), which returns straight to our caller.
    /// </summary>
    public abstract void TailCallFunction(int functionLabel);

    /// <summary>Returns from a path that never ran the prologue.</summary>
    public abstract void ReturnWithoutFrame();

    // ---- moves --------------------------------------------------------------------------------

    public abstract void MoveRegister(int destination, int source);

    /// <summary>register = value (a register, a frame word or a constant).</summary>
    public abstract void Load(int register, Loc value);

    /// <summary>destination = value between any two locations.</summary>
    public abstract void Move(Loc destination, Loc value);

    // ---- computation (never both operands constant: the shared emitter folds those) -----------

    public abstract void Negate(Loc destination, Loc value);

    /// <summary>Add, Subtract, And, Or, Xor, Multiply.</summary>
    public abstract void Arithmetic(Opcode op, Loc destination, Loc left, Loc right);

    /// <summary>ShiftLeft, ShiftRight (arithmetic), ShiftRightLogical; the count is taken modulo 64.</summary>
    public abstract void Shift(Opcode op, Loc destination, Loc value, Loc count);

    /// <summary>destination = the high word of the signed 128-bit product (division by a constant multiplies by its reciprocal).</summary>
    public abstract void MultiplyHigh(Loc destination, Loc left, Loc right);

    /// <summary>
    /// Total division: x / 0 = 0, x % 0 = 0, MIN / -1 = MIN (divisors 0, 1, -1 as constants never
    /// reach it); <paramref name="facts"/> says which special cases the optimiser proved impossible.
    /// </summary>
    public abstract void Divide(bool remainder, Loc destination, Loc dividend, Loc divisor, DivisionFacts facts);

    /// <summary>
    /// The total quotient and remainder of the same operands with one division, or false (nothing
    /// emitted) when the locations do not allow it and the caller divides twice. A target whose
    /// division clobbers registers (<c>IRegisterConstraints.Clobbers</c>) must never refuse: the
    /// allocator takes a pair's clobbers once, for the values live across the whole pair.
    /// </summary>
    public abstract bool DivideWithRemainder(Loc quotient, Loc remainder, Loc dividend, Loc divisor, DivisionFacts facts);

    /// <summary>Sets the flags for a comparison; returns the condition that holds when <paramref name="op"/> is true.</summary>
    public abstract Condition Compare(Opcode op, Loc left, Loc right);

    /// <summary>Sets the flags for value == 0; returns <see cref="Condition.Equal"/>-style condition true when it is zero.</summary>
    public abstract Condition CompareWithZero(Loc value);

    /// <summary>Sets the flags for (left &amp; right) without keeping the result; returns the condition true when it is nonzero.</summary>
    public abstract Condition TestBits(Loc left, Loc right);

    /// <summary>destination = condition ? 1 : 0, from the flags.</summary>
    public abstract void SetCondition(Loc destination, Condition condition);

    /// <summary>
    /// destination = condition ? ifTrue : ifFalse, from the flags a comparison just set (x86-64
    /// cmov, AArch64 csel): no branch, and nothing emitted may change the flags before the choice.
    /// </summary>
    public abstract void Select(Loc destination, Condition condition, Loc ifTrue, Loc ifFalse);

    // ---- memory -------------------------------------------------------------------------------

    public abstract void LoadGlobal(Loc destination, DataTarget global);

    public abstract void StoreGlobal(DataTarget global, Loc value);

    /// <summary>destination = the address of data (<paramref name="loadSlot"/>: the word stored there, for an import's GOT slot).</summary>
    public abstract void DataAddress(Loc destination, DataTarget target, bool loadSlot);

    public abstract void FunctionAddress(Loc destination, int functionLabel);

    /// <summary>destination = the address of the frame block of an Alloca.</summary>
    public abstract void FrameBlockAddress(Loc destination, VReg block);

    /// <summary>
    /// destination = the word or byte at base + index*size + displacement (a byte zero-extended),
    /// modulo 2^64; any displacement is handled, those the target's <see cref="Optimisation.ITargetCosts.FoldsDisplacement"/>
    /// accepts in the access itself.
    /// </summary>
    public abstract void LoadIndexed(bool word, Loc destination, Loc address, Loc index, long displacement);

    public abstract void StoreIndexed(bool word, Loc address, Loc index, Loc value, long displacement);

    // ---- calls --------------------------------------------------------------------------------

    /// <summary>Places the arguments beyond the argument registers (first argument lowest) before a call.</summary>
    public abstract void PassStackArguments(ReadOnlySpan<Loc> arguments);

    public abstract void CallFunction(int functionLabel);

    public abstract void CallImport(DataTarget slot);

    /// <summary>Calls the address in <see cref="IndirectCallee"/>.</summary>
    public abstract void CallIndirect();

    /// <summary>Undoes <see cref="PassStackArguments"/> after the call returns.</summary>
    public abstract void AfterCall(int stackArguments);

    /// <summary>
    /// The machine takes a load as a memory operand of the instruction that uses it (x86-64's
    /// <c>cmp qword [m], 0</c>, <c>add r, [m]</c>): FunctionEmitter then hands that instruction an
    /// <see cref="OperandKind.Indexed"/> operand instead of emitting the load (see
    /// <c>FunctionEmitter.FoldableLoads</c> for which uses), in <see cref="Move"/>, <see cref="Load"/>,
    /// <see cref="Arithmetic"/> (Add, Subtract, And, Or, Xor, Multiply), <see cref="Compare"/>,
    /// <see cref="CompareWithZero"/> and <see cref="TestBits"/>. A byte only ever comes with a
    /// move, a test against zero, or equality or a bit test against a constant 0-255.
    /// </summary>
    public virtual bool FoldsLoads => false;

    /// <summary>
    /// memory op= value in one instruction (Add, Subtract, And, Or, Xor; a byte takes the low 8
    /// bits of the value): a load, an operation on it and a store of the result back to the same
    /// address (x86-64's <c>add qword [m], 1</c>). Only on a machine that <see cref="FoldsLoads"/>.
    /// </summary>
    public virtual void ReadModifyWrite(Opcode op, Loc memory, Loc value) => throw new NotSupportedException("this machine folds no loads");

    /// <summary>A direct call may test the callee's <see cref="EarlyExit"/> first (when the return register is also an argument register, FunctionEmitter loads the exit value only on the skipping path).</summary>
    public virtual bool TestsEarlyExitsAtCallSites => false;
}
