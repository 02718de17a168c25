using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Lowering;

/// <summary>Lowers every definition of the unit: integers become globals, functions become IR functions.</summary>
public static class ModuleLowerer
{
    public static IrModule Lower(CompilationUnit unit, DiagnosticBag diagnostics)
    {
        var module = new IrModule();
        // Lowering a function may add to the unit a definition of a file read by load/require that
        // it uses (CompilationUnit.Resolve); those are lowered in turn.
        for (var i = 0; i < unit.Definitions.Count; i++)
        {
            var definition = unit.Definitions[i];
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
                    }
                    catch (CompilationError error)
                    {
                        diagnostics.Add(error.Diagnostic);
                    }
                    break;
            }
        }
        return module;
    }
}
