using System.Buffers;
using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;

namespace Maru.Runtime;

/// <summary>
/// One compiled function of a <see cref="MaruModule"/>: its name, its C# view (every parameter and
/// the result <c>long</c>, unless a <c>define-export</c> says otherwise), its address, and
/// <see cref="Invoke"/>, which passes arguments the way the signature says.
/// </summary>
public sealed unsafe class MaruFunction
{
    private readonly MaruModule _module;
    private readonly ExportedFunction _export;

    internal MaruFunction(MaruModule module, ExportedFunction export, nint pointer)
    {
        _module = module;
        _export = export;
        Pointer = pointer;
        var words = 0;
        foreach (var parameter in export.Signature.Parameters) words += parameter.MaruParameterCount;
        WordCount = words;
    }

    /// <summary>The Maru name, e.g. <c>fib-iter</c>.</summary>
    public string Name => _export.MaruName;

    /// <summary>The symbol in the library (see docs/language.md, symbol names).</summary>
    public string SymbolName => _export.SymbolName;

    /// <summary>Where the definition starts.</summary>
    public SourceLocation Location => _export.Location;

    /// <summary>The parameters as C# sees them (a span is one parameter here and two in Maru) and the result type.</summary>
    public ExportSignature Signature => _export.Signature;

    /// <summary>Machine words the native function takes: its Maru parameter count.</summary>
    public int WordCount { get; }

    /// <summary>The native entry point; valid until the module is disposed.</summary>
    public nint Pointer { get; }

