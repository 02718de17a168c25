// Calls the Maru functions of lisp/*.l through the generated MaruExports class: one line per
// interop kind of define-export (see docs/language.md, "Calling Maru from C#").
using System.Runtime.InteropServices;
using System.Text;

const string Pangram = "The quick brown fox jumps over the lazy dog";
const string Accented = "naïve café";

// <string>: Maru gets a NUL-terminated UTF-8 copy, valid during the call.
Console.WriteLine($"string         count-vowels  = {MaruExports.CountVowels(Pangram)}");
Console.WriteLine($"string         code-points   = {MaruExports.CodePoints(Accented)}");

// <bytes>: Maru reads a ReadOnlySpan<byte> in place (address and length), no copy.
Console.WriteLine($"bytes          fletcher16    = {MaruExports.Fletcher16("abcde"u8)}");

// <mutable-bytes>: Maru writes into a Span<byte> the caller owns.
var buffer = "Hello, Maru!"u8.ToArray();
var changed = MaruExports.UpcaseAscii(buffer);
Console.WriteLine($"mutable-bytes  upcase-ascii  = {Encoding.ASCII.GetString(buffer)} ({changed} changed)");

// <pointer> result: the address of a Maru string global, read from C#.
Console.WriteLine($"pointer        motto-address = {Marshal.PtrToStringUTF8(MaruExports.MottoAddress())}");

// (<callback> <long>): Maru calls back into C# through a function pointer.
unsafe
{
    Console.WriteLine($"callback       sum-of        = {MaruExports.SumOf(&Callbacks.Square, 10)}");
}

// <bool>: a predicate's non-zero word is true (1L << 40 has no bit in the low 32); bool arguments arrive as 1 or 0.
Console.WriteLine($"bool           leap-year?    = {MaruExports.IsLeapYear(2024)} {MaruExports.IsLeapYear(1900)} {MaruExports.IsLeapYear(2000)}");
Console.WriteLine($"bool           bit-set?      = {MaruExports.IsBitSet(1L << 40, 1L << 40)} {MaruExports.IsBitSet(long.MinValue, long.MinValue)} {MaruExports.IsBitSet(-1, 6)} {MaruExports.IsBitSet(5, 2)}");
Console.WriteLine($"bool           as-word       = {MaruExports.AsWord(true)} {MaruExports.AsWord(false)}");

// (extern 'strlen) and (extern 'snprintf): Maru calls the C library.
Console.WriteLine($"extern strlen  utf8-length   = {MaruExports.Utf8Length(Accented)}");
Span<byte> point = stackalloc byte[32];
var length = (int)Math.Min(MaruExports.FormatPoint(point, 3, -4), point.Length - 1);
Console.WriteLine($"extern snprintf format-point = {Encoding.UTF8.GetString(point[..length])}");

internal static class Callbacks
{
    /// <summary>Called by Maru's sum-of for each of 1..n.</summary>
    [UnmanagedCallersOnly]
    public static long Square(long x) => x * x;
}
