using System.Runtime.InteropServices;
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
        var count = function.RegisterCount;
        var map = Scratch<int>.Rent(count);
        Array.Fill(map, -1, 0, count);
        var renamer = new Renamer(map, function.ParameterCount);
        for (var p = 0; p < function.ParameterCount; p++) map[p] = p;
        foreach (var block in CollectionsMarshal.AsSpan(function.Blocks)) Rewrite.Uses(block, ref renamer, definitions: true);
        function.ResetRegisterCount(renamer.Next);
        Scratch<int>.Return(map);
    }

    private struct Renamer(int[] map, int next) : Rewrite.IOperandRewriter
    {
        public int Next = next;

        public Operand Use(Operand operand) => operand.IsConstant ? operand : Definition(operand.Register);

        public VReg Definition(VReg register)
        {
            ref var renamed = ref map[register.Index];
            if (renamed < 0) renamed = Next++;
            return new VReg(renamed);
        }
    }
}
