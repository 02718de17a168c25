using System.Text;
using Maru.Compiler.Ir;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Execution;

/// <summary>
/// Every binary operator with a constant on either side (immediates that fit imm8, imm32, only
/// unsigned 32 bits, or need 64), as a value and as a branch condition, against the IR's
/// executable definition (<see cref="OpcodeFacts.Evaluate"/>).
/// </summary>
public abstract class InstructionSelectionTests : ExecutionTests
{
    private static readonly (string Name, Opcode Op)[] Operators =
    [
        ("+", Opcode.Add), ("-", Opcode.Subtract), ("*", Opcode.Multiply), ("/", Opcode.Divide), ("%", Opcode.Remainder),
        ("&", Opcode.And), ("|", Opcode.Or), ("^", Opcode.Xor), ("<<", Opcode.ShiftLeft), (">>", Opcode.ShiftRight),
        ("<", Opcode.Less), ("<=", Opcode.LessOrEqual), ("=", Opcode.Equal), ("!=", Opcode.NotEqual), (">=", Opcode.GreaterOrEqual), (">", Opcode.Greater),
    ];

    private static readonly long[] Constants =
    [
        0, 1, -1, 2, 7, -7, 8, 63, 64, 127, 128, -128, -129, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, (long)int.MinValue - 1,
        uint.MaxValue, 0x123456789, long.MaxValue, long.MinValue,
    ];

    private static readonly long[] Samples = [0, 1, -1, 2, -2, 3, 7, -7, 63, 64, 65, 1000, -1000, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue, long.MinValue + 1];

    [TestMethod]
    public void ConstantOperandsOnEitherSide()
    {
        var source = new StringBuilder();
        for (var o = 0; o < Operators.Length; o++)
            for (var c = 0; c < Constants.Length; c++)
            {
                var constant = Constants[c].ToString(System.Globalization.CultureInfo.InvariantCulture);
                source.Append($"(define-function k{o}x{c}r (a) ({Operators[o].Name} a {constant}))\n");
                source.Append($"(define-function k{o}x{c}l (a) ({Operators[o].Name} {constant} a))\n");
                source.Append($"(define-function k{o}x{c}br (a) (if ({Operators[o].Name} a {constant}) 11 22))\n");
                source.Append($"(define-function k{o}x{c}bl (a) (if ({Operators[o].Name} {constant} a) 11 22))\n");
            }
        using var library = Compile(source.ToString());
        for (var o = 0; o < Operators.Length; o++)
            for (var c = 0; c < Constants.Length; c++)
                foreach (var a in Samples)
                {
                    var (name, op) = Operators[o];
                    var k = Constants[c];
                    Assert.AreEqual(op.Evaluate(a, k), library.Call($"k{o}x{c}r", a), $"({name} {a} {k})");
                    Assert.AreEqual(op.Evaluate(k, a), library.Call($"k{o}x{c}l", a), $"({name} {k} {a})");
                    Assert.AreEqual(op.Evaluate(a, k) != 0 ? 11 : 22, library.Call($"k{o}x{c}br", a), $"(if ({name} {a} {k}) ...)");
                    Assert.AreEqual(op.Evaluate(k, a) != 0 ? 11 : 22, library.Call($"k{o}x{c}bl", a), $"(if ({name} {k} {a}) ...)");
                }
    }

    [TestMethod]
    public void RegisterOperandsAsBranchConditionsAndWithTheResultInEitherOperand()
    {
        var source = new StringBuilder();
        for (var o = 0; o < Operators.Length; o++)
        {
            var name = Operators[o].Name;
            source.Append($"(define-function b{o} (a b) (if ({name} a b) 11 22))\n");
            source.Append($"(define-function n{o} (a b) (if (not ({name} a b)) 11 22))\n");
            // The result overwrites an operand variable: the two-address forms with the destination on either side.
            source.Append($"(define-function x{o} (a b) (set a ({name} a b)) a)\n");
            source.Append($"(define-function y{o} (a b) (set b ({name} a b)) b)\n");
            source.Append($"(define-function s{o} (a) ({name} a a))\n");
        }
        using var library = Compile(source.ToString());
        for (var o = 0; o < Operators.Length; o++)
        {
            var (name, op) = Operators[o];
            foreach (var a in Samples)
            {
                foreach (var b in Samples)
                {
                    var expected = op.Evaluate(a, b);
                    Assert.AreEqual(expected != 0 ? 11 : 22, library.Call($"b{o}", a, b), $"(if ({name} {a} {b}) ...)");
                    Assert.AreEqual(expected == 0 ? 11 : 22, library.Call($"n{o}", a, b), $"(if (not ({name} {a} {b})) ...)");
                    Assert.AreEqual(expected, library.Call($"x{o}", a, b), $"(set a ({name} {a} {b}))");
                    Assert.AreEqual(expected, library.Call($"y{o}", a, b), $"(set b ({name} {a} {b}))");
                }
                Assert.AreEqual(op.Evaluate(a, a), library.Call($"s{o}", a), $"({name} {a} {a})");
            }
        }
    }

