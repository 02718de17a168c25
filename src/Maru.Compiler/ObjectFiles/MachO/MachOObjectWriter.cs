using Maru.Compiler.Targets;

namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>The Mach-O writer in the writer registry: Mach-O targets whose architecture has a <see cref="MachOArchitecture"/>.</summary>
internal sealed class MachOObjectWriter : IObjectWriter
{
    public ObjectFormat Format => ObjectFormat.MachO;

    public bool Supports(TargetPlatform target) =>
        target.ObjectFormat == ObjectFormat.MachO && target.Architecture is TargetArchitecture.X64 or TargetArchitecture.Arm64;

    public byte[] Write(ObjectModule module, TargetPlatform target, string fileName) => MachODylibWriter.Write(module, target, fileName);
}
