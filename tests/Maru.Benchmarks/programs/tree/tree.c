/* tree: a binary search tree of struct nodes in malloc'd memory. Each round takes 65536 nodes
   from one malloc'd pool, inserts them (keys from an LCG) one by one, then walks the tree
   recursively. bench(n) = the sum over n/65536 rounds of key * depth over all nodes. */
#include <stdlib.h>

struct node {
    struct node *left;
    struct node *right;
    long key;
};

static void tree_insert(struct node *root, struct node *node)
{
    struct node *p = root;
    int done = 0;
    while (!done) {
        if (node->key < p->key) {
            if (p->left)
                p = p->left;
            else {
                p->left = node;
                done = 1;
            }
        } else {
            if (p->right)
                p = p->right;
            else {
                p->right = node;
                done = 1;
            }
        }
    }
}

static long tree_walk(struct node *p, long depth)
{
    if (p == 0)
        return 0;
    return p->key * depth + (tree_walk(p->left, depth + 1) + tree_walk(p->right, depth + 1));
}

long bench(long n)
{
    long count = 65536;
    struct node *pool = malloc(65536 * sizeof(struct node));
    unsigned long x = 42;
    long total = 0;
    for (long r = 0; r < n / count; r++) {
        for (long i = 0; i < count; i++) {
            struct node *node = &pool[i];
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            node->left = 0;
            node->right = 0;
            node->key = (long)((x >> 33) & 1048575);
            if (i > 0)
                tree_insert(pool, node);
        }
        total = total + tree_walk(pool, 1);
    }
    free(pool);
    return total;
}
