namespace Maru.Compiler.Interop;

/// <summary>What C# sees for one exported parameter or result. Every one is a machine word (or two) in Maru.</summary>
public enum InteropType
{
    /// <summary><c>&lt;long&gt;</c>: C# long. The default.</summary>
    Long,
    /// <summary><c>&lt;pointer&gt;</c>: C# nint, a raw address.</summary>
    Pointer,
    /// <summary><c>&lt;bool&gt;</c>: C# bool. Maru sees 1 or 0; a Maru result is true when any bit of the word is set (C's 0/non-zero).</summary>
    Bool,
    /// <summary><c>&lt;string&gt;</c>: C# string, passed as a NUL-terminated UTF-8 copy valid for the call.</summary>
    String,
    /// <summary><c>&lt;bytes&gt;</c>: C# ReadOnlySpan&lt;byte&gt;; Maru receives the address and, in the next parameter, the length.</summary>
    Bytes,
    /// <summary><c>&lt;mutable-bytes&gt;</c>: C# Span&lt;byte&gt;; as <see cref="Bytes"/>, and Maru may write through it.</summary>
    MutableBytes,
    /// <summary><c>(&lt;callback&gt; types...)</c>: a C# <c>delegate* unmanaged&lt;..., long&gt;</c> that Maru calls.</summary>
    Callback,
}

/// <summary>One C# parameter of an export: the Maru parameter it comes from, and for callbacks their parameter types.</summary>
public sealed record InteropParameter(string MaruName, InteropType Type, IReadOnlyList<InteropType> CallbackParameters)
{
    /// <summary>Spans occupy two Maru parameters: the address, then the length.</summary>
    public int MaruParameterCount => Type is InteropType.Bytes or InteropType.MutableBytes ? 2 : 1;
}

/// <summary>How C# sees an exported function: its parameters (in C# order) and result.</summary>
public sealed record ExportSignature(IReadOnlyList<InteropParameter> Parameters, InteropType Result)
{
    /// <summary>The signature of an undeclared export: every parameter and the result are long.</summary>
    public static ExportSignature AllLong(IEnumerable<string> maruParameters)
    {
        // A loop, not LINQ: Maru.Runtime makes one for every export it reads in a process's first compilation, where LINQ's first use is JIT time.
        var parameters = new List<InteropParameter>();
        foreach (var name in maruParameters) parameters.Add(new InteropParameter(name, InteropType.Long, []));
        return new(parameters, InteropType.Long);
    }

    public bool IsAllLong => Result == InteropType.Long && Parameters.All(p => p.Type == InteropType.Long);
}
