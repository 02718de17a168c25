/* lru: a least-recently-used cache of 3,000 struct entries: a hash table of 4,093 chained
   buckets (key % 4093) plus a circular doubly linked recency list with a sentinel. Each of n
   lookups (keys from an LCG over 8,192 values) either moves a hit to the front or evicts the
   least recently used entry (unlinked from its chain and from the list) and reuses it.
   bench(n) = hits * 1000003 + the sum over the cache of key * value. */
#include <stdlib.h>

struct entry {
    struct entry *prev;
    struct entry *next;
    struct entry *chain;
    long key;
    long value;
};

static void list_unlink(struct entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void list_push_front(struct entry *head, struct entry *e)
{
    e->next = head->next;
    e->prev = head;
    head->next->prev = e;
    head->next = e;
}

static void chain_remove(struct entry **buckets, struct entry *e)
{
    long b = e->key % 4093;
    struct entry *p = buckets[e->key % 4093];
    struct entry *q = 0;
    while (p != e) {
        q = p;
        p = p->chain;
    }
    if (q)
        q->chain = p->chain;
    else
        buckets[b] = p->chain;
}

static struct entry *lookup(struct entry **buckets, long key)
{
    struct entry *p = buckets[key % 4093];
    while (p && p->key != key)
        p = p->chain;
    return p;
}

long bench(long n)
{
    long capacity = 3000;
    struct entry **buckets = malloc(8 * 4093);
    struct entry *pool = malloc(40 * 3001);
    struct entry *head;
    long used = 0;
    long hits = 0;
    unsigned long x = 77;
    long result = 0;
    for (long b = 0; b < 4093; b++)
        buckets[b] = 0;
    head = pool;
    head->next = head;
    head->prev = head;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        long key = (long)((x >> 40) & 8191);
        struct entry *e = lookup(buckets, key);
        if (e) {
            hits = hits + 1;
            e->value = e->value + 1;
            list_unlink(e);
            list_push_front(head, e);
        } else {
            if (used < capacity) {
                used = used + 1;
                e = &pool[used];
            } else {
                e = head->prev;
                list_unlink(e);
                chain_remove(buckets, e);
            }
            e->key = key;
            e->value = 1;
            e->chain = buckets[key % 4093];
            buckets[key % 4093] = e;
            list_push_front(head, e);
        }
    }
    for (struct entry *e = head->next; e != head; e = e->next)
        result = result + e->key * e->value;
    free(buckets);
    free(pool);
    return hits * 1000003 + result;
}
