using Maru.Compiler.Backends.Arm64;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Backends.Arm64;

/// <summary>
/// The listing's instruction text against llvm-objdump: every encodable generated form is
/// encoded, disassembled by llvm-objdump (one run), and must read exactly as our formatter
/// prints the instruction model, aliases and PC-relative targets included (only whitespace and
/// objdump's symbolic comments are normalised away).
/// </summary>
[TestClass]
public sealed class Arm64FormatterTests
{
    [TestMethod]
    public void FormatterTextEqualsLlvmObjdumpForEveryGeneratedForm()
    {
        var instructions = new List<Arm64Instruction>();
        foreach (var c in Arm64EncodingCases.All(new Random(11)))
        {
            if (c.Instruction is not { } instruction) continue;
            try
            {
                Arm64Encoder.Encode(instruction);
                instructions.Add(instruction);
            }
            catch (Arm64EncodingException)
            {
                // Not encodable: nothing to disassemble.
            }
        }
        var words = instructions.Select(Arm64Encoder.Encode).ToList();
        var theirs = LlvmMc.DisassembleArm64(words);

        var failures = new List<string>();
        for (var i = 0; i < instructions.Count; i++)
        {
            var ours = Arm64Formatter.Format(instructions[i], (ulong)(4 * i));
            if (ours != theirs[i]) failures.Add($"0x{words[i]:x8} at 0x{4 * i:x}: ours '{ours}', llvm-objdump '{theirs[i]}'");
        }
        Assert.IsEmpty(failures, $"{failures.Count} of {instructions.Count} differ:\n" + string.Join('\n', failures.Take(80)));
        Assert.IsGreaterThan(10000, instructions.Count);
    }
}
