// lru: a least-recently-used cache of 3,000 struct entries: a hash table of 4,093 chained
// buckets (key % 4093) plus a circular doubly linked recency list with a sentinel. Each of n
// lookups (keys from an LCG over 8,192 values) either moves a hit to the front or evicts the
// least recently used entry (unlinked from its chain and from the list) and reuses it.
// Bench(n) = hits * 1000003 + the sum over the cache of key * value.
using System.Runtime.InteropServices;

namespace Maru.Benchmarks.Programs;

public static unsafe class Lru
{
    private struct Entry
    {
        public Entry* Prev;
        public Entry* Next;
        public Entry* Chain;
        public long Key;
        public long Value;
    }

    public static long Bench(long n)
    {
        long capacity = 3000;
        var buckets = (Entry**)NativeMemory.Alloc(8 * 4093);
        var pool = (Entry*)NativeMemory.Alloc(40 * 3001);
        long used = 0;
        long hits = 0;
        ulong x = 77;
        long result = 0;
        for (long b = 0; b < 4093; b++)
            buckets[b] = null;
        Entry* head = pool;
        head->Next = head;
        head->Prev = head;
        for (long i = 0; i < n; i++)
        {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            long key = (long)((x >> 40) & 8191);
            Entry* e = Lookup(buckets, key);
            if (e != null)
            {
                hits = hits + 1;
                e->Value = e->Value + 1;
                Unlink(e);
                PushFront(head, e);
            }
            else
            {
                if (used < capacity)
                {
                    used = used + 1;
                    e = &pool[used];
                }
                else
                {
                    e = head->Prev;
                    Unlink(e);
                    ChainRemove(buckets, e);
                }
                e->Key = key;
                e->Value = 1;
                e->Chain = buckets[key % 4093];
                buckets[key % 4093] = e;
                PushFront(head, e);
            }
        }
        for (Entry* e = head->Next; e != head; e = e->Next)
            result = result + e->Key * e->Value;
        NativeMemory.Free(buckets);
        NativeMemory.Free(pool);
        return hits * 1000003 + result;
    }

    private static void Unlink(Entry* e)
    {
        e->Prev->Next = e->Next;
        e->Next->Prev = e->Prev;
    }

    private static void PushFront(Entry* head, Entry* e)
    {
        e->Next = head->Next;
        e->Prev = head;
        head->Next->Prev = e;
        head->Next = e;
    }

    private static void ChainRemove(Entry** buckets, Entry* e)
    {
        long b = e->Key % 4093;
        Entry* p = buckets[e->Key % 4093];
        Entry* q = null;
        while (p != e)
        {
            q = p;
            p = p->Chain;
        }
        if (q != null)
            q->Chain = p->Chain;
        else
            buckets[b] = p->Chain;
    }

    private static Entry* Lookup(Entry** buckets, long key)
    {
        Entry* p = buckets[key % 4093];
        while (p != null && p->Key != key)
            p = p->Chain;
        return p;
    }
}
