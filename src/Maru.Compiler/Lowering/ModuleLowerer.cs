using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>
/// Lowers every definition of the unit: integers become globals, functions become IR functions.
/// On a large unit the functions are lowered on several threads (<see cref="ParallelWork"/>), each
/// against a module of its own, and then taken into the module in definition order: the strings
/// they intern get the names, and the imports the places, the sequential order gives them, so the
/// module is the one sequential lowering builds, byte for byte.
/// </summary>
public static class ModuleLowerer
{
    public static IrModule Lower(CompilationUnit unit, DiagnosticBag diagnostics) => Lower(unit, diagnostics, options: null);

    /// <param name="options">Decides how many threads lower (<see cref="ParallelWork.Workers(CompilationOptions, int)"/>); null: one.</param>
    /// <param name="alongside">
    /// Work that only reads the unit, run as one more item when the functions are lowered on
    /// several threads (the caller's thread may take it first, the others lowering meanwhile);
    /// not run at all otherwise. It must not throw.
    /// </param>
    internal static IrModule Lower(CompilationUnit unit, DiagnosticBag diagnostics, CompilationOptions? options, Action? alongside = null)
    {
        var module = new IrModule();
        var functions = 0;
        foreach (var definition in unit.Definitions)
            if (definition is FunctionDefinition) functions++;
        var lowered = 0;       // functions lowered so far
        var instructions = 0;  // their IR instructions
        // Lowering a function may add to the unit a definition of a file read by load/require that
        // it uses (CompilationUnit.Resolve); those are lowered in turn, in the order they were
        // added. Then the unit grows while it is lowered: only one thread lowers.
        for (var i = 0; i < unit.Definitions.Count; i++)
        {
            var definition = unit.Definitions[i];
            if (definition is FunctionDefinition && options is not null && unit.DefinedByLoadedFiles.Count == 0
                && Workers(options, lowered, instructions, functions - lowered) is var workers and > 1)
            {
                LowerInParallel(unit, i, module, diagnostics, workers, alongside);
                break;
            }
            var function = LowerOne(definition, unit, module, diagnostics);
            if (function is null) continue;
            lowered++;
            foreach (var block in function.Blocks) instructions += block.Instructions.Count + 1;
        }
        return module;
    }

    /// <summary>
    /// How many threads lower the <paramref name="remaining"/> functions: the module's size is
    /// estimated from the functions lowered so far, decided once a few are (a small module, the
    /// run-time API's one function, never wakes a helper).
    /// </summary>
    private static int Workers(CompilationOptions options, int lowered, int instructions, int remaining)
    {
        if (remaining < 2) return 1;
        if (options.ParallelismForTesting is { } forced) return forced;
        if (lowered < 8) return 1;
        return ParallelWork.Workers(options, instructions + (int)Math.Min(int.MaxValue / 2, (long)instructions * remaining / lowered));
    }

    /// <summary>Lowers one definition into <paramref name="module"/>, in the sequential order: the function lowered, or null.</summary>
    private static IrFunction? LowerOne(Definition definition, CompilationUnit unit, IrModule module, DiagnosticBag diagnostics)
    {
        switch (definition)
        {
            case IntegerDefinition integer:
                module.Globals.Add(new IrGlobal(integer.Name, integer.Value, integer.Location));
                break;
            case StringDefinition text:
                module.StringGlobals.Add(new IrStringGlobal(text.Name, module.InternString(text.Value), text.Location));
                break;
            case FunctionDefinition function:
                try
                {
                    var lowered = FunctionLowerer.Lower(function, unit, module);
                    ControlFlow.RemoveUnreachableBlocks(lowered);
                    module.Functions.Add(lowered);
                    return lowered;
                }
                catch (CompilationError error)
                {
                    diagnostics.Add(error.Diagnostic);
                }
                break;
        }
        return null;
    }

    /// <summary>
    /// Lowers definitions <paramref name="first"/>.. of the unit (which no longer grows: nothing
    /// is defined by loaded files) on <paramref name="workers"/> threads, each function against a
    /// module of its own, then takes them into <paramref name="module"/> in definition order. A
    /// function whose lowering failed (an error in the program, or a helper's smaller stack) is
    /// lowered again there, on the caller's thread, where the sequential compiler lowers it: its
    /// diagnostics are the sequential ones, in their order.
    /// </summary>
    private static void LowerInParallel(CompilationUnit unit, int first, IrModule module, DiagnosticBag diagnostics, int workers, Action? alongside)
    {
        var count = unit.Definitions.Count - first;
        var done = new (IrFunction Function, IrModule Own)?[count];
        var extra = alongside is null ? 0 : 1;   // item 0: the work alongside
        ParallelWork.Run(workers, count + extra, item =>
        {
            var k = item - extra;
            if (k < 0)
            {
                alongside!();
                return;
            }
            if (unit.Definitions[first + k] is not FunctionDefinition definition) return;
            var own = new IrModule();
            try
            {
                var function = FunctionLowerer.Lower(definition, unit, own);
                ControlFlow.RemoveUnreachableBlocks(function);
                done[k] = (function, own);
            }
            catch (Exception)
            {
                // lowered again in order below
            }
        });
        for (var k = 0; k < count; k++)
        {
            if (done[k] is not var (function, own))
            {
                LowerOne(unit.Definitions[first + k], unit, module, diagnostics);
                continue;
            }
            Adopt(function, own, module);
            module.Functions.Add(function);
        }
    }

    /// <summary>
    /// Takes into <paramref name="module"/> what lowering <paramref name="function"/> added to its
    /// own module: its strings, interned now (a string new to the module gets the next name, as it
    /// would have when lowered here), its StringAddress instructions renamed to match, and its imports.
    /// </summary>
    private static void Adopt(IrFunction function, IrModule own, IrModule module)
    {
        if (own.Functions.Count != 0 || own.Globals.Count != 0 || own.StringGlobals.Count != 0)
            throw new InvalidOperationException("a function's lowering added more to its module than strings and imports");
        foreach (var import in own.Imports) module.AddImport(import);
        if (own.Strings.Count == 0) return;
        Dictionary<string, string>? renamed = null;
        foreach (var text in own.Strings)
        {
            var name = module.InternString(text.Value);
            if (name != text.Name) (renamed ??= new(StringComparer.Ordinal))[text.Name] = name;
        }
        if (renamed is null) return;
        foreach (var block in function.Blocks)
        {
            var instructions = block.Instructions;
            for (var i = 0; i < instructions.Count; i++)
                if (instructions[i] is { Op: Opcode.StringAddress, Symbol: { } local } instruction && renamed.TryGetValue(local, out var name))
                    instructions[i] = new Instruction(instruction.Op, instruction.Destination, instruction.Arguments, name, instruction.Location);
        }
    }
}
