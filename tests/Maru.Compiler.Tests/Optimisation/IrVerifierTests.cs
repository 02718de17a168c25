using Maru.Compiler.Diagnostics;
using Maru.Compiler.Ir;
using Maru.Compiler.Optimisation;

namespace Maru.Compiler.Tests.Optimisation;

[TestClass]
public sealed class IrVerifierTests
{
    private static IrFunction Function(int parameters, out BasicBlock entry)
    {
        var function = new IrFunction("f", parameters, SourceLocation.None);
        entry = function.NewBlock();
        return function;
    }

    private static Instruction Make(Opcode op, VReg? destination, params Operand[] arguments) =>
        new(op, destination, arguments, null, SourceLocation.None);

    private static void AssertRejected(IrFunction function, IrForm form, string fragment)
    {
        var error = IrVerifier.FindError(function, form);
        Assert.IsNotNull(error, "expected a verification error");
        StringAssert.Contains(error, fragment);
    }

    [TestMethod]
    public void AWellFormedFunctionPasses()
    {
        var function = Function(1, out var entry);
        var sum = function.NewRegister();
        entry.Instructions.Add(Make(Opcode.Add, sum, function.Parameter(0), Operand.Of(1)));
        entry.Terminator = new Return(sum);
        Assert.IsNull(IrVerifier.FindError(function, IrForm.Final));
        Assert.IsNull(IrVerifier.FindError(function, IrForm.Ssa));
    }

    [TestMethod]
    public void UnterminatedBlocksAreRejected()
    {
        var function = Function(0, out _);
        AssertRejected(function, IrForm.Plain, "not terminated");
    }

    [TestMethod]
    public void ReadsBeforeAssignmentOnSomePathAreRejected()
    {
        var function = Function(1, out var entry);
        var x = function.NewRegister();
        var then = function.NewBlock();
        var join = function.NewBlock();
        entry.Terminator = new Branch(function.Parameter(0), then, join);
        then.Instructions.Add(Make(Opcode.Copy, x, Operand.Of(1)));
        then.Terminator = new Jump(join);
        join.Terminator = new Return(x);
        AssertRejected(function, IrForm.Plain, "before any assignment");
        AssertRejected(function, IrForm.Ssa, "does not dominate");
    }

    [TestMethod]
    public void WrongOperandCountsAndMisplacedAllocasAreRejected()
    {
        var function = Function(0, out var entry);
        entry.Instructions.Add(Make(Opcode.Add, function.NewRegister(), Operand.Of(1)));
        entry.Terminator = new Return(Operand.Of(0));
        AssertRejected(function, IrForm.Plain, "expected 2 operand(s)");

        var other = Function(0, out var start);
        var next = other.NewBlock();
        start.Terminator = new Jump(next);
        next.Instructions.Add(Make(Opcode.Alloca, other.NewRegister(), Operand.Of(8)));
        next.Terminator = new Return(Operand.Of(0));
        AssertRejected(other, IrForm.Plain, "alloca outside the entry");
    }

    [TestMethod]
    public void PhisNeverReachTheBackend()
    {
        var function = Function(1, out var entry);
        var a = function.NewBlock();
        var b = function.NewBlock();
        var join = function.NewBlock();
        entry.Terminator = new Branch(function.Parameter(0), a, b);
        a.Terminator = new Jump(join);
        b.Terminator = new Jump(join);
        var phi = new Phi(function.NewRegister());
        phi.Inputs.Add(new PhiInput(a, Operand.Of(1)));
        phi.Inputs.Add(new PhiInput(b, Operand.Of(2)));
        join.Phis.Add(phi);
        join.Terminator = new Return(phi.Destination);
        Assert.IsNull(IrVerifier.FindError(function, IrForm.Ssa));
        AssertRejected(function, IrForm.Final, "phi outside SSA form");

        phi.Inputs.RemoveAt(1);
        AssertRejected(function, IrForm.Ssa, "one input per predecessor");
    }

    [TestMethod]
    public void DoubleDefinitionsAreRejectedInSsa()
    {
        var function = Function(0, out var entry);
        var x = function.NewRegister();
        entry.Instructions.Add(Make(Opcode.Copy, x, Operand.Of(1)));
        entry.Instructions.Add(Make(Opcode.Copy, x, Operand.Of(2)));
        entry.Terminator = new Return(x);
        Assert.IsNull(IrVerifier.FindError(function, IrForm.Plain));
        AssertRejected(function, IrForm.Ssa, "defined more than once");
    }
}
