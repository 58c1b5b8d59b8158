using Service.Inference.Models;

namespace Service.Inference.Generation;

/// <summary>
/// Automatic prefix caching (vLLM's automatic prefix caching, SGLang's radix cache): the keys and values of
/// finished requests, kept so that a later prompt starting with the same token ids continues from them
/// instead of running them again. A counselling conversation resends its whole history each turn, so
/// turn N+1 finds turn N's prompt and reply cached.
///
/// Matching is the exact longest common prefix of token ids, not vLLM's 16-token blocks: this service's
/// caches are contiguous per request (not paged), so blocks would save no memory, and a block match would
/// throw away up to 15 matching tokens at the point where turn N's reply, re-tokenized in turn N+1's
/// prompt, diverges. An entry whose ids are a prefix of a newer one is dropped (the newer one covers it),
/// which keeps one entry per conversation, like the longest branch of a radix tree.
///
/// Entries hold exactly their positions (compacted on store) and count against the KV budget together
/// with running requests; the scheduler evicts least recently used entries when admission needs room.
/// Everything here runs on the model host's thread; the tensors live outside dispose scopes until evicted.
/// Only models whose cached positions depend on no later token may use it (<see cref="ICausalLanguageModel.CanChunkPrefill"/>;
/// ChatGLM's context attends in both directions, so its cached prefix changes with what follows).
/// </summary>
public sealed class PrefixCache(ICausalLanguageModel model) : IDisposable
{
    /// <summary>One stored request: the ids whose keys and values <see cref="Cache"/> holds, position for position.</summary>
    public sealed record Entry(int[] Ids, KvCache Cache, long Bytes);

    /// <summary>A usable cached prefix: the first <see cref="Length"/> positions of <see cref="Entry"/>.</summary>
    public readonly record struct Match(Entry Entry, int Length);

    readonly LinkedList<Entry> _entries = new(); // least recently used first

    public ICausalLanguageModel Model => model;
    public int Count => _entries.Count;
    /// <summary>KV bytes the entries hold.</summary>
    public long Bytes { get; private set; }

    /// <summary>
    /// The longest cached prefix of <paramref name="prompt"/>, at most all but its last token (whose logits give the
    /// first reply token, so it is always computed); null when nothing matches. A match becomes the most recently used.
    /// </summary>
    public Match? Find(IReadOnlyList<int> prompt)
    {
        LinkedListNode<Entry>? best = null;
        int bestLength = 0, limit = prompt.Count - 1;
        for (var node = _entries.First; node is not null; node = node.Next)
        {
            int length = CommonPrefix(node.Value.Ids, prompt, limit);
            if (length > bestLength) (best, bestLength) = (node, length);
        }
        if (best is null) return null;
        Touch(best);
        return new Match(best.Value, bestLength);
    }

    /// <summary>
    /// Keeps the first cache.Length ids of <paramref name="seen"/> (the tokens fed so far) with a compact copy of
    /// their keys and values. An entry already covering them is only refreshed; entries they cover are dropped.
    /// </summary>
    public void Store(IEnumerable<int> seen, KvCache cache)
    {
        if (cache.Length == 0) return;
        int[] ids = [.. seen.Take(cache.Length)];
        for (var node = _entries.First; node is not null;)
        {
            var next = node.Next;
            var old = node.Value;
            if (old.Ids.Length >= ids.Length && CommonPrefix(old.Ids, ids, ids.Length) == ids.Length)
            {
                Touch(node);
                return;
            }
            if (CommonPrefix(old.Ids, ids, old.Ids.Length) == old.Ids.Length) Remove(node);
            node = next;
        }
        var copy = model.NewCache(ids.Length);
        copy.CopyPrefixFrom(cache, ids.Length);
        var stored = new Entry(ids, copy, ids.Length * model.KvBytesPerPosition);
        _entries.AddLast(stored);
        Bytes += stored.Bytes;
    }

    public bool Holds(Entry entry) => _entries.Contains(entry);

    /// <summary>Frees the least recently used entry other than <paramref name="keep"/>; false when there is none.</summary>
    public bool EvictLeastRecent(Entry? keep = null)
    {
        for (var node = _entries.First; node is not null; node = node.Next)
            if (!ReferenceEquals(node.Value, keep))
            {
                Remove(node);
                return true;
            }
        return false;
    }

    public void Dispose()
    {
        while (_entries.First is { } first) Remove(first);
    }

    void Touch(LinkedListNode<Entry> node)
    {
        _entries.Remove(node);
        _entries.AddLast(node);
    }

    void Remove(LinkedListNode<Entry> node)
    {
        _entries.Remove(node);
        Bytes -= node.Value.Bytes;
        node.Value.Cache.Dispose();
    }

    static int CommonPrefix(int[] a, IReadOnlyList<int> b, int limit)
    {
        int n = Math.Min(Math.Min(a.Length, b.Count), limit), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
