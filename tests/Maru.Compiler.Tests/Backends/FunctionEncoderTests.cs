using Iced.Intel;
using Maru.Compiler.Backends.X64;
using static Iced.Intel.AssemblerRegisters;

namespace Maru.Compiler.Tests.Backends;

/// <summary>
/// FunctionEncoder must give exactly what Iced's BlockEncoder gives for the same instructions
/// (bytes, instruction offsets, constant offsets): random functions with branches whose distances
/// sit around the short/near boundary, forward and backward, chains of branches whose shrinking
/// brings others into reach, calls and jumps out of the function, and RIP-relative operands (one
/// only an EIP-relative form reaches). One encoder serves many functions, as in a compilation: the
/// encodings it keeps from earlier functions must give the same bytes at any place.
/// </summary>
[TestClass]
public sealed class FunctionEncoderTests
{
    [TestMethod]
    public void RandomFunctionsEncodeAsIcedsBlockEncoderEncodesThem()
    {
        var encoder = new FunctionEncoder();
        var random = new Random(20261130);
        var handled = 0;
        for (var function = 0; function < 400; function++)
        {
            var instructions = RandomFunction(random, function);
            if (Compare(encoder, instructions, $"function {function}")) handled++;
        }
        Assert.AreEqual(400, handled, "every random function is one FunctionEncoder encodes itself");
    }

    [TestMethod]
    public void LabelsFarApartEncodeAsBlockEncoderEncodesThem()
    {
        // Labels numbered 1, 2, 3... (the assembler's and the emitter's) are looked up in an array; IPs
        // far apart (any block BlockEncoder takes) in a dictionary: both must give BlockEncoder's bytes.
        var encoder = new FunctionEncoder();
        var random = new Random(20261201);
        for (var function = 0; function < 100; function++)
        {
            var instructions = RandomFunction(random, function);
            ulong Spread(ulong label) => label is 0 or X64CodeLayout.Placeholder ? label : 0x10_0000 + label * 0x1000;
            for (var i = 0; i < instructions.Count; i++)
            {
                var instruction = instructions[i];
                if (instruction.IP != 0) instruction.IP = Spread(instruction.IP);
                if (instruction.Op0Kind == OpKind.NearBranch64) instruction.NearBranch64 = Spread(instruction.NearBranch64);
                else if (instruction.IsIPRelativeMemoryOperand && instruction.MemoryDisplacement64 is > 0 and < 0x1000)
                    instruction.MemoryDisplacement64 = Spread(instruction.MemoryDisplacement64);
                instructions[i] = instruction;
            }
            Assert.IsTrue(Compare(encoder, instructions, $"function {function}, spread labels"));
        }
    }

    [TestMethod]
    public void TheEmittersInstructionListMakesWhatIcedsAssemblerMakes()
    {
        // FunctionInstructions stands in for Iced's Assembler in the emitter: the same labels (IPs),
        // branch forms and targets, instruction for instruction, over several functions in a row.
        var list = new FunctionInstructions();
        var random = new Random(7);
        for (var function = 0; function < 50; function++)
        {
            var asm = new Assembler(64);
            list.Begin();
            var labels = new List<(Label Iced, ulong Ours)>();
            for (var i = 0; i < 200; i++)
            {
                if (labels.Count == 0 || random.Next(5) == 0) labels.Add((asm.CreateLabel(), list.CreateLabel()));
                var (iced, ours) = labels[random.Next(labels.Count)];
                switch (random.Next(6))
                {
                    case 0: asm.jmp(iced); list.Branch(Code.Jmp_rel8_64, ours); break;
                    case 1: asm.jne(iced); list.Branch(Code.Jne_rel8_64, ours); break;
                    case 2: asm.jbe(iced); list.Branch(Code.Jbe_rel8_64, ours); break;
                    case 3: asm.call(iced); list.Branch(Code.Call_rel32_64, ours); break;
                    case 4:
                        asm.lea(rcx, __[iced]);
                        list.Add(Instruction.Create(Code.Lea_r64_m, Register.RCX, new MemoryOperand(Register.RIP, Register.None, 1, (long)ours, 1)));
                        break;
                    default:
                        var value = random.Next(-300, 300);
                        asm.sub(rsp, value);
                        list.Add(Instruction.Create(value is >= sbyte.MinValue and <= sbyte.MaxValue ? Code.Sub_rm64_imm8 : Code.Sub_rm64_imm32, Register.RSP, value));
                        break;
                }
                var at = random.Next(labels.Count);
                if (random.Next(3) == 0 && labels[at].Iced.InstructionIndex < 0)   // not placed yet
                {
                    var label = labels[at].Iced;
                    asm.Label(ref label);
                    labels[at] = (label, labels[at].Ours);
                    list.Place(labels[at].Ours);
                    asm.nop();
                    list.Add(Instruction.Create(Code.Nopd));
                }
            }
            Assert.AreEqual(asm.Instructions.Count, list.Count);
            for (var i = 0; i < list.Count; i++)
                Assert.IsTrue(Instruction.EqualsAllBits(asm.Instructions[i], list.Items[i]), $"function {function}, instruction {i}: {asm.Instructions[i]} vs {list.Items[i]}");
            list.Reset();
        }
    }

