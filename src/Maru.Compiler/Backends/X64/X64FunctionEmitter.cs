using Iced.Intel;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using static Iced.Intel.AssemblerRegisters;
using Instruction = Maru.Compiler.Ir.Instruction;
using MachineInstruction = Iced.Intel.Instruction;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Emits one function. This is the straight (-O0 style) code generator: every virtual register
/// lives in its own stack slot below rbp, and each instruction loads its operands into rax/rcx,
/// computes, and stores the result. Simple and obviously correct; the register allocator of the
/// optimising pipeline replaces the slots without changing the rest of this shape.
/// </summary>
internal sealed class X64FunctionEmitter
{
    private readonly Assembler _asm;
    private readonly IrFunction _function;
    private readonly IReadOnlyDictionary<string, Label> _functionLabels;
    private readonly DataLayout _data;
    private readonly Dictionary<VReg, int> _allocaOffsets = new();
    private int _frameSize;
    private readonly List<DataReference> _dataReferences;
    private readonly Dictionary<BasicBlock, Label> _blockLabels = new();

    private readonly ListingRecorder? _listing;

    public X64FunctionEmitter(Assembler assembler, IrFunction function, IReadOnlyDictionary<string, Label> functionLabels,
        DataLayout data, List<DataReference> dataReferences, ListingRecorder? listing = null)
    {
        _listing = listing;
        _asm = assembler;
        _function = function;
        _functionLabels = functionLabels;
        _data = data;
        _dataReferences = dataReferences;
        // Iced allows one label per instruction, so a block that emits nothing (it only falls
        // through to the next one) shares the next block's label instead of having its own.
        for (var i = function.Blocks.Count - 1; i >= 0; i--)
        {
            var block = function.Blocks[i];
            var next = i + 1 < function.Blocks.Count ? function.Blocks[i + 1] : null;
            _blockLabels[block] = next is not null && EmitsNothing(block, next) ? _blockLabels[next] : _asm.CreateLabel();
        }
    }

    private static bool EmitsNothing(BasicBlock block, BasicBlock next) =>
        block.Instructions.Count == 0 && FallsThroughTo(block.Terminator!) == next;

    /// <summary>The block an unconditional transfer goes to (a jump, or a branch on a constant).</summary>
    private static BasicBlock? FallsThroughTo(Terminator terminator) => terminator switch
    {
        Jump jump => jump.Target,
        Branch { Condition.IsConstant: true } branch => branch.Condition.Constant != 0 ? branch.IfTrue : branch.IfFalse,
        _ => null,
    };

