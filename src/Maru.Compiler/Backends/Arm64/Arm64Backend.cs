using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// Generates AArch64 machine code for a whole module: the shared <see cref="FunctionEmitter"/>
/// over <see cref="Arm64MachineEmitter"/>. Branches within the module are resolved here; data,
/// GOT slots and function addresses (adrp pairs) become relocations the object writer resolves.
/// The <see cref="Arm64Assembler"/> relaxes what is out of reach: a conditional branch beyond
/// ±1 MiB becomes an inverted branch over a b, a b or bl beyond ±128 MiB adrp/add/br (blr) through x16.
/// </summary>
public sealed class Arm64Backend : IBackend
{
    public TargetArchitecture Architecture => TargetArchitecture.Arm64;

    /// <summary>AAPCS64 (Linux) and Apple arm64 (macOS): they differ only in where variadic arguments go, which the shared emitter decides from the convention.</summary>
    public bool Supports(TargetPlatform target) =>
        target.Architecture == TargetArchitecture.Arm64 && target.Abi is TargetAbi.Aapcs64 or TargetAbi.AppleArm64;

    public Optimisation.ITargetCosts Costs { get; } = new Arm64Costs();

    /// <summary>A constant one movz or movn makes (one halfword differs from all zeros or all ones) costs one instruction; more is worth a register in loops.</summary>
    private sealed class Arm64Costs : Optimisation.ITargetCosts
    {
        public bool IsCheapConstant(long constant)
        {
            int zeros = 0, ones = 0;
            for (var h = 0; h < 4; h++)
            {
                var half = ((ulong)constant >> (16 * h)) & 0xffff;
                if (half == 0) zeros++;
                if (half == 0xffff) ones++;
            }
            return zeros >= 3 || ones >= 3;
        }

        /// <summary>
        /// ldr/str take an immediate offset only without an index register: unsigned and scaled by
        /// the size up to 4095 * size, or unscaled from -256 to 255 (ldur/stur); [base, index, lsl #3] has none.
        /// </summary>
        public bool FoldsDisplacement(int size, bool registerIndex, long displacement) =>
            !registerIndex && (displacement is >= -256 and <= 255 || (displacement >= 0 && displacement % size == 0 && displacement / size <= 4095));

        /// <summary>cbz/cbnz tests a register in one instruction; a comparison takes cmp + b.cond.</summary>
        public bool BranchOnRegisterCostsAComparison => false;

        /// <summary>sdiv gives 0 for x / 0 and MIN for MIN / -1 by itself; a remainder's msub needs a csel for a zero divisor.</summary>
        public Ir.DivisionFacts DivisionChecks(Ir.Opcode op) => op == Ir.Opcode.Remainder ? Ir.DivisionFacts.DivisorNonzero : Ir.DivisionFacts.None;
    }

    public ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request)
    {
        var output = new ObjectModule();
        var data = DataLayout.LayOut(module, output, request.SymbolName);
        var assembler = new Arm64Assembler { ReachLimit = request.BranchReachForTesting };
        var machine = new Arm64MachineEmitter(assembler, CallingConvention.For(target.Abi));
        var recorder = request.Listing is null ? null : new ListingRecorder();
        var functionLabels = FunctionEmitter.EmitModule(machine, module, data, recorder, request.Level, request.CheckBudget);
        if (module.Functions.Count == 0) return output;
        var assembly = assembler.Assemble(output);

        var functionStarts = new Dictionary<int, string>();
        for (var i = 0; i < module.Functions.Count; i++)
        {
            var start = assembly.OffsetOf(machine.LabelOf(functionLabels[i]));
            var end = i + 1 < module.Functions.Count ? assembly.OffsetOf(machine.LabelOf(functionLabels[i + 1])) : output.Text.Count;
            var name = request.SymbolName(module.Functions[i].Name);
            output.Symbols.Add(new ObjectSymbol(name, SymbolKind.Function, SectionKind.Text, start, end - start, IsExported: true));
            functionStarts.TryAdd(start, module.Functions[i].Name);
        }
        if (request.Listing is not null)
            Arm64Listing.Write(request.Listing, assembly, output, functionStarts, recorder!.Marks, request.Sources ?? []);
        return output;
    }
}