    [TestMethod]
    public void ABranchExactlyAtTheShortReachEitherWay()
    {
        var encoder = new FunctionEncoder();
        // Filler of every length from 100 to 160 bytes between a branch and its target, both ways.
        for (var filler = 100; filler <= 160; filler++)
            foreach (var backward in new[] { false, true })
                foreach (var conditional in new[] { false, true })
                {
                    var asm = new Assembler(64);
                    var target = asm.CreateLabel();
                    if (backward) asm.Label(ref target);
                    asm.nop();
                    if (!backward) Branch(asm, conditional, target);
                    Fill(asm, filler);
                    if (backward) Branch(asm, conditional, target);
                    else asm.Label(ref target);
                    asm.ret();
                    Assert.IsTrue(Compare(encoder, asm.Instructions, $"filler {filler}, backward {backward}, jcc {conditional}"));
                }
    }

    [TestMethod]
    public void AForwardBranchAfterManyShrunkBranchesMeasuresWhatThePassSaved()
    {
        // 330 branches to themselves shrink by 6 bytes each in the first pass, before the forward
        // branch is measured: its distance, taken to where its target was, must discount them, or it
        // looks too far ever to become short (BlockEncoder then leaves it near for good).
        var encoder = new FunctionEncoder();
        foreach (var filler in new[] { 60, 120, 126, 127, 128, 140 })
        {
            var asm = new Assembler(64);
            for (var i = 0; i < 330; i++)
            {
                var self = asm.CreateLabel();
                asm.Label(ref self);
                asm.jne(self);
            }
            var forward = asm.CreateLabel();
            asm.je(forward);
            Fill(asm, filler);
            asm.Label(ref forward);
            asm.ret();
            Assert.IsTrue(Compare(encoder, asm.Instructions, $"filler {filler}"));
        }
    }

