using Maru.Compiler.Interop;
using Microsoft.CodeAnalysis.CSharp;

namespace Maru.Compiler.Tests.Interop;

[TestClass]
public sealed class CSharpNamesTests
{
    [TestMethod]
    public void TheKeywordListIsExactlyRoslynsReservedKeywords()
    {
        var reserved = SyntaxFacts.GetReservedKeywordKinds().Select(SyntaxFacts.GetText).ToHashSet(StringComparer.Ordinal);
        Assert.IsTrue(reserved.Contains("class") && reserved.Count > 70, string.Join(" ", reserved));
        CollectionAssert.AreEquivalent(reserved.Order().ToList(), CSharpNames.Keywords.Order().ToList());
        foreach (var keyword in reserved.Where(k => k.All(char.IsAsciiLetter))) // Maru words never hold '_'
            Assert.AreEqual("@" + keyword, CSharpNames.ToParameterName(keyword), keyword);
        // Contextual keywords are ordinary names.
        Assert.AreEqual("value", CSharpNames.ToParameterName("value"));
    }

    [TestMethod]
    [DataRow("fib-iter", "FibIter")]
    [DataRow("make-point", "MakePoint")]
    [DataRow("*global*", "Global")]
    [DataRow("triple", "Triple")]
    [DataRow("fib_iter", "FibIter")]
    [DataRow("bench", "Bench")]
    [DataRow("makePoint", "MakePoint")]
    [DataRow("prime?", "IsPrime")]
    [DataRow("even?", "IsEven")]
    [DataRow("is-even?", "IsEven")]
    [DataRow("is?", "Is")]
    [DataRow("list->array", "ListToArray")]
    [DataRow("string->symbol?", "IsStringToSymbol")]
    [DataRow("->list", "List")]
    [DataRow("a->", "A")]
    [DataRow("set-oop-at", "SetOopAt")]
    [DataRow("<point>-x", "PointX")]
    [DataRow("self.name", "SelfName")]
    [DataRow("2nd", "_2nd")]
    [DataRow("_2nd", "_2nd")]
    [DataRow("_new-<string>", "_NewString")]
    [DataRow("__bits", "_Bits")]
    [DataRow("x2", "X2")]
    [DataRow("+", "Plus")]
    [DataRow("-", "Minus")]
    [DataRow("*", "Star")]
    [DataRow("/", "Slash")]
    [DataRow("<", "Less")]
    [DataRow(">", "Greater")]
    [DataRow("=", "Equal")]
    [DataRow("<=", "LessEqual")]
    [DataRow("!=", "BangEqual")]
    [DataRow("?", "Question")]
    [DataRow("λ", "U03BB")]
    public void MethodNames(string maruName, string expected) =>
        Assert.AreEqual(expected, CSharpNames.ToMethodName(maruName));

    [TestMethod]
    [DataRow("n", "n")]
    [DataRow("my-arg", "myArg")]
    [DataRow("My-Arg", "myArg")]
    [DataRow("x_y", "xY")]
    [DataRow("int", "@int")]
    [DataRow("class", "@class")]
    [DataRow("long", "@long")]
    [DataRow("is", "@is")]
    [DataRow("value", "value")]
    [DataRow("1st", "_1st")]
    [DataRow("+", "plus")]
    [DataRow("ok?", "ok")]
    [DataRow("*count*", "count")]
    public void ParameterNames(string maruName, string expected) =>
        Assert.AreEqual(expected, CSharpNames.ToParameterName(maruName));

    [TestMethod]
    public void EveryResultIsAnIdentifier()
    {
        foreach (var name in new[] { "+", "fib-iter", "2nd", "λ", "?", "->", "a->b", "\U0001F600", "__", "_new-<string>" })
        {
            Assert.IsTrue(CSharpNames.IsSimpleIdentifier(CSharpNames.ToMethodName(name)), name);
            Assert.IsTrue(CSharpNames.IsSimpleIdentifier(CSharpNames.ToParameterName(name).TrimStart('@')), name);
        }
    }
}
