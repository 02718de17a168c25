using System.Text;
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
/// </summary>
internal static class CompilerWire
{
    public const int Protocol = 1;

    /// <summary>The options a request carries: everything else is the compiler's default, on both paths.</summary>
    public static byte[] WriteRequest(IReadOnlyList<SourceFile> sources, CompilationOptions options)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(options.Target.RuntimeIdentifier);
            writer.Write(options.LibraryName);
            WriteNullable(writer, options.BaseDirectory);
            writer.Write((int)options.Optimisation);
            writer.Write(options.MaxEvaluationSteps);
            writer.Write(options.GenerateCSharpShims);
            writer.Write(sources.Count);
            foreach (var source in sources)
            {
                writer.Write(source.Path);
                writer.Write(source.Text);
            }
        }
        return stream.ToArray();
    }

    public static unsafe (IReadOnlyList<SourceFile> Sources, CompilationOptions Options) ReadRequest(byte* bytes, int length, Action<string>? compileTimeOutput)
    {
        using var reader = Reader(bytes, length);
        var rid = reader.ReadString();
        var target = TargetPlatform.Known.FirstOrDefault(t => t.RuntimeIdentifier == rid)
            ?? throw new InvalidDataException($"unknown target '{rid}' in a compilation request");
        var options = new CompilationOptions
        {
            Target = target,
            LibraryName = reader.ReadString(),
            BaseDirectory = ReadNullable(reader),
            Optimisation = (OptimisationLevel)reader.ReadInt32(),
            MaxEvaluationSteps = reader.ReadInt64(),
            GenerateCSharpShims = reader.ReadBoolean(),
            CompileTimeOutput = compileTimeOutput,
        };
        var sources = new SourceFile[reader.ReadInt32()];
        for (var i = 0; i < sources.Length; i++) sources[i] = new SourceFile(reader.ReadString(), reader.ReadString());
        return (sources, options);
    }

    public static byte[] WriteResult(CompilationResult result)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(result.Library is not null);
            if (result.Library is not null)
            {
                writer.Write(result.Library.Length);
                writer.Write(result.Library);
            }
            WriteNullable(writer, result.CSharpShims);
            writer.Write(result.Diagnostics.Count);
            foreach (var diagnostic in result.Diagnostics)
            {
                writer.Write((int)diagnostic.Code);
                writer.Write((int)diagnostic.Severity);
                WriteLocation(writer, diagnostic.Location);
                writer.Write(diagnostic.Message);
            }
            writer.Write(result.Exports.Count);
            foreach (var export in result.Exports)
            {
                writer.Write(export.MaruName);
                writer.Write(export.SymbolName);
                WriteStrings(writer, export.Parameters);
                WriteLocation(writer, export.Location);
                WriteNullable(writer, export.Documentation);
                writer.Write(export.Signature.Parameters.Count);
                foreach (var parameter in export.Signature.Parameters)
                {
                    writer.Write(parameter.MaruName);
                    writer.Write((int)parameter.Type);
                    writer.Write(parameter.CallbackParameters.Count);
                    foreach (var type in parameter.CallbackParameters) writer.Write((int)type);
                }
                writer.Write((int)export.Signature.Result);
            }
            writer.Write(result.Globals.Count);
            foreach (var global in result.Globals)
            {
                writer.Write(global.MaruName);
                writer.Write(global.SymbolName);
                WriteLocation(writer, global.Location);
            }
            WriteStrings(writer, result.Messages);
            WriteStrings(writer, result.LoadedFiles);
        }
        return stream.ToArray();
    }

    public static unsafe CompilationResult ReadResult(byte* bytes, int length)
    {
        using var reader = Reader(bytes, length);
        var library = reader.ReadBoolean() ? reader.ReadBytes(reader.ReadInt32()) : null;
        var shims = ReadNullable(reader);
        var diagnostics = new Diagnostic[reader.ReadInt32()];
        for (var i = 0; i < diagnostics.Length; i++)
            diagnostics[i] = new Diagnostic((DiagnosticCode)reader.ReadInt32(), (DiagnosticSeverity)reader.ReadInt32(), ReadLocation(reader), reader.ReadString());
        var exports = new ExportedFunction[reader.ReadInt32()];
        for (var i = 0; i < exports.Length; i++)
        {
            var (maruName, symbolName, parameters, location, documentation) = (reader.ReadString(), reader.ReadString(), ReadStrings(reader), ReadLocation(reader), ReadNullable(reader));
            var interop = new InteropParameter[reader.ReadInt32()];
            for (var p = 0; p < interop.Length; p++)
            {
                var (name, type) = (reader.ReadString(), (InteropType)reader.ReadInt32());
                var callback = new InteropType[reader.ReadInt32()];
                for (var c = 0; c < callback.Length; c++) callback[c] = (InteropType)reader.ReadInt32();
                interop[p] = new InteropParameter(name, type, callback);
            }
            exports[i] = new ExportedFunction(maruName, symbolName, parameters, location)
            {
                Signature = new ExportSignature(interop, (InteropType)reader.ReadInt32()),
                Documentation = documentation,
            };
        }
        var globals = new ExportedGlobal[reader.ReadInt32()];
        for (var i = 0; i < globals.Length; i++) globals[i] = new ExportedGlobal(reader.ReadString(), reader.ReadString(), ReadLocation(reader));
        return new CompilationResult
        {
            Library = library,
            CSharpShims = shims,
            Diagnostics = diagnostics,
            Exports = exports,
            Globals = globals,
            Messages = ReadStrings(reader),
            LoadedFiles = ReadStrings(reader),
        };
    }

    // Both directions are read from memory that does not move: the caller's pinned request, the native result buffer.
    private static unsafe BinaryReader Reader(byte* bytes, int length) =>
        new(new UnmanagedMemoryStream(bytes, length), Encoding.UTF8);

    private static void WriteLocation(BinaryWriter writer, SourceLocation location)
    {
        writer.Write(location.File);
        writer.Write(location.Line);
        writer.Write(location.Column);
    }

    private static SourceLocation ReadLocation(BinaryReader reader) => new(reader.ReadString(), reader.ReadInt32(), reader.ReadInt32());

    private static void WriteNullable(BinaryWriter writer, string? text)
    {
        writer.Write(text is not null);
        if (text is not null) writer.Write(text);
    }

    private static string? ReadNullable(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private static void WriteStrings(BinaryWriter writer, IReadOnlyList<string> strings)
    {
        writer.Write(strings.Count);
        foreach (var text in strings) writer.Write(text);
    }

    private static string[] ReadStrings(BinaryReader reader)
    {
        var strings = new string[reader.ReadInt32()];
        for (var i = 0; i < strings.Length; i++) strings[i] = reader.ReadString();
        return strings;
    }
}
