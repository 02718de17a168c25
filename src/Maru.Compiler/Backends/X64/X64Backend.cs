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
public sealed class X64Backend : IBackend, IStreamingBackend
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

        /// <summary>test r, r + jcc and cmp a, b + jcc: two instructions either way, fused alike.</summary>
        public bool BranchOnRegisterCostsAComparison => true;

        /// <summary>idiv traps on a zero divisor and on MIN / -1: both are tested unless proven.</summary>
        public Ir.DivisionFacts DivisionChecks(Ir.Opcode op) => Ir.DivisionFacts.DivisorNonzero | Ir.DivisionFacts.NoOverflow;
    }

    public ObjectModule Generate(IrModule module, TargetPlatform target, CodeGenerationRequest request)
    {
        var (symbolName, level, listing, sources) = request;
        if (request.Parallelism > 1 && listing is null && module.Functions.Count > 1)
        {
            var stream = new FunctionStream(module, request, findExits: true);
            ParallelWork.Run(request.Parallelism, module.Functions.Count, stream.Generate);
            return stream.Finish();
        }
        var output = new ObjectModule();
        var data = DataLayout.LayOut(module, output, symbolName);
        var code = new X64CodeLayout();
        var recorder = listing is null ? null : new ListingRecorder();
        FunctionEmitter.EmitModule(new X64MachineEmitter(code), module, data, recorder, level, request.CheckBudget);
        return Finish(module, output, code, symbolName, listing, recorder, sources);
    }

    IFunctionStream IStreamingBackend.Begin(IrModule module, CodeGenerationRequest request) => new FunctionStream(module, request, findExits: false);

    /// <summary>Lays the encoded functions out (calls and sibling jumps between them resolved), with their symbols and the listing.</summary>
    private static ObjectModule Finish(IrModule module, ObjectModule output, X64CodeLayout code, Func<string, string> symbolName,
        TextWriter? listing, ListingRecorder? recorder, IReadOnlyList<Syntax.SourceFile>? sources)
    {
        if (module.Functions.Count == 0) return output;
        var places = code.WriteTo(output);
        for (var i = 0; i < module.Functions.Count; i++)
            output.Symbols.Add(new ObjectSymbol(symbolName(module.Functions[i].Name), SymbolKind.Function, SectionKind.Text, places[i].Start, places[i].Length, IsExported: true));
        if (listing is not null)
            AssemblyListing.Write(listing, output.Text, code.InstructionOffsets(), recorder!.Marks, code.DataReferences(), sources ?? []);
        return output;
    }

    /// <summary>
    /// Functions generated on any threads, in any order: each thread's machine encodes into a
    /// layout of its own, one function at a time (<see cref="X64CodeLayout.Detach"/>), and the
    /// module's layout takes them in module order (<see cref="X64CodeLayout.Adopt"/>), as if it had
    /// encoded them itself. A function's code depends only on its IR, the plan (entry labels,
    /// callees' early exits) and the data layout, so it is the sequential code. No listing (its
    /// marks are module-wide positions of one machine).
    /// </summary>
    private sealed class FunctionStream : IFunctionStream
    {
        private readonly IrModule _module;
        private readonly CodeGenerationRequest _request;
        private readonly ObjectModule _output = new();
        private readonly DataLayout _data;
        private readonly FunctionEmitter.ModulePlan _plan;
        private readonly System.Collections.Concurrent.ConcurrentBag<X64MachineEmitter> _machines = new();
        private readonly X64CodeLayout.FunctionCode?[] _functions;

        public FunctionStream(IrModule module, CodeGenerationRequest request, bool findExits)
        {
            if (request.Listing is not null) throw new InvalidOperationException("a listing needs the module generated on one machine");
            _module = module;
            _request = request;
            _data = DataLayout.LayOut(module, _output, request.SymbolName);
            var first = new X64MachineEmitter(new X64CodeLayout());
            _plan = new FunctionEmitter.ModulePlan(first, module, request.Level, findExits);
            _machines.Add(first);
            _functions = new X64CodeLayout.FunctionCode?[module.Functions.Count];
        }

        public void Optimised(IrFunction function) => _plan.AddEarlyExit(function);

        public void Generate(int index)
        {
            _request.CheckBudget?.Invoke();
            if (!_machines.TryTake(out var machine))
            {
                machine = new X64MachineEmitter(new X64CodeLayout());
                _plan.MakeFunctionLabels(machine);
            }
            _plan.Emit(machine, _module.Functions[index], _data, listing: null);
            _functions[index] = machine.Layout.Detach();
            _machines.Add(machine);
        }

        public ObjectModule Finish()
        {
            var code = new X64CodeLayout();
            foreach (var function in _functions) code.Adopt(function ?? throw new InvalidOperationException("a function was never generated"));
            return X64Backend.Finish(_module, _output, code, _request.SymbolName, listing: null, recorder: null, sources: null);
        }
    }
}

/// <summary>An instruction (by module-wide index) whose RIP-relative operand addresses data, a string or a GOT slot.</summary>
internal readonly record struct DataReference(int InstructionIndex, SectionKind TargetSection, long TargetOffset, string? Name = null);
