using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>The ELF writer in the writer registry: ELF targets whose architecture has an <see cref="ElfMachine"/>.</summary>
internal sealed class ElfObjectWriter : IObjectWriter
{
    public ObjectFormat Format => ObjectFormat.Elf;

    public bool Supports(TargetPlatform target) =>
        target.ObjectFormat == ObjectFormat.Elf && ElfMachine.Find(target.Architecture) is not null;

    public byte[] Write(ObjectModule module, TargetPlatform target, string fileName) => ElfSharedLibraryWriter.Write(module, target, fileName);
}
