namespace Maru.Compiler.Optimisation;

/// <summary>
/// The multiplier and shift that turn signed 64-bit division by a constant into a multiply-high
/// (Granlund and Montgomery, "Division by invariant integers using multiplication", 1994; the
/// search of Hacker's Delight, section 10-4): for 2 &lt;= d &lt; 2^63, the smallest p >= 64 with
/// 2^p > anc * (d - 2^p mod d), where anc = 2^63 - 1 - 2^63 mod d is the largest dividend whose
/// remainder is d - 1; then M = ceil(2^p / d) (possibly >= 2^63, i.e. negative as a word, in which
/// case the caller adds the dividend back) and s = p - 64.
/// </summary>
internal static class DivisionMagic
{
    public static (long Multiplier, int Shift) Signed(long d)
    {
        if (d < 2) throw new ArgumentOutOfRangeException(nameof(d), d, "the divisor must be at least 2");
        const ulong twoTo63 = 1UL << 63;
        var divisor = (ulong)d;
        var anc = twoTo63 - 1 - twoTo63 % divisor;
        var p = 63;
        ulong q1 = twoTo63 / anc, r1 = twoTo63 - q1 * anc;          // 2^p / anc, 2^p mod anc
        ulong q2 = twoTo63 / divisor, r2 = twoTo63 - q2 * divisor;  // 2^p / d, 2^p mod d
        ulong delta;
        do
        {
            p++;
            q1 *= 2;
            r1 *= 2;
            if (r1 >= anc) { q1++; r1 -= anc; }
            q2 *= 2;
            r2 *= 2;
            if (r2 >= divisor) { q2++; r2 -= divisor; }
            delta = divisor - r2;
        } while (q1 < delta || (q1 == delta && r1 == 0));
        return (unchecked((long)(q2 + 1)), p - 64);
    }
}
