namespace Maru.Compiler.ObjectFiles.Elf;

/// <summary>
/// Checks that an <see cref="ObjectModule"/> is one the ELF writer can represent. Everything it
/// rejects is a bug in the compiler (backends build the module), not in the user's program, so
/// it throws <see cref="InvalidOperationException"/> rather than reporting diagnostics.
/// </summary>
internal static class ElfModuleValidator
{
    public static void Validate(ObjectModule module)
    {
        var exported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var symbol in module.Symbols)
        {
            if (string.IsNullOrEmpty(symbol.Name))
                throw new InvalidOperationException("a symbol has no name");
            var length = module.SectionBytes(symbol.Section).Count;
            if (length == 0)
                throw new InvalidOperationException($"symbol '{symbol.Name}' is in the empty {symbol.Section} section");
            if (symbol.Offset < 0 || symbol.Size < 0 || (long)symbol.Offset + symbol.Size > length)
                throw new InvalidOperationException($"symbol '{symbol.Name}' ({symbol.Offset}+{symbol.Size}) lies outside its {symbol.Section} section ({length} bytes)");
            if (symbol.IsExported && !exported.Add(symbol.Name))
                throw new InvalidOperationException($"symbol '{symbol.Name}' is exported twice");
        }

        foreach (var relocation in module.Relocations)
        {
            var width = relocation.Kind switch
            {
                RelocationKind.PcRelative32 => 4,
                RelocationKind.Absolute64 => 8,
                _ => throw new InvalidOperationException($"relocation kind {relocation.Kind} is not supported by the ELF writer"),
            };
            var length = module.SectionBytes(relocation.Section).Count;
            if (relocation.Offset < 0 || (long)relocation.Offset + width > length)
                throw new InvalidOperationException($"relocation at {relocation.Section}+{relocation.Offset} lies outside its section ({length} bytes)");
            var targetLength = module.SectionBytes(relocation.TargetSection).Count;
            if (targetLength == 0 || relocation.TargetOffset < 0 || relocation.TargetOffset > targetLength)
                throw new InvalidOperationException($"relocation at {relocation.Section}+{relocation.Offset} targets {relocation.TargetSection}+{relocation.TargetOffset}, outside that section ({targetLength} bytes)");
            // An absolute pointer needs the loader to write it: only .data is writable. In .text
            // that would be a text relocation (DT_TEXTREL), which we never emit.
            if (relocation.Kind == RelocationKind.Absolute64 && relocation.Section != SectionKind.Data)
                throw new InvalidOperationException($"absolute 64-bit relocation at {relocation.Section}+{relocation.Offset}: load-time pointers may only be stored in the Data section");
        }
    }
}
