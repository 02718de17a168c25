using System.Buffers.Binary;
using Maru.Compiler;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Interop;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Runtime.Native;

/// <summary>
/// What crosses between Maru.Runtime and the native compiler library (Maru.Compiler.Native): a
/// compilation request (sources and the options Maru.Runtime sets) and its
/// <see cref="CompilationResult"/>, as flat little-endian bytes. Both sides are this file, so they
/// agree by construction; <see cref="Protocol"/> changes whenever the layout does, and a library
/// answering another number is not used.
/// <para>
/// Read and written by hand (<see cref="Writer"/>, <see cref="Reader"/>: integers, and strings as
/// their UTF-16 code units with a count, null as -1; every target is little-endian) rather than with
/// BinaryWriter/BinaryReader, streams and UTF-8: the host's side runs in the first compilation of a
/// process, where every BCL path it touches is paid for the first time (the stream-and-UTF-8 version
/// cost ~10 ms of it: the first UTF-8 transcoding in each direction alone costs milliseconds), and
/// in every warm compilation, where it allocated streams, encoders and buffers.
/// </para>
/// <para>
/// A request may name the file to write the library to: the native compiler then creates it
/// (<see cref="LibraryFolder.Write"/>, the same code as the host's) and returns no bytes, so in the
/// first compilation of a process the host runs no file code of its own. If it cannot, the bytes
/// come back and the host writes them (and falls back as it does for its own writes).
/// </para>
/// </summary>
internal static class CompilerWire
{
    public const int Protocol = 2;

    /// <summary>What the result says about the library: none (errors), its bytes, or written to the request's path.</summary>
    private enum LibraryKind : byte { None, Bytes, Written }

    /// <summary>A decoded request: the sources, the options, and where to write the library (null: return its bytes).</summary>
    public readonly record struct Request(IReadOnlyList<SourceFile> Sources, CompilationOptions Options, string? OutputPath);

    /// <summary>The options a request carries: everything else is the compiler's default, on both paths.</summary>
    public static byte[] WriteRequest(IReadOnlyList<SourceFile> sources, CompilationOptions options, string? outputPath = null)
    {
        var capacity = 64 + (options.LibraryName.Length + (options.BaseDirectory?.Length ?? 0) + (outputPath?.Length ?? 0)) * 3;
        for (var i = 0; i < sources.Count; i++) capacity += 8 + (sources[i].Path.Length + sources[i].Text.Length) * 3;
        var writer = new Writer(capacity);
        writer.String(options.Target.RuntimeIdentifier);
        writer.String(options.LibraryName);
        writer.String(options.BaseDirectory);
        writer.Int32((int)options.Optimisation);
        writer.Int64(options.MaxEvaluationSteps);
        writer.Bool(options.GenerateCSharpShims);
        writer.String(outputPath);
        writer.Int32(sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            writer.String(sources[i].Path);
            writer.String(sources[i].Text);
        }
        return writer.ToArray();
    }

    public static unsafe Request ReadRequest(byte* bytes, int length, Action<string>? compileTimeOutput)
    {
        var reader = new Reader(new ReadOnlySpan<byte>(bytes, length));
        var rid = reader.String();
        var target = TargetPlatform.Known.FirstOrDefault(t => t.RuntimeIdentifier == rid)
            ?? throw new InvalidDataException($"unknown target '{rid}' in a compilation request");
        var options = new CompilationOptions
        {
            Target = target,
            LibraryName = reader.String() ?? throw new InvalidDataException("a compilation request without a library name"),
            BaseDirectory = reader.String(),
            Optimisation = (OptimisationLevel)reader.Int32(),
            MaxEvaluationSteps = reader.Int64(),
            GenerateCSharpShims = reader.Bool(),
            CompileTimeOutput = compileTimeOutput,
        };
        var outputPath = reader.String();
        var sources = new SourceFile[reader.Count()];
        for (var i = 0; i < sources.Length; i++) sources[i] = new SourceFile(reader.String() ?? "", reader.String() ?? "");
        return new Request(sources, options, outputPath);
    }

    /// <summary>
    /// The result; with <paramref name="outputPath"/>, a successful compilation's library is written
    /// there instead of being carried (if it cannot be written there, its bytes travel and the host writes them).
    /// </summary>
    public static byte[] WriteResult(CompilationResult result, string? outputPath = null)
    {
        var written = result.Library is not null && outputPath is not null && TryWrite(outputPath, result.Library);
        var writer = new Writer(256 + (written ? 0 : result.Library?.Length ?? 0));
        if (written) writer.Byte((byte)LibraryKind.Written);
        else if (result.Library is null) writer.Byte((byte)LibraryKind.None);
        else
        {
            writer.Byte((byte)LibraryKind.Bytes);
            writer.Bytes(result.Library);
        }
        writer.String(result.CSharpShims);
        writer.Int32(result.Diagnostics.Count);
        foreach (var diagnostic in result.Diagnostics)
        {
            writer.Int32((int)diagnostic.Code);
            writer.Int32((int)diagnostic.Severity);
            writer.Location(diagnostic.Location);
            writer.String(diagnostic.Message);
        }
        writer.Int32(result.Exports.Count);
        foreach (var export in result.Exports)
        {
            writer.String(export.MaruName);
            writer.String(export.SymbolName);
            writer.Strings(export.Parameters);
            writer.Location(export.Location);
            writer.String(export.Documentation);
            writer.Int32(export.Signature.Parameters.Count);
            foreach (var parameter in export.Signature.Parameters)
            {
                writer.String(parameter.MaruName);
                writer.Int32((int)parameter.Type);
                writer.Int32(parameter.CallbackParameters.Count);
                foreach (var type in parameter.CallbackParameters) writer.Int32((int)type);
            }
            writer.Int32((int)export.Signature.Result);
        }
        writer.Int32(result.Globals.Count);
        foreach (var global in result.Globals)
        {
            writer.String(global.MaruName);
            writer.String(global.SymbolName);
            writer.Location(global.Location);
        }
        writer.Strings(result.Messages);
        writer.Strings(result.LoadedFiles);
        return writer.ToArray();
    }

