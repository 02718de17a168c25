using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles;

/// <summary>Turns an <see cref="ObjectModule"/> into a loadable library of one object format.</summary>
public interface IObjectWriter
{
    ObjectFormat Format { get; }

    /// <summary>Whether it writes libraries for this target (its format and architecture).</summary>
    bool Supports(TargetPlatform target);

    byte[] Write(ObjectModule module, TargetPlatform target, string fileName);
}

/// <summary>The object writers that exist; a target is written by the first one that supports it.</summary>
public static class ObjectWriterRegistry
{
    public static IReadOnlyList<IObjectWriter> All { get; } = [new Elf.ElfObjectWriter(), new MachO.MachOObjectWriter()];

    public static IObjectWriter? For(TargetPlatform target) => All.FirstOrDefault(w => w.Supports(target));
}