    public void Emit()
    {
        EmitPrologue();
        for (var i = 0; i < _function.Blocks.Count; i++)
        {
            var block = _function.Blocks[i];
            var next = i + 1 < _function.Blocks.Count ? _function.Blocks[i + 1] : null;
            if (next is not null && EmitsNothing(block, next)) continue;
            var label = _blockLabels[block];
            _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Block, block.Name, Diagnostics.SourceLocation.None);
            _asm.Label(ref label);
            foreach (var instruction in block.Instructions)
            {
                _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Instruction, instruction.ToString(), instruction.Location);
                EmitInstruction(instruction);
            }
            _listing?.Mark(_asm.Instructions.Count, ListingMarkKind.Instruction, block.Terminator!.ToString(), Diagnostics.SourceLocation.None);
            EmitTerminator(block.Terminator!, next);
        }
    }

    // ---- frame --------------------------------------------------------------------------------

    private static AssemblerMemoryOperand Slot(VReg register) => __qword_ptr[rbp - 8 * (register.Index + 1)];

    private void EmitPrologue()
    {
        _asm.push(rbp);
        _asm.mov(rbp, rsp);
        // Frame: one slot per virtual register, then the frame blocks of Alloca instructions.
        // After push rbp the stack is 16-byte aligned; keep it so by rounding the frame up.
        var size = 8 * _function.RegisterCount;
        foreach (var alloca in _function.Blocks[0].Instructions.Where(i => i.Op == Opcode.Alloca))
        {
            size += (int)((alloca.Arguments[0].Constant + 7) & ~7L);
            _allocaOffsets[alloca.Destination!.Value] = size;
        }
        _frameSize = (size + SystemVAbi.StackAlignment - 1) / SystemVAbi.StackAlignment * SystemVAbi.StackAlignment;
        X64StackProbe.Reserve(_asm, _frameSize); // page by page beyond a page: stack-clash safe
        for (var i = 0; i < _function.ParameterCount; i++)
        {
            if (i < SystemVAbi.ArgumentRegisters.Length)
            {
                _asm.mov(Slot(_function.Parameter(i)), SystemVAbi.ArgumentRegisters[i]);
            }
            else
            {
                _asm.mov(rax, __qword_ptr[rbp + SystemVAbi.FirstStackArgumentOffset + 8 * (i - SystemVAbi.ArgumentRegisters.Length)]);
                _asm.mov(Slot(_function.Parameter(i)), rax);
            }
        }
    }

    private void EmitEpilogue()
    {
        _asm.leave();
        _asm.ret();
    }

    // ---- instructions -------------------------------------------------------------------------

    private void EmitInstruction(Instruction instruction)
    {
        switch (instruction.Op)
        {
            case Opcode.Copy:
                Load(rax, instruction.Arguments[0]);
                break;
            case Opcode.Negate:
                Load(rax, instruction.Arguments[0]);
                _asm.neg(rax);
                break;
            case Opcode.LogicalNot:
                Load(rax, instruction.Arguments[0]);
                _asm.test(rax, rax);
                _asm.sete(al);
                _asm.movzx(eax, al);
                break;
            case Opcode.LoadGlobal:
                EmitDataAccess(Code.Mov_r64_rm64, _data.Global(instruction.Symbol!), instruction.Symbol);
                break;
            case Opcode.StoreGlobal:
                Load(rax, instruction.Arguments[0]);
                EmitDataAccess(Code.Mov_rm64_r64, _data.Global(instruction.Symbol!), instruction.Symbol);
                return;
            case Opcode.Call:
            case Opcode.CallImport:
            case Opcode.CallIndirect:
                EmitCall(instruction);
                break;
            case Opcode.GlobalAddress:
                EmitDataAccess(Code.Lea_r64_m, _data.Global(instruction.Symbol!), instruction.Symbol);
                break;
            case Opcode.StringAddress:
                EmitDataAccess(Code.Lea_r64_m, _data.String(instruction.Symbol!), instruction.Symbol);
                break;
            case Opcode.ImportAddress:
                EmitDataAccess(Code.Mov_r64_rm64, _data.ImportSlot(instruction.Symbol!), instruction.Symbol);
                break;
            case Opcode.FunctionAddress:
                _asm.lea(rax, __[_functionLabels[instruction.Symbol!]]);
                break;
            case Opcode.Alloca:
                _asm.lea(rax, __[rbp - _allocaOffsets[instruction.Destination!.Value]]);
                break;
            case Opcode.LoadWord:
                Load(rax, instruction.Arguments[0]);
                Load(rcx, instruction.Arguments[1]);
                _asm.mov(rax, __qword_ptr[rax + rcx * 8]);
                break;
            case Opcode.LoadByte:
                Load(rax, instruction.Arguments[0]);
                Load(rcx, instruction.Arguments[1]);
                _asm.movzx(eax, __byte_ptr[rax + rcx]);
                break;
            case Opcode.StoreWord:
            case Opcode.StoreByte:
                Load(rax, instruction.Arguments[0]);
                Load(rcx, instruction.Arguments[1]);
                Load(rdx, instruction.Arguments[2]);
                if (instruction.Op == Opcode.StoreWord) _asm.mov(__qword_ptr[rax + rcx * 8], rdx);
                else _asm.mov(__byte_ptr[rax + rcx], dl);
                return;
            case Opcode.Divide:
            case Opcode.Remainder:
                EmitDivision(instruction);
                break;
            default:
                EmitBinary(instruction);
                break;
        }
        if (instruction.Destination is { } destination)
            _asm.mov(Slot(destination), rax);
    }

    private void EmitBinary(Instruction instruction)
    {
        Load(rax, instruction.Arguments[0]);
        Load(rcx, instruction.Arguments[1]);
        switch (instruction.Op)
        {
            case Opcode.Add: _asm.add(rax, rcx); break;
            case Opcode.Subtract: _asm.sub(rax, rcx); break;
            case Opcode.Multiply: _asm.imul(rax, rcx); break;
            case Opcode.And: _asm.and(rax, rcx); break;
            case Opcode.Or: _asm.or(rax, rcx); break;
            case Opcode.Xor: _asm.xor(rax, rcx); break;
            // The hardware masks 64-bit shift counts to 6 bits: exactly the IR's "count modulo 64".
            case Opcode.ShiftLeft: _asm.shl(rax, cl); break;
            case Opcode.ShiftRight: _asm.sar(rax, cl); break;
            case Opcode.Equal: Compare(_asm.sete); break;
            case Opcode.NotEqual: Compare(_asm.setne); break;
            case Opcode.Less: Compare(_asm.setl); break;
            case Opcode.LessOrEqual: Compare(_asm.setle); break;
            case Opcode.Greater: Compare(_asm.setg); break;
            case Opcode.GreaterOrEqual: Compare(_asm.setge); break;
            default: throw new InvalidOperationException($"x64 backend has no lowering for {instruction.Op}");
        }
    }

    private void Compare(Action<AssemblerRegister8> setcc)
    {
        _asm.cmp(rax, rcx);
        setcc(al);
        _asm.movzx(eax, al);
    }

    /// <summary>
    /// idiv traps on a zero divisor and on MIN / -1; the IR defines both (0, and negation with
    /// wrap-around), so those divisors are handled before idiv is reached.
    /// </summary>
    private void EmitDivision(Instruction instruction)
    {
        var isRemainder = instruction.Op == Opcode.Remainder;
        var divide = _asm.CreateLabel();
        var zero = _asm.CreateLabel();
        var done = _asm.CreateLabel();
        Load(rax, instruction.Arguments[0]);
        Load(rcx, instruction.Arguments[1]);
        _asm.test(rcx, rcx);
        _asm.je(zero);
        _asm.cmp(rcx, -1);
        _asm.jne(divide);
        if (isRemainder) _asm.xor(eax, eax);
        else _asm.neg(rax);
        _asm.jmp(done);
        _asm.Label(ref divide);
        _asm.cqo();
        _asm.idiv(rcx);
        if (isRemainder) _asm.mov(rax, rdx);
        _asm.jmp(done);
        _asm.Label(ref zero);
        _asm.xor(eax, eax);
        _asm.Label(ref done);
    }

    private void EmitCall(Instruction instruction)
    {
        // An indirect call's first operand is the callee; the rest are its arguments.
        var isIndirect = instruction.Op == Opcode.CallIndirect;
        var arguments = isIndirect ? instruction.Arguments[1..] : instruction.Arguments;
        var stackArguments = Math.Max(0, arguments.Length - SystemVAbi.ArgumentRegisters.Length);
        // Keep rsp 16-byte aligned at the call: pad when an odd number of words is pushed.
        var padding = stackArguments % 2 == 1 ? 8 : 0;
        if (padding != 0) _asm.sub(rsp, padding);
        for (var i = arguments.Length - 1; i >= SystemVAbi.ArgumentRegisters.Length; i--)
        {
            Load(rax, arguments[i]);
            _asm.push(rax);
        }
        for (var i = 0; i < Math.Min(arguments.Length, SystemVAbi.ArgumentRegisters.Length); i++)
            Load(SystemVAbi.ArgumentRegisters[i], arguments[i]);
        switch (instruction.Op)
        {
            case Opcode.Call:
                _asm.call(_functionLabels[instruction.Symbol!]);
                break;
            case Opcode.CallImport:
                // al = number of vector registers used by a variadic call: always 0 here, and
                // harmless for a non-variadic callee, so every call that may reach C sets it.
                _asm.xor(eax, eax);
                EmitDataAccess(Code.Call_rm64, _data.ImportSlot(instruction.Symbol!), instruction.Symbol);
                break;
            default:
                Load(r11, instruction.Arguments[0]); // r11: scratch, never an argument register
                _asm.xor(eax, eax);
                _asm.call(r11);
                break;
        }
        var cleanup = 8 * stackArguments + padding;
        if (cleanup != 0) _asm.add(rsp, cleanup);
    }

    /// <summary>
    /// An instruction with a RIP-relative memory operand on data (rax being the other operand when
    /// there is one). The displacement is a placeholder the object writer patches once data has an
    /// address, through the relocation recorded here.
    /// </summary>
    private void EmitDataAccess(Code code, (SectionKind Section, long Offset) target, string? name)
    {
        var memory = new MemoryOperand(Register.RIP, Register.None, 1, 0, 8);
        _dataReferences.Add(new DataReference(_asm.Instructions.Count, target.Section, target.Offset, name));
        _asm.AddInstruction(code switch
        {
            Code.Mov_rm64_r64 => MachineInstruction.Create(code, memory, Register.RAX),
            Code.Call_rm64 => MachineInstruction.Create(code, memory),
            _ => MachineInstruction.Create(code, Register.RAX, memory),
        });
    }

    // ---- terminators --------------------------------------------------------------------------

    private void EmitTerminator(Terminator terminator, BasicBlock? next)
    {
        switch (terminator)
        {
            case Jump or Branch { Condition.IsConstant: true }:
                var target = FallsThroughTo(terminator)!;
                if (target != next) _asm.jmp(_blockLabels[target]);
                break;
            case Branch branch:
                Load(rax, branch.Condition);
                _asm.test(rax, rax);
                if (branch.IfTrue == next)
                {
                    _asm.je(_blockLabels[branch.IfFalse]);
                }
                else
                {
                    _asm.jne(_blockLabels[branch.IfTrue]);
                    if (branch.IfFalse != next) _asm.jmp(_blockLabels[branch.IfFalse]);
                }
                break;
            case Return ret:
                Load(rax, ret.Value);
                EmitEpilogue();
                break;
            default:
                throw new InvalidOperationException($"unknown terminator {terminator}");
        }
    }

    // ---- operands -----------------------------------------------------------------------------

    private void Load(AssemblerRegister64 register, Operand operand)
    {
        if (!operand.IsConstant)
        {
            _asm.mov(register, Slot(operand.Register));
            return;
        }
        var value = operand.Constant;
        if (value == 0)
            _asm.AddInstruction(MachineInstruction.Create(Code.Xor_r32_rm32, Low32(register), Low32(register)));
        else if (value is > 0 and <= uint.MaxValue)
            _asm.AddInstruction(MachineInstruction.Create(Code.Mov_r32_imm32, Low32(register), (uint)value));
        else if (value is >= int.MinValue and < 0)
            _asm.AddInstruction(MachineInstruction.Create(Code.Mov_rm64_imm32, register.Value, (int)value));
        else
            _asm.mov(register, value);
    }

    // Iced numbers the 32-bit registers in the same order as the 64-bit ones.
    private static Register Low32(AssemblerRegister64 register) => Register.EAX + (register.Value - Register.RAX);
}