    /// <summary>Writes the library's file (see <see cref="LibraryFolder.Write"/>); false when it cannot (the host then writes it).</summary>
    private static bool TryWrite(string path, byte[] library)
    {
        try
        {
            LibraryFolder.Write(path, library);
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The result. <paramref name="written"/>: the library was written to the request's output path
    /// (<see cref="CompilationResult.Library"/> is then null).
    /// </summary>
    public static unsafe CompilationResult ReadResult(byte* bytes, int length, out bool written)
    {
        var reader = new Reader(new ReadOnlySpan<byte>(bytes, length));
        var kind = (LibraryKind)reader.Byte();
        var library = kind == LibraryKind.Bytes ? reader.Bytes() : null;
        written = kind == LibraryKind.Written;
        var shims = reader.String();
        var diagnostics = new Diagnostic[reader.Count()];
        for (var i = 0; i < diagnostics.Length; i++)
            diagnostics[i] = new Diagnostic((DiagnosticCode)reader.Int32(), (DiagnosticSeverity)reader.Int32(), reader.Location(), reader.String() ?? "");
        var exports = new ExportedFunction[reader.Count()];
        for (var i = 0; i < exports.Length; i++)
        {
            var (maruName, symbolName, parameters, location, documentation) = (reader.String() ?? "", reader.String() ?? "", reader.Strings(), reader.Location(), reader.String());
            var interop = new InteropParameter[reader.Count()];
            for (var p = 0; p < interop.Length; p++)
            {
                var (name, type) = (reader.String() ?? "", (InteropType)reader.Int32());
                var callback = new InteropType[reader.Count()];
                for (var c = 0; c < callback.Length; c++) callback[c] = (InteropType)reader.Int32();
                interop[p] = new InteropParameter(name, type, callback);
            }
            exports[i] = new ExportedFunction(maruName, symbolName, parameters, location)
            {
                Signature = new ExportSignature(interop, (InteropType)reader.Int32()),
                Documentation = documentation,
            };
        }
        var globals = new ExportedGlobal[reader.Count()];
        for (var i = 0; i < globals.Length; i++) globals[i] = new ExportedGlobal(reader.String() ?? "", reader.String() ?? "", reader.Location());
        return new CompilationResult
        {
            Library = library,
            CSharpShims = shims,
            Diagnostics = diagnostics,
            Exports = exports,
            Globals = globals,
            Messages = reader.Strings(),
            LoadedFiles = reader.Strings(),
        };
    }

    /// <summary>Appends little-endian integers and counted UTF-16 strings to a growing array.</summary>
    private sealed class Writer(int capacity)
    {
        private byte[] _buffer = new byte[Math.Max(capacity, 16)];
        private int _length;

        public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

        private Span<byte> Take(int count)
        {
            if (_length + count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
            var span = _buffer.AsSpan(_length, count);
            _length += count;
            return span;
        }

        public void Byte(byte value) => Take(1)[0] = value;

        public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

        public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

        public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);

        public void Bytes(byte[] bytes)
        {
            Int32(bytes.Length);
            bytes.CopyTo(Take(bytes.Length));
        }

        public unsafe void String(string? text)
        {
            if (text is null)
            {
                Int32(-1);
                return;
            }
            Int32(text.Length);
            fixed (char* characters = text) new ReadOnlySpan<byte>(characters, text.Length * sizeof(char)).CopyTo(Take(text.Length * sizeof(char)));
        }

        public void Strings(IReadOnlyList<string> strings)
        {
            Int32(strings.Count);
            for (var i = 0; i < strings.Count; i++) String(strings[i]);
        }

        public void Location(SourceLocation location)
        {
            String(location.File);
            Int32(location.Line);
            Int32(location.Column);
        }
    }

    /// <summary>Reads what <see cref="Writer"/> wrote; a truncated or malformed buffer is an <see cref="InvalidDataException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _bytes.Length - _position) throw new InvalidDataException("a truncated compiler message");
            var span = _bytes.Slice(_position, count);
            _position += count;
            return span;
        }

        public byte Byte() => Take(1)[0];

        public bool Bool() => Byte() != 0;

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        /// <summary>A count of items that follow (never more than the bytes left could hold).</summary>
        public int Count()
        {
            var count = Int32();
            if (count < 0 || count > _bytes.Length - _position) throw new InvalidDataException("a malformed compiler message");
            return count;
        }

        public byte[] Bytes() => Take(Count()).ToArray();

        public unsafe string? String()
        {
            var count = Int32();
            if (count == -1) return null;
            if (count < 0 || count > (_bytes.Length - _position) / sizeof(char)) throw new InvalidDataException("a malformed compiler message");
            fixed (byte* characters = Take(count * sizeof(char))) return new string((char*)characters, 0, count);
        }

        public string[] Strings()
        {
            var strings = new string[Count()];
            for (var i = 0; i < strings.Length; i++) strings[i] = String() ?? "";
            return strings;
        }

        public SourceLocation Location() => new(String() ?? "", Int32(), Int32());
    }
}
