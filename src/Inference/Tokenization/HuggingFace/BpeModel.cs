using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>
/// The `BPE` model of a `tokenizer.json`, with tokenizers' semantics: `ignore_merges` (a pre-token found
/// whole in the vocabulary is one id, Llama 3), `byte_fallback` (`&lt;0xAB&gt;` pieces, Llama 2 / Gemma),
/// `unk_token` with `fuse_unk`, `continuing_subword_prefix` and `end_of_word_suffix`. Merges run from a
/// priority queue over a linked list of symbols (lowest rank first, then leftmost), so a long pre-token
/// costs O(n log n), and results are cached per pre-token. Hand-written: Microsoft.ML.Tokenizers' BPE has
/// no ignore_merges, byte fallback or per-model unknown fusing.
/// </summary>
public sealed class BpeModel
{
    const int CacheCapacity = 10_000;
    const int CachedLength = 256;

    readonly Dictionary<string, int> _vocab;
    readonly string[] _tokens;
    readonly Dictionary<long, (int Rank, int NewId)> _merges = [];
    readonly int? _unkId;
    readonly bool _fuseUnk, _byteFallback, _ignoreMerges;
    readonly string? _prefix, _suffix;
    readonly int[]? _byteIds;
    readonly ConcurrentDictionary<string, int[]> _cache = new();

