namespace Maru.Compiler.ObjectFiles;

/// <summary>
/// Checks that an <see cref="ObjectModule"/> is well formed, for every object writer. Everything
/// it rejects is a bug in the compiler (backends build the module), not in the user's program, so
/// it throws <see cref="InvalidOperationException"/> rather than reporting diagnostics.
/// </summary>
public static class ObjectModuleValidator
{
    public static void Validate(ObjectModule module)
    {
        var exported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var symbol in module.Symbols)
        {
            if (string.IsNullOrEmpty(symbol.Name))
                throw new InvalidOperationException("a symbol has no name");
            // The writer makes the GOT, so nothing the backend names can live in it.
            if (symbol.Section == SectionKind.Got)
                throw new InvalidOperationException($"symbol '{symbol.Name}' is in the GOT, which holds only import slots");
            var length = module.SectionBytes(symbol.Section).Count;
            if (length == 0)
                throw new InvalidOperationException($"symbol '{symbol.Name}' is in the empty {symbol.Section} section");
            if (symbol.Offset < 0 || symbol.Size < 0 || (long)symbol.Offset + symbol.Size > length)
                throw new InvalidOperationException($"symbol '{symbol.Name}' ({symbol.Offset}+{symbol.Size}) lies outside its {symbol.Section} section ({length} bytes)");
            if (symbol.IsExported && !exported.Add(symbol.Name))
                throw new InvalidOperationException($"symbol '{symbol.Name}' is exported twice");
        }

        // Each import is one undefined .dynsym entry and one GOT slot: a second entry of the same
        // name would be a second slot for one function, and a name both defined and undefined in
        // one symbol table is contradictory (the loader would bind the slot to the export).
        var imported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in module.Imports)
        {
            if (string.IsNullOrEmpty(name))
                throw new InvalidOperationException("an import has no name");
            if (!imported.Add(name))
                throw new InvalidOperationException($"'{name}' is imported twice");
            if (exported.Contains(name))
                throw new InvalidOperationException($"'{name}' is both imported and exported");
        }

        foreach (var (kind, alignment) in module.Alignment)
            if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
                throw new InvalidOperationException($"the {kind} section's alignment {alignment} is not a power of two");

        var gotSize = (long)module.Imports.Count * ObjectModule.GotSlotSize;
        foreach (var relocation in module.Relocations)
        {
            if (!RelocationPatcher.IsKnown(relocation.Kind))
                throw new InvalidOperationException($"relocation kind {relocation.Kind} is unknown");
            var width = RelocationPatcher.Width(relocation.Kind);
            if (relocation.Section == SectionKind.Got)
                throw new InvalidOperationException($"relocation at Got+{relocation.Offset}: the GOT is filled by the loader, not patched");
            var length = module.SectionBytes(relocation.Section).Count;
            if (relocation.Offset < 0 || (long)relocation.Offset + width > length)
                throw new InvalidOperationException($"relocation at {relocation.Section}+{relocation.Offset} lies outside its section ({length} bytes)");
            if (relocation.TargetSection == SectionKind.Got)
            {
                // A reference to the GOT names a whole slot: anything else reads half a pointer.
                if (relocation.TargetOffset < 0 || relocation.TargetOffset >= gotSize || relocation.TargetOffset % ObjectModule.GotSlotSize != 0)
                    throw new InvalidOperationException($"relocation at {relocation.Section}+{relocation.Offset} targets Got+{relocation.TargetOffset}, which is not one of the {module.Imports.Count} import slots");
            }
            else
            {
                var targetLength = module.SectionBytes(relocation.TargetSection).Count;
                if (targetLength == 0 || relocation.TargetOffset < 0 || relocation.TargetOffset > targetLength)
                    throw new InvalidOperationException($"relocation at {relocation.Section}+{relocation.Offset} targets {relocation.TargetSection}+{relocation.TargetOffset}, outside that section ({targetLength} bytes)");
            }
            // An instruction word lies at a multiple of 4 from an aligned start of code.
            if (RelocationPatcher.IsArm64Instruction(relocation.Kind) && (relocation.Section != SectionKind.Text || relocation.Offset % 4 != 0 || module.AlignmentOf(SectionKind.Text) < 4))
                throw new InvalidOperationException($"{relocation.Kind} relocation at {relocation.Section}+{relocation.Offset}: AArch64 instructions lie in Text at multiples of 4");
            // An absolute pointer needs the loader to write it: only .data is writable. In .text
            // that would be a text relocation (DT_TEXTREL), which we never emit.
            if (relocation.Kind == RelocationKind.Absolute64 && relocation.Section != SectionKind.Data)
                throw new InvalidOperationException($"absolute 64-bit relocation at {relocation.Section}+{relocation.Offset}: load-time pointers may only be stored in the Data section");
        }
    }
}
