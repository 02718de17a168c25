using Maru.Compiler.Diagnostics;

namespace Maru.Compiler.Backends.X64;

/// <summary>What produced the machine instructions from an index of the assembler on: a function entry, a block label, or an IR instruction.</summary>
internal readonly record struct ListingMark(int InstructionIndex, ListingMarkKind Kind, string Text, SourceLocation Location);

internal enum ListingMarkKind { Function, Block, Instruction }

/// <summary>Collects listing marks while the emitters run (only when a listing was asked for).</summary>
internal sealed class ListingRecorder
{
    public List<ListingMark> Marks { get; } = new();

    public void Mark(int instructionIndex, ListingMarkKind kind, string text, SourceLocation location) =>
        Marks.Add(new ListingMark(instructionIndex, kind, text, location));
}
