using System.Text;
using System.Text.Json;
using Service.Inference.Checkpoints;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>
/// A Hugging Face `tokenizer.json` run as tokenizers runs it: added tokens cut out, normalizer, pre-tokenizer,
/// BPE model, post-processor; decoding through the decoder. Every component the file names is parsed at load;
/// one this service does not implement fails the load with its path in the file and the file's name.
/// Hand-written because Microsoft.ML.Tokenizers reads no tokenizer.json (its BpeTokenizer takes a vocabulary, merges
/// and one regex, without added-token matching, Metaspace schemes, byte fallback or ignore_merges).
/// </summary>
public sealed class HuggingFaceTokenizer
{
    readonly Normalizer? _normalizer;
    readonly PreTokenizer? _preTokenizer;
    readonly BpeModel _model;
    readonly Decoder? _decoder;
    readonly Dictionary<int, AddedToken> _addedById = [];
    readonly Dictionary<string, AddedToken> _addedByContent = new(StringComparer.Ordinal);
    readonly HashSet<int> _specialIds = [];

    public AddedTokens AddedTokens { get; }
    public PostProcessor PostProcessor { get; }

    HuggingFaceTokenizer(JsonElement root, string source, IReadOnlyList<AddedToken> moreAddedTokens)
    {
        var model = root.GetProperty("model");
        var modelType = model.TryGetProperty("type", out var t) ? t.GetString() : "BPE"; // old files omit the BPE type
        if (modelType != "BPE")
            throw TokenizerJson.Error(source, "model.type", $"the model '{modelType}' is not supported here (chat tokenizers: BPE only)");
        _normalizer = root.TryGetProperty("normalizer", out var n) ? Normalizers.Parse(n, source) : null;
        _preTokenizer = root.TryGetProperty("pre_tokenizer", out var p) ? PreTokenizers.Parse(p, source) : null;
        _decoder = root.TryGetProperty("decoder", out var d) ? Decoders.Parse(d, source) : null;
        PostProcessor = root.TryGetProperty("post_processor", out var pp) ? PostProcessor.Parse(pp, source) : PostProcessor.None;
        _model = new BpeModel(model, source);
        var parsed = AddedTokens_Parse(root);
        var added = parsed.Concat(moreAddedTokens.Where(t => !parsed.Any(p => p.Content == t.Content))).ToList();
        foreach (var token in added)
        {
            _addedById[token.Id] = token;
            if (token.Special) _specialIds.Add(token.Id);
            _addedByContent.TryAdd(token.Content, token);
        }
        AddedTokens = new AddedTokens(added, _normalizer);
    }

    static IReadOnlyList<AddedToken> AddedTokens_Parse(JsonElement root) => HuggingFace.AddedTokens.Parse(root);

    /// <param name="moreAddedTokens">Tokens tokenizer_config.json's added_tokens_decoder adds (transformers does so at load).</param>
    public static HuggingFaceTokenizer Load(string tokenizerJson, IReadOnlyList<AddedToken>? moreAddedTokens = null)
    {
        using var doc = CheckpointDirectory.ReadJson(tokenizerJson) ?? throw new CheckpointException($"{tokenizerJson} does not exist.");
        try
        {
            return new HuggingFaceTokenizer(doc.RootElement, tokenizerJson, moreAddedTokens ?? []);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{tokenizerJson} is not a tokenizer.json this service reads: {e.Message}");
        }
    }

    /// <summary>
    /// The ids of text. Special added tokens are recognised only with <paramref name="recognizeSpecialTokens"/>
    /// (template text); user text keeps them as plain characters. Non-special added tokens are too, except
    /// when <paramref name="keptAsText"/> (from <see cref="SpecialIdsWith"/>) adds them to the special ids.
    /// </summary>
    public int[] Encode(string text, bool recognizeSpecialTokens = false, bool addSpecialTokens = false, IReadOnlySet<int>? keptAsText = null)
    {
        var forbidden = recognizeSpecialTokens ? null : keptAsText ?? _specialIds;
        keptAsText = recognizeSpecialTokens ? null : keptAsText;
        var ids = new List<int>();
        if (addSpecialTokens) ids.AddRange(PostProcessor.Prefix);
        text = WellFormed(text);
        int rawOffset = 0;
        foreach (var (raw, rawToken) in AddedTokens.SplitRaw(text, recognizeSpecialTokens, keptAsText))
        {
            bool rawAtStart = rawOffset == 0;
            rawOffset += raw.Length;
            if (rawToken is not null) { ids.Add(rawToken.Id); continue; }
            var normalized = _normalizer is null ? raw : _normalizer(raw);
            int offset = 0;
            foreach (var (piece, token) in AddedTokens.SplitNormalized(normalized, recognizeSpecialTokens, keptAsText))
            {
                bool atStart = rawAtStart && offset == 0;
                offset += piece.Length;
                if (token is not null) { ids.Add(token.Id); continue; }
                if (piece.Length == 0) continue;
                var pieces = _preTokenizer is null ? [new Piece(piece, atStart)] : _preTokenizer(new Piece(piece, atStart));
                foreach (var word in pieces) _model.Tokenize(word.Text, ids, forbidden);
            }
        }
        if (addSpecialTokens) ids.AddRange(PostProcessor.Suffix);
        return [.. ids];
    }

    /// <summary>Text of ids through the decoder; special added tokens dropped when asked; unknown ids ignored.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        var tokens = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special)) tokens.Add(added.Content);
            }
            else if (_model.IdToToken(id) is { } token)
            {
                if (!(skipSpecialTokens && _addedByContent.TryGetValue(token, out var a) && a.Special)) tokens.Add(token);
            }
        }
        return _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder(tokens));
    }

    /// <summary>The special ids and more added tokens' ids: what <see cref="Encode"/>'s keptAsText takes.</summary>
    public IReadOnlySet<int> SpecialIdsWith(IEnumerable<int> more) => _specialIds.Union(more).ToHashSet();

    /// <summary>The id of an added token's content, or of a vocabulary token.</summary>
    public int? TokenToId(string token) => _addedByContent.TryGetValue(token, out var added) ? added.Id : _model.TokenToId(token);

    public AddedToken? Added(string content) => _addedByContent.GetValueOrDefault(content);

    /// <summary>Rust strings cannot hold a lone surrogate; tokenizers would never see one, so it becomes U+FFFD.</summary>
    static string WellFormed(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
        }
        return text;
    }
}