    /// <summary>
    /// Calls the function, converting each argument as its declared kind requires: <c>&lt;long&gt;</c>
    /// takes any integer (or bool, char); <c>&lt;pointer&gt;</c> an <see cref="nint"/> (or long, or
    /// null for 0); <c>&lt;string&gt;</c> a string (passed as a NUL-terminated UTF-8 copy valid for
    /// the call; null is 0); <c>&lt;bytes&gt;</c> and <c>&lt;mutable-bytes&gt;</c> a byte[],
    /// <see cref="ArraySegment{T}"/>, <see cref="Memory{T}"/> or <see cref="ReadOnlyMemory{T}"/> of bytes
    /// (pinned for the call; Maru receives the address and the length); a callback an <see cref="nint"/>
    /// (e.g. the address of an <c>[UnmanagedCallersOnly]</c> method); <c>&lt;bool&gt;</c> a bool (Maru
    /// receives 1 or 0). The result is the returned word (an address for a <c>&lt;pointer&gt;</c>
    /// result); for a <c>&lt;bool&gt;</c> result, 1 when the word is non-zero and 0 when it is zero, as C
    /// tests it (<see cref="InvokePredicate"/> gives the bool). The module stays loaded until the call returns.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong number or kind of arguments.</exception>
    /// <exception cref="ObjectDisposedException">The module was disposed before the call.</exception>
    public long Invoke(params object?[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var parameters = Signature.Parameters;
        if (arguments.Length != parameters.Count)
            throw new ArgumentException($"'{Name}' takes {parameters.Count} argument(s) ({string.Join(" ", parameters.Select(p => p.MaruName))}), not {arguments.Length}", nameof(arguments));
        if (WordCount > MaxWords) throw new NotSupportedException($"Invoke passes at most {MaxWords} words; '{Name}' takes {WordCount}: call it through its pointer");

        Span<long> words = stackalloc long[WordCount];
        var strings = new List<nint>();
        var pins = new List<MemoryHandle>();
        try
        {
            var w = 0;
            for (var i = 0; i < parameters.Count; i++)
            {
                var parameter = parameters[i];
                var argument = arguments[i];
                switch (parameter.Type)
                {
                    case InteropType.Long:
                        words[w++] = ToLong(argument, parameter);
                        break;
                    case InteropType.Pointer or InteropType.Callback:
                        words[w++] = argument switch
                        {
                            null => 0,
                            nint address => address,
                            long value => value,
                            _ => throw WrongKind(parameter, argument, "an nint"),
                        };
                        break;
                    case InteropType.Bool:
                        words[w++] = argument is bool flag ? (flag ? 1 : 0) : throw WrongKind(parameter, argument, "a bool");
                        break;
                    case InteropType.String:
                        if (argument is not (null or string)) throw WrongKind(parameter, argument, "a string");
                        var text = argument is string s ? Marshal.StringToCoTaskMemUTF8(s) : 0;
                        if (text != 0) strings.Add(text);
                        words[w++] = text;
                        break;
                    case InteropType.Bytes or InteropType.MutableBytes:
                        var memory = argument switch
                        {
                            byte[] array => new ReadOnlyMemory<byte>(array),
                            ArraySegment<byte> segment => segment,
                            Memory<byte> writable => writable,
                            ReadOnlyMemory<byte> readable when parameter.Type == InteropType.Bytes => readable,
                            _ => throw WrongKind(parameter, argument, parameter.Type == InteropType.Bytes ? "a byte[] or (ReadOnly)Memory<byte>" : "a byte[] or Memory<byte>"),
                        };
                        var pin = memory.Pin();
                        pins.Add(pin);
                        words[w++] = (nint)pin.Pointer;
                        words[w++] = memory.Length;
                        break;
                    default:
                        throw new NotSupportedException($"parameter kind {parameter.Type}");
                }
            }

            _module.Enter();
            try
            {
                var result = CallWords(Pointer, words);
                return Signature.Result == InteropType.Bool && result != 0 ? 1 : result;
            }
            finally
            {
                _module.Exit();
            }
        }
        finally
        {
            foreach (var text in strings) Marshal.FreeCoTaskMem(text);
            foreach (var pin in pins) pin.Dispose();
        }
    }

    /// <summary>
    /// Calls the function as <see cref="Invoke"/> does and tests the word it returns as C does: any
    /// non-zero word (not only 1) is true. Meant for <c>&lt;bool&gt;</c> results and Maru predicates.
    /// </summary>
    public bool InvokePredicate(params object?[] arguments) => Invoke(arguments) != 0;

    /// <summary>The name and signature, e.g. <c>fib-iter (n:Long) -> Long</c>.</summary>
    public override string ToString() => $"{Name} ({string.Join(" ", Signature.Parameters.Select(p => $"{p.MaruName}:{p.Type}"))}) -> {Signature.Result}";

    internal const int MaxWords = 8;

    private static long CallWords(nint f, ReadOnlySpan<long> w) => w.Length switch
    {
        0 => ((delegate* unmanaged<long>)f)(),
        1 => ((delegate* unmanaged<long, long>)f)(w[0]),
        2 => ((delegate* unmanaged<long, long, long>)f)(w[0], w[1]),
        3 => ((delegate* unmanaged<long, long, long, long>)f)(w[0], w[1], w[2]),
        4 => ((delegate* unmanaged<long, long, long, long, long>)f)(w[0], w[1], w[2], w[3]),
        5 => ((delegate* unmanaged<long, long, long, long, long, long>)f)(w[0], w[1], w[2], w[3], w[4]),
        6 => ((delegate* unmanaged<long, long, long, long, long, long, long>)f)(w[0], w[1], w[2], w[3], w[4], w[5]),
        7 => ((delegate* unmanaged<long, long, long, long, long, long, long, long>)f)(w[0], w[1], w[2], w[3], w[4], w[5], w[6]),
        8 => ((delegate* unmanaged<long, long, long, long, long, long, long, long, long>)f)(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]),
        _ => throw new NotSupportedException(),
    };

    private long ToLong(object? argument, InteropParameter parameter) => argument switch
    {
        long value => value,
        int value => value,
        short value => value,
        sbyte value => value,
        byte value => value,
        ushort value => value,
        uint value => value,
        ulong value => unchecked((long)value),
        nint value => value,
        bool value => value ? 1 : 0,
        char value => value,
        _ => throw WrongKind(parameter, argument, "an integer"),
    };

    private ArgumentException WrongKind(InteropParameter parameter, object? argument, string expected) =>
        new($"parameter '{parameter.MaruName}' of '{Name}' is {parameter.Type} and takes {expected}, not {(argument is null ? "null" : argument.GetType().Name)}");
}
