using System.Text;
using Maru.Compiler.Tests.TestSupport;

namespace Maru.Compiler.Tests.Optimisation;

/// <summary>
/// Differential testing: random (but always terminating) programs of arithmetic, lets, ifs,
/// and/or, sets, bounded loops, calls and memory, compiled at O0 and O1 and run on the same
/// arguments. Any difference is an optimiser bug; the seed is in the failure message.
/// </summary>
[TestClass]
public sealed class RandomProgramTests
{
    private static readonly string[] Binary = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", "=", "!=", ">=", ">"];
    private static readonly long[] Constants = [0, 1, -1, 2, 3, 7, 8, -8, 16, 63, 64, 65, long.MinValue, long.MaxValue];

    private sealed class Generator(int seed)
    {
        private readonly Random _random = new(seed);
        private readonly List<string> _variables = ["a", "b", "c"];
        private int _loops;

        public string Expression(int depth)
        {
            var pick = depth <= 0 ? _random.Next(3) : _random.Next(14);
            switch (pick)
            {
                case 0: return Constants[_random.Next(Constants.Length)].ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 1:
                case 2: return _variables[_random.Next(_variables.Count)];
                case 3:
                case 4:
                case 5: return $"({Binary[_random.Next(Binary.Length)]} {Expression(depth - 1)} {Expression(depth - 1)})";
                case 6: return $"({(_random.Next(2) == 0 ? "-" : "not")} {Expression(depth - 1)})";
                case 7: return $"(if {Expression(depth - 1)} {Expression(depth - 1)} {Expression(depth - 1)})";
                case 8: return $"({(_random.Next(2) == 0 ? "and" : "or")} {Expression(depth - 1)} {Expression(depth - 1)})";
                case 9: return $"(set {_variables[_random.Next(_variables.Count)]} {Expression(depth - 1)})";
                case 10:
                {
                    var name = $"v{_variables.Count}";
                    var init = Expression(depth - 1);
                    _variables.Add(name);
                    var body = Expression(depth - 1);
                    _variables.Remove(name);
                    return $"(let (({name} {init})) {body})";
                }
                case 11:
                {
                    if (_loops >= 2) return Expression(depth - 1);
                    // A counter no body can touch keeps every loop finite.
                    var counter = $"i{_loops++}";
                    var loop = $"(let (({counter} 0)) (while (< {counter} {_random.Next(1, 6)}) {Expression(depth - 1)} (set {counter} (+ {counter} 1))) {Expression(depth - 1)})";
                    _loops--;
                    return loop;
                }
                case 12: return $"(helper {Expression(depth - 1)} {Expression(depth - 1)})";
                default: return $"(begin-mem {Expression(depth - 1)})";
            }
        }
    }

    private const string Prelude = """
        (define cell 0)
        (define-function helper (x y) (if (< x y) (- y x) (* x 3)))
        (define-function begin-mem (x) (set-oop-at (address-of cell) 0 (+ (oop-at (address-of cell) 0) x)) (oop-at (address-of cell) 0))
        """;

    [TestMethod]
    public void RandomProgramsAgreeAtO0AndO1() =>
        AssertAgree(150, seed => $"(define-function p{seed} (a b c) {new Generator(seed).Expression(6)})");

    [TestMethod]
    public void RandomTailRecursiveProgramsAgreeAtO0AndO1() =>
        AssertAgree(100, seed =>
        {
            var generator = new Generator(1000 + seed);
            // a counts down (kept non-negative and bounded) so every recursion ends.
            return $"(define-function p{seed} (a b c) (if (<= a 0) {generator.Expression(4)} " +
                   $"(p{seed} (- (& a 15) 1) {generator.Expression(3)} {generator.Expression(3)})))";
        });

    [TestMethod]
    public void RandomAccumulatingRecursionAgreesAtO0AndO1() =>
        AssertAgree(120, seed =>
        {
            var generator = new Generator(5000 + seed);
            var random = new Random(seed);
            var op = random.Next(2) == 0 ? "+" : "*";
            // Recursion modulo an accumulator, the call on either side of + or * (and sometimes a
            // second call, fib-like); the other operand may have effects before or after the call.
            // k is out of the generator's reach (no set can change it), so every recursion ends.
            var call = $"(p{seed} (- k 1) {generator.Expression(2)} {generator.Expression(2)})";
            var other = random.Next(3) == 0 ? $"(p{seed} (- k 2) b c)" : generator.Expression(3);
            var combined = random.Next(2) == 0 ? $"({op} {other} {call})" : $"({op} {call} {other})";
            return $"(define-function p{seed} (a b c) (let ((k (& a 15))) (if (<= a 0) {generator.Expression(3)} {combined})))";
        });

    [TestMethod]
    public void RandomDivisibilityTestsAgreeAtO0AndO1() =>
        AssertAgree(120, seed =>
        {
            var generator = new Generator(9000 + seed);
            var random = new Random(seed);
            long[] divisors = [2, 4, 8, -2, -16, 1L << 40, long.MinValue];
            var d = divisors[random.Next(divisors.Length)];
            var q = random.Next(3) == 0 ? divisors[random.Next(divisors.Length)] : d;
            var test = random.Next(2) == 0 ? $"(= (% x {d}) 0)" : $"(!= 0 (% x {d}))";
            return $"(define-function p{seed} (a b c) (let ((x {generator.Expression(3)})) (if {test} (/ x {q}) (+ (/ x {q}) {generator.Expression(2)}))))";
        });

    private static void AssertAgree(int programs, Func<int, string> function)
    {
        var source = new StringBuilder(Prelude);
        for (var seed = 0; seed < programs; seed++) source.AppendLine(function(seed));
        var text = source.ToString();
        using var o0 = CompiledLibrary.Compile(text, OptimisationLevel.O0);
        using var o1 = CompiledLibrary.Compile(text, OptimisationLevel.O1);
        long[][] inputs = [[0, 0, 0], [1, 2, 3], [-5, 7, 64], [long.MinValue, -1, 2], [long.MaxValue, 9, -9]];
        for (var seed = 0; seed < programs; seed++)
            foreach (var input in inputs)
            {
                var expected = o0.Call($"p{seed}", input);
                var cellAfterO0 = o0.Global("cell");
                var actual = o1.Call($"p{seed}", input);
                Assert.AreEqual(expected, actual, $"p{seed} ({string.Join(" ", input)}) differs:\n{function(seed)}");
                Assert.AreEqual(cellAfterO0, o1.Global("cell"), $"p{seed}: the memory effects differ");
            }
    }
}
