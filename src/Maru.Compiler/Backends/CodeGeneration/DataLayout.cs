using Maru.Compiler.Ir;
using Maru.Compiler.ObjectFiles;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>A place in the module's data: a global, a string constant, or an import's GOT slot.</summary>
internal readonly record struct DataTarget(SectionKind Section, long Offset, string Name);

/// <summary>Where the module's data lives: globals in Data, string constants in ReadOnlyData, import slots in the GOT.</summary>
internal sealed class DataLayout(IReadOnlyDictionary<string, int> globals, IReadOnlyDictionary<string, int> strings, IReadOnlyList<string> imports)
{
    public DataTarget Global(string name) => new(SectionKind.Data, globals[name], name);

    public DataTarget String(string name) => new(SectionKind.ReadOnlyData, strings[name], name);

    private readonly Dictionary<string, int> _importSlots = imports.Select((name, index) => (name, index)).ToDictionary(x => x.name, x => x.index, StringComparer.Ordinal);

    public DataTarget ImportSlot(string name) =>
        _importSlots.TryGetValue(name, out var index)
            ? new(SectionKind.Got, 8L * index, name)
            : throw new InvalidOperationException($"import '{name}' was not declared");

    /// <summary>Lays out the module's strings, globals and imports in <paramref name="output"/> (the same for every ISA).</summary>
    public static DataLayout LayOut(IrModule module, ObjectModule output, Func<string, string> symbolName)
    {
        var strings = LayOutStrings(module, output);
        var globalOffsets = LayOutGlobals(module, output, strings, symbolName);
        output.Imports.AddRange(module.Imports);
        return new DataLayout(globalOffsets, strings, module.Imports);
    }

    /// <summary>String constants go to read-only data as NUL-terminated UTF-8.</summary>
    private static Dictionary<string, int> LayOutStrings(IrModule module, ObjectModule output)
    {
        var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var constant in module.Strings)
        {
            offsets.Add(constant.Name, output.ReadOnlyData.Count);
            output.ReadOnlyData.AddRange(System.Text.Encoding.UTF8.GetBytes(constant.Value));
            output.ReadOnlyData.Add(0);
        }
        return offsets;
    }

    /// <summary>Each global is one exported word of writable data; a string global holds a pointer, relocated at load.</summary>
    private static Dictionary<string, int> LayOutGlobals(IrModule module, ObjectModule output, Dictionary<string, int> strings, Func<string, string> symbolName)
    {
        var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
        void AddWord(string name, long value)
        {
            var offset = output.Data.Count;
            offsets.Add(name, offset);
            var word = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(word, value);
            output.Data.AddRange(word);
            output.Symbols.Add(new ObjectSymbol(symbolName(name), SymbolKind.Object, SectionKind.Data, offset, 8, IsExported: true));
        }
        foreach (var global in module.Globals)
            AddWord(global.Name, global.InitialValue);
        foreach (var global in module.StringGlobals)
        {
            AddWord(global.Name, 0);
            output.Relocations.Add(new Relocation(SectionKind.Data, offsets[global.Name], RelocationKind.Absolute64,
                SectionKind.ReadOnlyData, strings[global.StringConstant], Addend: 0));
        }
        return offsets;
    }
}
