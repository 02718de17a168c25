using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Backends.CodeGeneration;

/// <summary>What produced the machine instructions from a position of the machine emitter on (see <see cref="MachineEmitter.Position"/>): a function entry, a block label, or an IR instruction.</summary>
internal readonly record struct ListingMark(int InstructionIndex, ListingMarkKind Kind, string Text, SourceLocation Location);

internal enum ListingMarkKind { Function, Block, Instruction }

/// <summary>Collects listing marks while the emitters run (only when a listing was asked for).</summary>
internal sealed class ListingRecorder
{
    public List<ListingMark> Marks { get; } = new();

    public void Mark(int instructionIndex, ListingMarkKind kind, string text, SourceLocation location) =>
        Marks.Add(new ListingMark(instructionIndex, kind, text, location));
}
