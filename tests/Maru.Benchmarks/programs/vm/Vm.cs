// vm: a small stack-machine interpreter. A bytecode program in a native word array counts a
// loop variable to n and folds it into an accumulator, acc = ((acc * 31) ^ i) & 0xFFFFFFF -
// (i & 7); the interpreter dispatches every instruction through an if chain on the opcode.
// Bench(n) = the accumulator the program leaves on the stack.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Vm
{
    // opcodes: 0 halt, 1 push k, 2 load k, 3 store k, 4 add, 5 sub, 6 mul, 7 lt, 8 jz t,
    // 9 jmp t, 10 xor, 11 and
    private static long Run(long* code, long* stack, long* locals)
    {
        long pc = 0, sp = 0, running = 1;
        while (running != 0)
        {
            long op = code[pc];
            if (op == 1)
            {
                stack[sp] = code[pc + 1];
                sp = sp + 1;
                pc = pc + 2;
            }
            else if (op == 2)
            {
                stack[sp] = locals[code[pc + 1]];
                sp = sp + 1;
                pc = pc + 2;
            }
            else if (op == 3)
            {
                sp = sp - 1;
                locals[code[pc + 1]] = stack[sp];
                pc = pc + 2;
            }
            else if (op == 4)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] + stack[sp];
                pc = pc + 1;
            }
            else if (op == 5)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] - stack[sp];
                pc = pc + 1;
            }
            else if (op == 6)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] * stack[sp];
                pc = pc + 1;
            }
            else if (op == 7)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] < stack[sp] ? 1 : 0;
                pc = pc + 1;
            }
            else if (op == 8)
            {
                sp = sp - 1;
                if (stack[sp] != 0)
                    pc = pc + 2;
                else
                    pc = code[pc + 1];
            }
            else if (op == 9)
            {
                pc = code[pc + 1];
            }
            else if (op == 10)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] ^ stack[sp];
                pc = pc + 1;
            }
            else if (op == 11)
            {
                sp = sp - 1;
                stack[sp - 1] = stack[sp - 1] & stack[sp];
                pc = pc + 1;
            }
            else
            {
                running = 0;
            }
        }
        return stack[sp - 1];
    }

    private static long Emit(long* code, long pc, long word)
    {
        code[pc] = word;
        return pc + 1;
    }

    public static long Bench(long n)
    {
        var code = (long*)NativeMemory.Alloc(8 * 64);
        var stack = (long*)NativeMemory.Alloc(8 * 64);
        var locals = (long*)NativeMemory.Alloc(8 * 8);
        long pc = 0;
        // locals: 0 i, 1 acc, 2 n
        locals[2] = n;
        pc = Emit(code, pc, 1); pc = Emit(code, pc, 0); pc = Emit(code, pc, 3); pc = Emit(code, pc, 1);
        pc = Emit(code, pc, 1); pc = Emit(code, pc, 0); pc = Emit(code, pc, 3); pc = Emit(code, pc, 0);
        // 8: loop head, i < n or leave to 45
        pc = Emit(code, pc, 2); pc = Emit(code, pc, 0); pc = Emit(code, pc, 2); pc = Emit(code, pc, 2);
        pc = Emit(code, pc, 7); pc = Emit(code, pc, 8); pc = Emit(code, pc, 45);
        // 15: acc = ((acc * 31) ^ i) & 268435455 - (i & 7)
        pc = Emit(code, pc, 2); pc = Emit(code, pc, 1); pc = Emit(code, pc, 1); pc = Emit(code, pc, 31);
        pc = Emit(code, pc, 6); pc = Emit(code, pc, 2); pc = Emit(code, pc, 0); pc = Emit(code, pc, 10);
        pc = Emit(code, pc, 1); pc = Emit(code, pc, 268435455); pc = Emit(code, pc, 11);
        pc = Emit(code, pc, 2); pc = Emit(code, pc, 0); pc = Emit(code, pc, 1); pc = Emit(code, pc, 7);
        pc = Emit(code, pc, 11); pc = Emit(code, pc, 5); pc = Emit(code, pc, 3); pc = Emit(code, pc, 1);
        // 34: i = i + 1, back to 8
        pc = Emit(code, pc, 2); pc = Emit(code, pc, 0); pc = Emit(code, pc, 1); pc = Emit(code, pc, 1);
        pc = Emit(code, pc, 4); pc = Emit(code, pc, 3); pc = Emit(code, pc, 0);
        pc = Emit(code, pc, 9); pc = Emit(code, pc, 8);
        // 43: padding, then 45: leave acc on the stack
        pc = Emit(code, pc, 0); pc = Emit(code, pc, 0);
        pc = Emit(code, pc, 2); pc = Emit(code, pc, 1); Emit(code, pc, 0);
        long result = Run(code, stack, locals);
        NativeMemory.Free(code);
        NativeMemory.Free(stack);
        NativeMemory.Free(locals);
        return result;
    }
}
