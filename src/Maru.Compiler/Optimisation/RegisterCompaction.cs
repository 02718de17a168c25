using Maru.Compiler.Ir;

namespace Maru.Compiler.Optimisation;

/// <summary>
/// Renumbers the registers densely in order of first appearance (parameters keep 0..n-1), so the
/// registers that earlier passes abandoned cost the backend nothing.
/// Requires: no phis. Guarantees: registers 0..RegisterCount-1 all appear (or are parameters).
/// </summary>
internal static class RegisterCompaction
{
    public static void Run(IrFunction function)
    {
        var map = new int[function.RegisterCount];
        Array.Fill(map, -1);
        var next = function.ParameterCount;
        for (var p = 0; p < next; p++) map[p] = p;

        Operand Rename(Operand operand)
        {
            if (operand.IsConstant) return operand;
            ref var renamed = ref map[operand.Register.Index];
            if (renamed < 0) renamed = next++;
            return new VReg(renamed);
        }

        Func<Operand, Operand> use = Rename;
        Func<VReg, VReg> definition = register => Rename(register).Register;
        foreach (var block in function.Blocks) Rewrite.Uses(block, use, definition);
        function.ResetRegisterCount(next);
    }
}