    [TestMethod]
    public void ConstantsStoredToGlobalsLandInTheirOwnWord()
    {
        // mov qword [rip+disp], imm32: the relocation must account for the immediate after the displacement.
        using var library = Compile("""
            (define before 1)
            (define target 2)
            (define after 3)
            (define-function small () (set target -5) 0)
            (define-function wide () (set target 0x123456789) 0)
            (define-function from-register (x) (set target x) (set after (+ x 1)) 0)
            """);
        library.Call("small");
        Assert.AreEqual(-5, library.Global("target"));
        library.Call("wide");
        Assert.AreEqual(0x123456789, library.Global("target"));
        library.Call("from-register", 40);
        Assert.AreEqual(40, library.Global("target"));
        Assert.AreEqual(41, library.Global("after"));
        Assert.AreEqual(1, library.Global("before"));
    }

    [TestMethod]
    public void AddressingModesWithConstantAndVariableIndexes()
    {
        using var library = Compile("""
            (define-function w3 (p) (oop-at p 3))
            (define-function wneg (p) (oop-at p -1))
            (define-function wi (p i) (oop-at p i))
            (define-function b5 (p) (string-at p 5))
            (define-function bi (p i) (string-at p i))
            (define-function set-w2 (p v) (set-oop-at p 2 v))
            (define-function set-wi-const (p i) (set-oop-at p i -5))
            (define-function set-wi-big (p i) (set-oop-at p i 0x123456789))
            (define-function set-b-const (p i) (set-string-at p i 300))
            (define-function set-b (p i v) (set-string-at p i v))
            (define-function copy-words (from to n) (let ((i 0)) (while (< i n) (set-oop-at to i (oop-at from i)) (set i (+ i 1)))) n)
            """);
        var words = new long[] { 10, 11, 12, 13, 14, 15 };
        var copy = new long[6];
        var bytes = new byte[] { 1, 2, 3, 4, 5, 250, 7, 8 };
        unsafe
        {
            fixed (long* w = words)
            fixed (long* c = copy)
            fixed (byte* b = bytes)
            {
                Assert.AreEqual(13, library.Call("w3", (long)w));
                Assert.AreEqual(11, library.Call("wneg", (long)(w + 2)));
                Assert.AreEqual(15, library.Call("wi", (long)w, 5));
                Assert.AreEqual(250, library.Call("b5", (long)b));
                Assert.AreEqual(8, library.Call("bi", (long)b, 7));
                library.Call("set-w2", (long)w, -9);
                Assert.AreEqual(-9, words[2]);
                library.Call("set-wi-const", (long)w, 4);
                Assert.AreEqual(-5, words[4]);
                library.Call("set-wi-big", (long)w, 0);
                Assert.AreEqual(0x123456789, words[0]);
                library.Call("set-b-const", (long)b, 0);
                Assert.AreEqual(44, bytes[0]);
                library.Call("set-b", (long)b, 1, 0x1ff);
                Assert.AreEqual(0xff, bytes[1]);
                Assert.AreEqual(6, library.Call("copy-words", (long)w, (long)c, 6));
                CollectionAssert.AreEqual(words, copy);
            }
        }
    }
}

[TestClass]
public sealed class InstructionSelectionTestsAtO0 : InstructionSelectionTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O0;
}

[TestClass]
public sealed class InstructionSelectionTestsAtO1 : InstructionSelectionTests
{
    protected override OptimisationLevel Level => OptimisationLevel.O1;
}
