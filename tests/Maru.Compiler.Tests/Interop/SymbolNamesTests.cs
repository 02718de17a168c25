using Maru.Compiler.Interop;

namespace Maru.Compiler.Tests.Interop;

[TestClass]
public sealed class SymbolNamesTests
{
    [TestMethod]
    [DataRow("bench", "bench")]
    [DataRow("_private", "_private")]
    [DataRow("fib_iter", "fib_iter")]
    [DataRow("x1", "x1")]
    [DataRow("fib-iter", "__maru_fib_2diter")]
    [DataRow("prime?", "__maru_prime_3f")]
    [DataRow("+", "__maru__2b")]
    [DataRow("1st", "__maru_1st")]
    [DataRow("__maru_x", "__maru__5f_5fmaru_5fx")]
    [DataRow("a_b-c", "__maru_a_5fb_2dc")]
    [DataRow("<point>-x", "__maru__3cpoint_3e_2dx")]
    [DataRow("é", "__maru__c3_a9")]
    public void MapsNames(string maruName, string expected) =>
        Assert.AreEqual(expected, SymbolNames.ToSymbolName(maruName));

    [TestMethod]
    public void EveryEncodedSymbolIsACIdentifier()
    {
        foreach (var name in SampleNames())
            Assert.IsTrue(SymbolNames.IsCIdentifier(SymbolNames.ToSymbolName(name)), name);
    }

    [TestMethod]
    public void RoundTrips()
    {
        foreach (var name in SampleNames())
        {
            var symbol = SymbolNames.ToSymbolName(name);
            Assert.IsTrue(SymbolNames.TryFromSymbolName(symbol, out var back), symbol);
            Assert.AreEqual(name, back);
        }
    }

    [TestMethod]
    public void IsInjective()
    {
        var names = SampleNames().Distinct().ToList();
        var symbols = names.Select(SymbolNames.ToSymbolName).ToList();
        Assert.HasCount(names.Count, symbols.Distinct());
    }

    [TestMethod]
    public void IsInjectiveOverAllShortNames()
    {
        // Every name of up to two characters over an alphabet that exercises each branch of the rule.
        const string alphabet = "a_-?Z09_é";
        var names = new HashSet<string>();
        foreach (var c1 in alphabet)
        {
            names.Add(c1.ToString());
            foreach (var c2 in alphabet) names.Add($"{c1}{c2}");
        }
        var symbols = new Dictionary<string, string>();
        foreach (var name in names)
        {
            var symbol = SymbolNames.ToSymbolName(name);
            Assert.IsTrue(symbols.TryAdd(symbol, name), $"'{name}' and '{symbols.GetValueOrDefault(symbol)}' both map to {symbol}");
            Assert.IsTrue(SymbolNames.TryFromSymbolName(symbol, out var back));
            Assert.AreEqual(name, back);
        }
    }

    [TestMethod]
    [DataRow("__maru_abc")]       // "abc" is exported unchanged, so this is never produced
    [DataRow("__maru_a_2")]       // truncated escape
    [DataRow("__maru_a_2D")]      // uppercase hex
    [DataRow("__maru_a_zz")]      // not hex
    [DataRow("__maru__ff")]       // invalid UTF-8
    [DataRow("__maru__61")]       // escaped letter: not canonical
    [DataRow("__maru_")]          // empty name
    [DataRow("fib-iter")]         // not a C identifier at all
    [DataRow("")]
    public void RejectsSymbolsNeverProduced(string symbol) =>
        Assert.IsFalse(SymbolNames.TryFromSymbolName(symbol, out _));

    [TestMethod]
    public void RejectsEmptyNames() =>
        Assert.ThrowsExactly<ArgumentException>(() => SymbolNames.ToSymbolName(""));

    private static IEnumerable<string> SampleNames() =>
    [
        "bench", "fib-iter", "fib_iter", "fib_2diter", "__maru_fib_2diter", "prime?", "is-even?", "+", "-", "*",
        "list->array", "<point>-x", "set-oop-at", "a.b", "self.name", "λ", "naïve", "__maru_", "_", "__", "x",
        "A", "1", "1st", "\U0001F600", "%", "~!@#$%^&*",
    ];
}
