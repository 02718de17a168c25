// tree: a binary search tree of struct nodes in native memory. Each round takes 65536 nodes
// from one allocated pool, inserts them (keys from an LCG) one by one, then walks the tree
// recursively. Bench(n) = the sum over n/65536 rounds of key * depth over all nodes.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Tree
{
    private struct Node
    {
        public Node* Left;
        public Node* Right;
        public long Key;
    }

    public static long Bench(long n)
    {
        long count = 65536;
        var pool = (Node*)NativeMemory.Alloc((nuint)(65536 * sizeof(Node)));
        long x = 42;
        long total = 0;
        for (long r = 0; r < n / count; r++)
        {
            for (long i = 0; i < count; i++)
            {
                Node* node = &pool[i];
                x = x * 6364136223846793005 + 1442695040888963407;
                node->Left = null;
                node->Right = null;
                node->Key = (x >> 33) & 1048575;
                if (i > 0)
                    Insert(pool, node);
            }
            total = total + Walk(pool, 1);
        }
        NativeMemory.Free(pool);
        return total;
    }

    private static void Insert(Node* root, Node* node)
    {
        Node* p = root;
        bool done = false;
        while (!done)
        {
            if (node->Key < p->Key)
            {
                if (p->Left != null)
                    p = p->Left;
                else
                {
                    p->Left = node;
                    done = true;
                }
            }
            else
            {
                if (p->Right != null)
                    p = p->Right;
                else
                {
                    p->Right = node;
                    done = true;
                }
            }
        }
    }

    private static long Walk(Node* p, long depth)
    {
        if (p == null)
            return 0;
        return p->Key * depth + (Walk(p->Left, depth + 1) + Walk(p->Right, depth + 1));
    }
}
