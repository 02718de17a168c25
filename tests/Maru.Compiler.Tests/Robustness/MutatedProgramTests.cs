using System.Text;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;
using Maru.Compiler.Tests.Conformance;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Robustness;

/// <summary>
/// The whole compiler on broken input: every conformance program, mutated at random (tokens
/// dropped, duplicated, swapped, parentheses moved, numbers and names changed), must either
/// compile or be refused with located diagnostics — never an internal error, an exception,
/// a hang or a crash of the test host. Fixed seeds, so a failure reproduces.
/// </summary>
[TestClass]
public sealed class MutatedProgramTests
{
    private const int MutantsPerProgram = 20;

    private static readonly string[] Replacements =
        ["(", ")", "'", "`", ",", ",@", "0", "-1", "9223372036854775807", "x", "n", "+", "/", "set", "let", "if", "while",
         "define", "define-form", "lambda", "quote", "address-of", "oop-at", "(compile-begin)", "(compile-end)", "\"s\"", "?a", "()", "."];

    public static IEnumerable<object[]> Programs() => ConformanceProgram.Names().Select(name => new object[] { name });

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void MutantsCompileOrReportLocatedErrors(string name)
    {
        var original = File.ReadAllText(Path.Combine(ConformanceProgram.ProgramsDirectory, name + ".l"));
        var random = new Random(name.Aggregate(17, (hash, c) => hash * 31 + c));
        foreach (var level in new[] { OptimisationLevel.O0, OptimisationLevel.O1 })
        {
            for (var i = 0; i < MutantsPerProgram; i++)
            {
                var mutant = Mutate(original, random);
                var result = MaruCompiler.Compile([new SourceFile("mutant.l", mutant)], CompiledLibrary.OptionsAt(level));
                var internalErrors = result.Diagnostics.Where(d => d.Code == DiagnosticCode.InternalError).ToList();
                Assert.IsEmpty(internalErrors, $"{name} mutant {i} at {level}:\n{string.Join("\n", internalErrors)}\n--- program\n{mutant}");
                if (!result.Success)
                {
                    Assert.IsNull(result.Library, "a failed compilation has no library");
                    Assert.IsTrue(result.Diagnostics.Any(d => d.IsError), "a failed compilation says why");
                }
            }
        }
    }

    /// <summary>One to three token-level edits of the source.</summary>
    private static string Mutate(string source, Random random)
    {
        var tokens = Tokens(source);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && tokens.Count > 0; e++)
        {
            var at = random.Next(tokens.Count);
            switch (random.Next(4))
            {
                case 0: tokens.RemoveAt(at); break;
                case 1: tokens.Insert(at, tokens[random.Next(tokens.Count)]); break;
                case 2: tokens[at] = Replacements[random.Next(Replacements.Length)]; break;
                default:
                    var other = random.Next(tokens.Count);
                    (tokens[at], tokens[other]) = (tokens[other], tokens[at]);
                    break;
            }
        }
        return string.Join(" ", tokens);
    }

    /// <summary>A rough split into parentheses, strings, comments-free atoms: good enough to mutate.</summary>
    private static List<string> Tokens(string source)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length > 0) tokens.Add(current.ToString());
            current.Clear();
        }
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            if (c == ';')
            {
                Flush();
                while (i < source.Length && source[i] != '\n') i++;
                continue;
            }
            if (c == '"')
            {
                Flush();
                var start = i++;
                while (i < source.Length && source[i] != '"') i += source[i] == '\\' ? 2 : 1;
                tokens.Add(source[start..Math.Min(i + 1, source.Length)]);
                continue;
            }
            if (char.IsWhiteSpace(c)) { Flush(); continue; }
            if (c is '(' or ')') { Flush(); tokens.Add(c.ToString()); continue; }
            current.Append(c);
        }
        Flush();
        return tokens;
    }
}
