using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Tests.Syntax;

/// <summary>ExactArray's unchecked store is taken only for arrays of exactly the element type; DatumStack is a list with a mark.</summary>
[TestClass]
public sealed class DatumStackTests
{
    private static SymbolDatum Sym(string name) => new(name, SourceLocation.None);

    [TestMethod]
    public void AStoreIntoAMoreDerivedArraySeenAsTheBaseTypeIsStillRefused()
    {
        Datum[] pairs = new PairDatum[2];   // covariant: a PairDatum[] seen as a Datum[]
        Assert.ThrowsExactly<ArrayTypeMismatchException>(() => ExactArray.Set(pairs, 0, Sym("x")));
        var pair = new PairDatum(Sym("a"), NilDatum.Empty, SourceLocation.None);
        ExactArray.Set(pairs, 1, pair);
        Assert.AreSame(pair, pairs[1]);
    }

    [TestMethod]
    public void AStoreOutsideTheArrayIsRefused()
    {
        var items = new Datum[2];
        Assert.ThrowsExactly<IndexOutOfRangeException>(() => ExactArray.Set(items, 2, Sym("x")));
        Assert.ThrowsExactly<IndexOutOfRangeException>(() => ExactArray.Set(items, -1, Sym("x")));
        ExactArray.Set(items, 1, Sym("y"));
        Assert.AreEqual("y", ((SymbolDatum)items[1]).Name);
    }

    [TestMethod]
    public void TheStackGrowsTruncatesToAMarkAndInsertsAtTheBottom()
    {
        var stack = new DatumStack();
        for (var i = 0; i < 100; i++) stack.Push(new IntegerDatum(i, SourceLocation.None));
        Assert.AreEqual(100, stack.Count);
        Assert.AreEqual(57L, ((IntegerDatum)stack[57]).Value);
        stack.TruncateTo(40);
        Assert.AreEqual(40, stack.Count);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ = stack[40]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => stack.TruncateTo(41));
        Assert.AreEqual(39L, ((IntegerDatum)stack.Pop()).Value);
        stack.InsertAtBottom(Sym("first"));
        Assert.AreEqual(40, stack.Count);
        Assert.AreEqual("first", ((SymbolDatum)stack[0]).Name);
        Assert.AreEqual(0L, ((IntegerDatum)stack[1]).Value);
        Assert.AreEqual(38L, ((IntegerDatum)stack[39]).Value);
        stack.Clear();
        Assert.AreEqual(0, stack.Count);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => stack.Pop());
    }
}
