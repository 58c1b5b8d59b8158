using System.Text;
using System.Text.Json;

namespace Service.Inference.Tokenization;

/// <summary>
/// BERT's WordPiece tokenizer from `vocab.txt` with Hugging Face's fast-tokenizer semantics
/// (what the fill-mask pipeline runs): <see cref="BertTextSplitter"/> for normalization and words,
/// greedy longest-match WordPiece with `##` continuations, words over 100 characters as `[UNK]`,
/// and the WordPiece decoder. `do_lower_case`, `strip_accents`, `tokenize_chinese_chars`,
/// `clean_up_tokenization_spaces` and the special-token names come from `tokenizer_config.json`
/// (Hugging Face's BertTokenizer defaults when absent).
/// </summary>
public sealed class WordPieceMaskedLmTokenizer : IMaskedLmTokenizer
{
    const int MaxInputCharsPerWord = 100; // Hugging Face's default; longer words become [UNK]
    const string ContinuationPrefix = "##";

    readonly string[] _tokens;
    readonly Dictionary<string, int> _ids;
    readonly HashSet<int> _special;
    readonly BertTextSplitter _splitter;
    readonly bool _cleanUpSpaces;
    readonly int _cls, _sep;

    public string MaskToken { get; }
    public int MaskId { get; }
    public int PadId { get; }
    public int UnknownId { get; }
    public int VocabSize => _tokens.Length;
    public int? ModelMaxLength { get; }

    WordPieceMaskedLmTokenizer(string[] tokens, SpecialTokenNames names, BertTextSplitter splitter, bool cleanUpSpaces, int? modelMaxLength)
    {
        _tokens = tokens;
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) _ids[tokens[i]] = i; // a repeated line: the later id wins, as in HF
        int Id(string token, string role) => _ids.TryGetValue(token, out var id) ? id
            : throw new InvalidDataException($"vocab.txt has no {role} token '{token}'.");
        _cls = Id(names.Cls, "cls");
        _sep = Id(names.Sep, "sep");
        PadId = Id(names.Pad, "pad");
        UnknownId = Id(names.Unk, "unk");
        MaskId = Id(names.Mask, "mask");
        MaskToken = names.Mask;
        // HF's all_special_ids: what decode(skip_special_tokens=True) drops, [UNK] included.
        _special = [_cls, _sep, PadId, UnknownId, MaskId];
        _splitter = splitter;
        _cleanUpSpaces = cleanUpSpaces;
        ModelMaxLength = modelMaxLength;
    }

    public static WordPieceMaskedLmTokenizer Load(string vocabFile, JsonElement? tokenizerConfig)
    {
        var tokens = File.ReadAllLines(vocabFile).Select(line => line.TrimEnd('\r')).ToArray();
        // Trailing empty lines are not tokens.
        int count = tokens.Length;
        while (count > 0 && tokens[count - 1].Length == 0) count--;
        bool lowerCase = Bool(tokenizerConfig, "do_lower_case") ?? true; // HF's BertTokenizer default
        return FromVocabulary(tokens[..count], lowerCase, MaxLength(tokenizerConfig),
            stripAccents: Bool(tokenizerConfig, "strip_accents"),
            splitCjk: Bool(tokenizerConfig, "tokenize_chinese_chars") ?? true,
            cleanUpSpaces: Bool(tokenizerConfig, "clean_up_tokenization_spaces") ?? true, // BertTokenizer's default
            names: SpecialTokenNames.From(tokenizerConfig));
    }

    /// <summary>As Hugging Face: accents are stripped when lower-casing unless strip_accents says otherwise.</summary>
    public static WordPieceMaskedLmTokenizer FromVocabulary(string[] tokens, bool lowerCase, int? modelMaxLength, bool? stripAccents = null,
        bool splitCjk = true, bool cleanUpSpaces = true, SpecialTokenNames? names = null) =>
        new(tokens, names ?? SpecialTokenNames.Bert, new BertTextSplitter(lowerCase, stripAccents ?? lowerCase, splitCjk), cleanUpSpaces, modelMaxLength);

    /// <summary>`[CLS]` text `[SEP]`; only the mask marker becomes a special token, other special-token names typed in the text are plain text.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int> { _cls };
        var segments = MaskMarkers.Split(text, MaskToken);
        for (int s = 0; s < segments.Length; s++)
        {
            if (s > 0) ids.Add(MaskId);
            ids.AddRange(EncodeWord(segments[s]));
        }
        ids.Add(_sep);
        return [.. ids];
    }

    public int[] EncodeWord(string word)
    {
        var ids = new List<int>();
        foreach (var piece in _splitter.Split(word)) AddWordPieces(piece, ids);
        return [.. ids];
    }

    public int? TokenId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    // Greedy longest match first; a word with any unmatched rest is one [UNK] as a whole.
    void AddWordPieces(string word, List<int> ids)
    {
        if (word.EnumerateRunes().Count() > MaxInputCharsPerWord)
        {
            ids.Add(UnknownId);
            return;
        }
        int first = ids.Count, start = 0;
        while (start < word.Length)
        {
            int end = word.Length, found = -1;
            while (end > start)
            {
                var candidate = start > 0 ? ContinuationPrefix + word[start..end] : word[..end];
                if (_ids.TryGetValue(candidate, out found)) break;
                found = -1;
                end -= char.IsLowSurrogate(word[end - 1]) && end - 2 >= start ? 2 : 1; // one code point back
            }
            if (found < 0)
            {
                ids.RemoveRange(first, ids.Count - first);
                ids.Add(UnknownId);
                return;
            }
            ids.Add(found);
            start = end;
        }
    }

    public string TokenString(int id) => Decode([id], skipSpecialTokens: false);

    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>
    /// Hugging Face's WordPiece decoder: tokens joined with spaces, `##` glued to the previous token
    /// (kept on the first), each token cleaned as the decoder's `cleanup` does; then the whole text
    /// cleaned when `clean_up_tokenization_spaces` is set.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens)
    {
        var text = new StringBuilder();
        int kept = 0;
        foreach (var id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            var token = _tokens[id];
            if (kept++ > 0)
                token = token.StartsWith(ContinuationPrefix, StringComparison.Ordinal) ? token[ContinuationPrefix.Length..] : " " + token;
            text.Append(MaskMarkers.CleanUpSpaces(token));
        }
        return _cleanUpSpaces ? MaskMarkers.CleanUpSpaces(text.ToString()) : text.ToString();
    }

    internal static bool? Bool(JsonElement? config, string name) =>
        config is { } c && c.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>model_max_length, ignoring the "infinite" sentinel (1e30) that tokenizer configs use for unset.</summary>
    internal static int? MaxLength(JsonElement? config) =>
        config is { } c && c.TryGetProperty("model_max_length", out var v) && v.ValueKind == JsonValueKind.Number
            && v.GetDouble() is var d && d >= 1 && d < int.MaxValue ? (int)d : null;
}
