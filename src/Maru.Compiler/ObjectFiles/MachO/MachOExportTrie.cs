namespace Maru.Compiler.ObjectFiles.MachO;

/// <summary>
/// The export trie dyld looks exported symbols up in (LC_DYLD_INFO_ONLY export_off): a radix tree
/// over the symbol names. A node is ULEB128 terminal size (0 when no symbol ends there), then for a
/// terminal ULEB128 flags (0: a regular definition) and ULEB128 address relative to the mach
/// header, then one byte child count and per child its edge label (NUL-terminated) and the ULEB128
/// offset of the child node from the start of the trie. Node offsets depend on the ULEB sizes of
/// other offsets, so they are recomputed until they no longer change (they only grow, so this ends).
/// Everything is iterative: a long name makes a deep tree, never a deep stack.
/// </summary>
internal static class MachOExportTrie
{
    private sealed class Node
    {
        public readonly List<(string Label, Node Child)> Edges = [];
        public ulong? Address;
        public int Offset;
    }

    /// <param name="exports">Symbol names (leading underscore included) and their addresses; names must be distinct and non-empty.</param>
    public static byte[] Build(IReadOnlyList<(string Name, ulong Address)> exports)
    {
        var root = new Node();
        foreach (var (name, address) in exports.OrderBy(e => e.Name, StringComparer.Ordinal))
            Insert(root, name, address);

        var nodes = PreOrder(root);
        for (var changed = true; changed;)
        {
            changed = false;
            var offset = 0;
            foreach (var node in nodes)
            {
                if (node.Offset != offset)
                {
                    node.Offset = offset;
                    changed = true;
                }
                offset = checked(offset + NodeSize(node));
            }
        }

        var writer = new MachOByteWriter();
        foreach (var node in nodes)
        {
            if (writer.Length != node.Offset)
                throw new InvalidOperationException("export trie layout is inconsistent");
            if (node.Address is { } address)
            {
                writer.Uleb((ulong)TerminalSize(address));
                writer.Uleb(0);
                writer.Uleb(address);
            }
            else
            {
                writer.U8(0);
            }
            writer.U8((byte)node.Edges.Count);
            foreach (var (label, child) in node.Edges)
            {
                writer.CString(label);
                writer.Uleb((ulong)child.Offset);
            }
        }
        writer.PadTo(8);
        return writer.ToArray();
    }

    private static void Insert(Node root, string name, ulong address)
    {
        // Symbol names are C identifiers (SymbolNames), so one char is one byte of the label.
        if (name.Length == 0 || !name.All(c => c is > '\0' and < (char)0x80))
            throw new InvalidOperationException($"exported symbol name '{name}' is empty or not printable ASCII");
        var node = root;
        var rest = name;
        while (true)
        {
            if (rest.Length == 0)
            {
                if (node.Address is not null)
                    throw new InvalidOperationException($"symbol '{name}' is exported twice");
                node.Address = address;
                return;
            }
            var index = node.Edges.FindIndex(e => e.Label[0] == rest[0]);
            if (index < 0)
            {
                node.Edges.Add((rest, new Node { Address = address }));
                node.Edges.Sort((a, b) => string.CompareOrdinal(a.Label, b.Label));
                if (node.Edges.Count > byte.MaxValue)
                    throw new InvalidOperationException("an export trie node has more than 255 children");
                return;
            }
            var (label, child) = node.Edges[index];
            var common = 0;
            while (common < label.Length && common < rest.Length && label[common] == rest[common]) common++;
            if (common < label.Length)
            {
                // Split the edge: the shared prefix leads to a new node that continues to the old child.
                var middle = new Node();
                middle.Edges.Add((label[common..], child));
                node.Edges[index] = (label[..common], middle);
                child = middle;
            }
            node = child;
            rest = rest[common..];
        }
    }

    private static List<Node> PreOrder(Node root)
    {
        var order = new List<Node>();
        var stack = new Stack<Node>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            order.Add(node);
            for (var i = node.Edges.Count - 1; i >= 0; i--)
                stack.Push(node.Edges[i].Child);
        }
        return order;
    }

    private static int TerminalSize(ulong address) => MachOByteWriter.UlebSize(0) + MachOByteWriter.UlebSize(address);

    private static int NodeSize(Node node)
    {
        var size = node.Address is { } address
            ? MachOByteWriter.UlebSize((ulong)TerminalSize(address)) + TerminalSize(address)
            : 1;
        size += 1;
        foreach (var (label, child) in node.Edges)
            size = checked(size + label.Length + 1 + MachOByteWriter.UlebSize((ulong)child.Offset));
        return size;
    }
}