    public BpeModel(JsonElement model, string source)
    {
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw TokenizerJson.Error(source, "model.dropout", "BPE dropout is random at inference; only null or 0 is supported");
        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            _vocab[entry.Name] = entry.Value.GetInt32();
            maxId = Math.Max(maxId, entry.Value.GetInt32());
        }
        _tokens = new string[maxId + 1];
        foreach (var (token, id) in _vocab) _tokens[id] = token;
        _prefix = TokenizerJson.OptionalString(model, "continuing_subword_prefix");
        _suffix = TokenizerJson.OptionalString(model, "end_of_word_suffix");
        _fuseUnk = TokenizerJson.Flag(model, "fuse_unk", false);
        _byteFallback = TokenizerJson.Flag(model, "byte_fallback", false);
        _ignoreMerges = TokenizerJson.Flag(model, "ignore_merges", false);
        if (TokenizerJson.OptionalString(model, "unk_token") is { } unk)
            _unkId = _vocab.TryGetValue(unk, out var u) ? u : throw TokenizerJson.Error(source, "model.unk_token", $"'{unk}' is not in the vocabulary");
        if (_byteFallback)
        {
            var byteIds = new int[256];
            for (int b = 0; b < 256; b++) byteIds[b] = _vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
            _byteIds = byteIds;
        }
        int rank = 0;
        int prefixLength = _prefix?.Length ?? 0;
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            var (left, right) = Merge(merge, source);
            if (!_vocab.TryGetValue(left, out var a) || !_vocab.TryGetValue(right, out var b))
                throw TokenizerJson.Error(source, "model.merges", $"the merge '{left} {right}' names a token outside the vocabulary");
            // With a continuing-subword prefix the right part carries it, the merged token does not repeat it.
            var merged = left + (prefixLength > 0 && right.StartsWith(_prefix!, StringComparison.Ordinal) ? right[prefixLength..] : right);
            if (!_vocab.TryGetValue(merged, out var newId))
                throw TokenizerJson.Error(source, "model.merges", $"the merge '{left} {right}' makes '{merged}', which is not in the vocabulary");
            _merges[Key(a, b)] = (rank++, newId);
        }
    }

    public int VocabularySize => _tokens.Length;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < _tokens.Length ? _tokens[id] : null;

    /// <summary>
    /// The ids of one pre-token. With <paramref name="forbidden"/> (special token ids, for user text) no merge may
    /// produce one of them: InternLM2 keeps `&lt;|im_start|&gt;` in its vocabulary with merges that spell it.
    /// </summary>
    public void Tokenize(string word, List<int> output, IReadOnlySet<int>? forbidden = null)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole) && forbidden?.Contains(whole) != true)
        {
            output.Add(whole);
            return;
        }
        if (!_cache.TryGetValue(word, out var ids))
        {
            ids = MergeAll(MergeWord(word), null);
            if (word.Length <= CachedLength)
            {
                if (_cache.Count >= CacheCapacity) _cache.Clear();
                _cache[word] = ids;
            }
        }
        if (forbidden is not null && ids.Any(forbidden.Contains)) ids = MergeAll(MergeWord(word), forbidden);
        output.AddRange(ids);
    }

    List<int> MergeWord(string word)
    {
        var symbols = new List<int>(word.Length);
        int? pendingUnk = null;
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsSurrogatePair(word, i) ? 2 : 1;
            bool isFirst = i == 0, isLast = i + length == word.Length;
            var s = word.Substring(i, length);
            i += length;
            if (!isFirst && _prefix is not null) s = _prefix + s;
            if (isLast && _suffix is not null) s += _suffix;
            if (_vocab.TryGetValue(s, out var id))
            {
                if (pendingUnk is int u) symbols.Add(u);
                pendingUnk = null;
                symbols.Add(id);
                continue;
            }
            if (_byteIds is not null)
            {
                var bytes = Encoding.UTF8.GetBytes(s);
                if (bytes.All(b => _byteIds[b] >= 0))
                {
                    // tokenizers adds the byte pieces without flushing a pending unknown first; so do we.
                    foreach (var b in bytes) symbols.Add(_byteIds[b]);
                    continue;
                }
            }
            if (_unkId is int unk)
            {
                if (pendingUnk is int previous && !_fuseUnk) symbols.Add(previous);
                pendingUnk = unk;
            }
        }
        if (pendingUnk is int last) symbols.Add(last);
        return symbols;
    }

    /// <summary>
    /// tokenizers' Word::merge_all: a min-heap of (rank, position) over a doubly linked list. The priority packs
    /// rank and position in one long (lowest rank, then leftmost); an entry whose pair has changed since it was
    /// queued no longer maps to its rank and is skipped.
    /// </summary>
    int[] MergeAll(List<int> ids, IReadOnlySet<int>? forbidden)
    {
        bool Find(int a, int b, out (int Rank, int NewId) merge) =>
            _merges.TryGetValue(Key(a, b), out merge) && forbidden?.Contains(merge.NewId) != true;
        int n = ids.Count;
        var id = ids.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var removed = new bool[n];
        var queue = new PriorityQueue<int, long>(n);
        for (int i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n && Find(id[i], id[i + 1], out var m)) queue.Enqueue(i, Priority(m.Rank, i));
        }
        while (queue.TryDequeue(out int pos, out long priority))
        {
            if (removed[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!Find(id[pos], id[right], out var current) || current.Rank != (int)(priority >> 32)) continue;
            id[pos] = current.NewId;
            removed[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0 && Find(id[prev[pos]], id[pos], out var before))
                queue.Enqueue(prev[pos], Priority(before.Rank, prev[pos]));
            if (next[pos] >= 0 && Find(id[pos], id[next[pos]], out var after))
                queue.Enqueue(pos, Priority(after.Rank, pos));
        }
        var result = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (!removed[i]) result.Add(id[i]);
        return [.. result];
    }

    static long Priority(int rank, int position) => ((long)rank << 32) | (uint)position;

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    static (string Left, string Right) Merge(JsonElement merge, string source)
    {
        if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2) return (merge[0].GetString()!, merge[1].GetString()!);
        var text = merge.GetString() ?? "";
        int space = text.IndexOf(' ');
        if (space <= 0 || text.IndexOf(' ', space + 1) >= 0)
            throw TokenizerJson.Error(source, "model.merges", $"the merge '{text}' is not two tokens separated by one space");
        return (text[..space], text[(space + 1)..]);
    }
}