    [TestMethod]
    public void ChainsOfBranchesThatComeIntoReachPassAfterPass()
    {
        // Branches over branches, each just out of short reach until the ones it jumps over shrink:
        // forward and backward ladders whose shrinking takes several passes (up to BlockEncoder's
        // five, and past them), interleaved with calls and RIP-relative operands that are final
        // after the first pass, so that later passes see only some branches still open, with
        // targets ahead of them, behind them and on themselves.
        var encoder = new FunctionEncoder();
        var random = new Random(20261201);
        for (var function = 0; function < 400; function++)
        {
            var asm = new Assembler(64);
            var rungs = 2 + random.Next(function % 2 == 0 ? 12 : 40);
            var labels = Enumerable.Range(0, rungs + 1).Select(_ => asm.CreateLabel()).ToArray();
            // Ladders: every rung jumps to the end (forward) or the start (backward); else each to a
            // rung one to three away either way.
            var mode = random.Next(3);
            for (var r = 0; r < rungs; r++)
            {
                asm.Label(ref labels[r]);
                if (random.Next(4) == 0) asm.AddInstruction(Instruction.CreateBranch(Code.Call_rel32_64, X64CodeLayout.Placeholder));
                if (random.Next(4) == 0) asm.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RIP, Register.None, 1, 0, 8)));
                var target = mode switch
                {
                    0 => labels[rungs],
                    1 => labels[0],
                    _ => labels[Math.Clamp(r + (random.Next(2) == 0 ? -1 : 1) * random.Next(1, 4), 0, rungs)],
                };
                if (random.Next(2) == 0) asm.jne(target);
                else asm.jmp(target);
                if (random.Next(3) == 0)
                {
                    var self = asm.CreateLabel();
                    asm.Label(ref self);
                    asm.je(self);
                }
                Fill(asm, mode == 2 ? 25 + random.Next(30) : Math.Max(0, 100 + random.Next(30) - (mode == 0 ? 4 * r : 0)));
            }
            asm.Label(ref labels[rungs]);
            asm.ret();
            Assert.IsTrue(Compare(encoder, asm.Instructions, $"function {function}"));
        }
    }

    [TestMethod]
    public void WhatItDoesNotHandleIsLeftToBlockEncoder()
    {
        var asm = new Assembler(64);
        var top = asm.CreateLabel();
        asm.Label(ref top);
        asm.dec(rcx);
        asm.loop(top);   // a branch kind FunctionEncoder leaves alone
        asm.ret();
        Assert.IsFalse(new FunctionEncoder().TryEncode(asm.Instructions.ToArray(), out _, out _, out _));
    }

    private static void Branch(Assembler asm, bool conditional, Label target)
    {
        if (conditional) asm.jne(target);
        else asm.jmp(target);
    }

    /// <summary>Exactly <paramref name="bytes"/> bytes of plain instructions (10-byte movs, then 1-byte nops).</summary>
    private static void Fill(Assembler asm, int bytes)
    {
        for (; bytes >= 10; bytes -= 10) asm.mov(rax, 0x1122334455667788L);
        for (; bytes > 0; bytes--) asm.nop();
    }

    /// <summary>Encodes with both; true when FunctionEncoder did it itself (and then agreed).</summary>
    private static bool Compare(FunctionEncoder encoder, IReadOnlyList<Instruction> instructions, string what)
    {
        var list = instructions.ToList();
        var bytes = new List<byte>();
        var ok = BlockEncoder.TryEncode(64, new InstructionBlock(new ListWriter(bytes), list, 0), out var error, out var expected,
            BlockEncoderOptions.ReturnNewInstructionOffsets | BlockEncoderOptions.ReturnConstantOffsets);
        Assert.IsTrue(ok, error);
        if (!encoder.TryEncode(list.ToArray(), out var actualBytes, out var offsets, out var constants)) return false;
        CollectionAssert.AreEqual(bytes.ToArray(), actualBytes, what + ": bytes");
        // (The encoder's arrays: the function's instructions first.)
        CollectionAssert.AreEqual(expected.NewInstructionOffsets, offsets.AsSpan(0, list.Count).ToArray(), what + ": offsets");
        CollectionAssert.AreEqual(expected.ConstantOffsets, constants.AsSpan(0, list.Count).ToArray(), what + ": constant offsets");
        return true;
    }

    private static List<Instruction> RandomFunction(Random random, int seed)
    {
        var asm = new Assembler(64);
        var labels = Enumerable.Range(0, 1 + random.Next(12)).Select(_ => asm.CreateLabel()).ToArray();
        var placed = new bool[labels.Length];
        var count = 5 + random.Next(seed % 4 == 0 ? 400 : 60);
        for (var i = 0; i < count; i++)
        {
            var k = random.Next(labels.Length);
            if (!placed[k] && random.Next(4) == 0)
            {
                asm.Label(ref labels[k]);
                placed[k] = true;
            }
            var label = labels[random.Next(labels.Length)];
            switch (random.Next(16))
            {
                case 0: asm.jmp(label); break;
                case 1: asm.je(label); break;
                case 2: asm.jl(label); break;
                case 3: asm.jae(label); break;
                case 4: asm.AddInstruction(Instruction.CreateBranch(Code.Call_rel32_64, X64CodeLayout.Placeholder)); break;
                case 5: asm.AddInstruction(Instruction.CreateBranch(Code.Jmp_rel32_64, X64CodeLayout.Placeholder)); break;
                case 6: asm.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RIP, Register.None, 1, 0, 8))); break;   // a data operand (address 0, patched later)
                case 7: asm.lea(rcx, __[label]); break;                       // an address in the function
                case 8: asm.mov(rdx, 0x0102030405060708L); break;             // 10 bytes
                case 9: asm.add(__qword_ptr[rdi + rcx * 8 + 0x1000], 7); break;
                case 10: asm.cmp(r9, r10); break;
                case 11: Fill(asm, random.Next(1, 90)); break;                // distances around the short reach
                case 12: asm.imul(rax, rbx, 1000); break;
                case 13: asm.mov(__qword_ptr[label], 0x55); break;            // RIP-relative with an immediate after the displacement
                case 14: asm.AddInstruction(Instruction.Create(Code.Cmp_rm64_imm8, new MemoryOperand(Register.RIP, Register.None, 1, 0xF000_0000, 8), 3)); break;   // out of rel32 reach: the EIP form
                default: asm.nop(); break;
            }
        }
        for (var k = 0; k < labels.Length; k++)
            if (!placed[k])
            {
                asm.Label(ref labels[k]);
                asm.nop();
            }
        asm.ret();
        return asm.Instructions.ToList();
    }

    private sealed class ListWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
