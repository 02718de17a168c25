using Maru.Compiler.Backends.RegisterAllocation;
using Maru.Compiler.Ir;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>
/// The O0 allocation: every virtual register in its own frame slot (slot i for register i), no
/// value ever in a register between instructions, nothing treated as dead. Straight code that is
/// easy to follow in a debugger and in the listing; the same emitter as O1 consumes it.
/// </summary>
internal static class SlotAllocator
{
    public static Allocation Allocate(IrFunction function)
    {
        var locations = new Location[function.RegisterCount];
        for (var v = 0; v < locations.Length; v++) locations[v] = Location.InSlot(v);
        return new Allocation(locations, function.RegisterCount, 0, null, null);
    }
}
