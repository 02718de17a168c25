using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Maru.Runtime;

public sealed unsafe partial class MaruModule
{
    /// <summary>
    /// The compiled function <paramref name="maruName"/> as a delegate: <c>Func&lt;long&gt;</c> up to
    /// <c>Func&lt;long, long, long, long, long, long, long&gt;</c> for the common all-<c>long</c> case
    /// (these hold the module loaded for the length of each call), or any non-generic delegate type
    /// whose parameters marshal to the function's machine words (e.g. <c>nint</c>, or
    /// <c>[MarshalAs(UnmanagedType.LPUTF8Str)] string</c> for a <c>&lt;string&gt;</c> parameter), through
    /// <see cref="Marshal.GetDelegateForFunctionPointer{TDelegate}(nint)"/>; such a delegate is valid
    /// until <see cref="Dispose"/>. For the fastest calls cast <see cref="GetFunctionPointer"/> to a
    /// <c>delegate* unmanaged&lt;long, long&gt;</c>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No compiled function has that name.</exception>
    /// <exception cref="ArgumentException">The delegate's parameter count is not the function's word count, or it passes or returns bool.</exception>
    public TDelegate GetFunction<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] TDelegate>(string maruName) where TDelegate : Delegate
    {
        var function = GetFunction(maruName);
        var type = typeof(TDelegate);
        var arity = type.GetMethod("Invoke")!.GetParameters().Length;
        if (arity != function.WordCount)
            throw new ArgumentException($"'{maruName}' takes {function.WordCount} word(s) ({string.Join(" ", function.Signature.Parameters.Select(p => p.MaruName))}); {type.Name} takes {arity}");
        // The marshaller passes a bool as a 4-byte BOOL and reads a bool result from the low 32 bits:
        // a Maru word 2^32 would be false. <bool> needs a conversion a delegate type cannot declare.
        var invoke = type.GetMethod("Invoke")!;
        if (invoke.ReturnType == typeof(bool) || invoke.GetParameters().Any(p => p.ParameterType == typeof(bool)))
            throw new ArgumentException($"{type.Name} passes or returns bool, which the marshaller converts as a 4-byte BOOL while Maru uses the whole word: " +
                $"declare long (0 is false, anything else true), or call GetFunction(\"{maruName}\").Invoke or InvokePredicate");
        var f = function.Pointer;
        Delegate? result = type switch
        {
            _ when type == typeof(Func<long>) => new Func<long>(() => { Enter(); try { return ((delegate* unmanaged<long>)f)(); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long>) => new Func<long, long>(a => { Enter(); try { return ((delegate* unmanaged<long, long>)f)(a); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long, long>) => new Func<long, long, long>((a, b) => { Enter(); try { return ((delegate* unmanaged<long, long, long>)f)(a, b); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long, long, long>) => new Func<long, long, long, long>((a, b, c) => { Enter(); try { return ((delegate* unmanaged<long, long, long, long>)f)(a, b, c); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long, long, long, long>) => new Func<long, long, long, long, long>((a, b, c, d) =>
                { Enter(); try { return ((delegate* unmanaged<long, long, long, long, long>)f)(a, b, c, d); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long, long, long, long, long>) => new Func<long, long, long, long, long, long>((a, b, c, d, e) =>
                { Enter(); try { return ((delegate* unmanaged<long, long, long, long, long, long>)f)(a, b, c, d, e); } finally { Exit(); } }),
            _ when type == typeof(Func<long, long, long, long, long, long, long>) => new Func<long, long, long, long, long, long, long>((a, b, c, d, e, g) =>
                { Enter(); try { return ((delegate* unmanaged<long, long, long, long, long, long, long>)f)(a, b, c, d, e, g); } finally { Exit(); } }),
            _ when type.IsGenericType => throw new NotSupportedException(
                $"{type.Name}: generic delegates other than Func<long, ..., long> (up to six parameters) cannot be bound to native code; declare a delegate type, use GetFunction(name).Invoke, or cast GetFunctionPointer to a delegate* unmanaged"),
            _ => null,
        };
        return (TDelegate)(result ?? Marshal.GetDelegateForFunctionPointer<TDelegate>(f));
    }
}
