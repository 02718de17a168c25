using Iced.Intel;
using Maru.Compiler.Ir;
using Maru.Compiler.Backends.CodeGeneration;
using Maru.Compiler.ObjectFiles;
using Maru.Compiler.Targets;

namespace Maru.Compiler.Backends.X64;

/// <summary>
/// Generates x86-64 machine code for a whole module: the shared <see cref="FunctionEmitter"/>
/// over <see cref="X64MachineEmitter"/>, each function assembled by Iced on its own and laid out
/// by <see cref="X64CodeLayout"/>, which resolves calls and jumps between functions (direct rel32
/// calls, short or near sibling jumps); references to data are RIP-relative operands whose
/// displacements become format-neutral relocations, resolved by the object writer once it has
/// chosen addresses.
/// </summary>
public sealed class X64Backend : IBackend
{
    public TargetArchitecture Architecture => TargetArchitecture.X64;

    public bool Supports(TargetPlatform target) => target.Architecture == TargetArchitecture.X64 && target.Abi == TargetAbi.SystemV;

    public Optimisation.ITargetCosts Costs { get; } = new X64Costs();

    /// <summary>ALU, compare and memory operands take a sign-extended imm32; anything wider is a mov r, imm64.</summary>
    private sealed class X64Costs : Optimisation.ITargetCosts
    {
        public bool IsCheapConstant(long constant) => constant is >= int.MinValue and <= int.MaxValue;

        /// <summary>[base + index*scale + disp32] takes any sign-extended 32-bit displacement.</summary>
        public bool FoldsDisplacement(int size, bool registerIndex, long displacement) => displacement is >= int.MinValue and <= int.MaxValue;
    }

    public ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request)
    {
        var (symbolName, level, listing, sources) = request;
        var output = new ObjectModule();
        var data = DataLayout.LayOut(module, output, symbolName);

        var code = new X64CodeLayout();
        var recorder = listing is null ? null : new ListingRecorder();
        if (request.Parallelism > 1 && recorder is null && module.Functions.Count > 1)
        {
            // Each thread's machine encodes into a layout of its own, one function at a time; the
            // module's layout takes them in module order, as if it had encoded them itself.
            var functions = new X64CodeLayout.FunctionCode[module.Functions.Count];
            FunctionEmitter.EmitModuleInParallel(() => new X64MachineEmitter(new X64CodeLayout()),
                (machine, i) => functions[i] = ((X64MachineEmitter)machine).Layout.Detach(),
                module, data, level, request.Parallelism, request.CheckBudget);
            foreach (var function in functions) code.Adopt(function);
        }
        else
        {
            FunctionEmitter.EmitModule(new X64MachineEmitter(code), module, data, recorder, level, request.CheckBudget);
        }
        if (module.Functions.Count == 0) return output;

        var places = code.WriteTo(output);
        for (var i = 0; i < module.Functions.Count; i++)
            output.Symbols.Add(new ObjectSymbol(symbolName(module.Functions[i].Name), SymbolKind.Function, SectionKind.Text, places[i].Start, places[i].Length, IsExported: true));
        if (listing is not null)
            AssemblyListing.Write(listing, output.Text, code.InstructionOffsets(), recorder!.Marks, code.DataReferences(), sources ?? []);
        return output;
    }
}

/// <summary>An instruction (by module-wide index) whose RIP-relative operand addresses data, a string or a GOT slot.</summary>
internal readonly record struct DataReference(int InstructionIndex, SectionKind TargetSection, long TargetOffset, string? Name = null);
