using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.Arm64;

/// <summary>
/// Generates AArch64 machine code for a whole module: the shared <see cref="FunctionEmitter"/>
/// over <see cref="Arm64MachineEmitter"/>. Branches within the module are resolved here; data,
/// GOT slots and function addresses (adrp pairs) become relocations the object writer resolves.
/// Conditional branches reach ±1 MiB; a module with a farther one is emitted again with every
/// conditional branch as an inverted branch over an unconditional one.
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
    }

    public ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request)
    {
        var convention = CallingConvention.For(target.Abi);
        var output = Emit(module, convention, request, longBranches: false);
        return output ?? Emit(module, convention, request, longBranches: true)!;
    }

    private static ObjectModule? Emit(IrModule module, CallingConvention convention, CodeGenerationRequest request, bool longBranches)
    {
        var output = new ObjectModule();
        var data = DataLayout.LayOut(module, output, request.SymbolName);
        var assembler = new Arm64WordAssembler { LongConditionalBranches = longBranches };
        var machine = new Arm64MachineEmitter(assembler, convention);
        var recorder = request.Listing is null ? null : new ListingRecorder();
        var functionLabels = FunctionEmitter.EmitModule(machine, module, data, recorder, request.Level, request.CheckBudget);
        if (module.Functions.Count == 0) return output;
        if (!assembler.Finish(output)) return null;

        for (var i = 0; i < module.Functions.Count; i++)
        {
            var start = 4 * assembler.PositionOf(functionLabels[i]);
            var end = i + 1 < module.Functions.Count ? 4 * assembler.PositionOf(functionLabels[i + 1]) : output.Text.Count;
            output.Symbols.Add(new ObjectSymbol(request.SymbolName(module.Functions[i].Name), SymbolKind.Function, SectionKind.Text, start, end - start, IsExported: true));
        }
        if (request.Listing is not null)
            Arm64Listing.Write(request.Listing, assembler.Words, recorder!.Marks, request.Sources ?? []);
        return output;
    }
}
