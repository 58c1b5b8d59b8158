using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Service.Inference.Tokenization;

/// <summary>
/// BERT's WordPiece tokenizer from `vocab.txt`, with `do_lower_case`, `strip_accents` and
/// `tokenize_chinese_chars` taken from `tokenizer_config.json` (Hugging Face's defaults when absent).
/// </summary>
public sealed class WordPieceMaskedLmTokenizer : IMaskedLmTokenizer
{
    readonly BertTokenizer _tokenizer;
    readonly string[] _tokens;
    readonly HashSet<int> _special;

    public string MaskToken => _tokenizer.MaskingToken;
    public int MaskId => _tokenizer.MaskingTokenId;
    public int PadId => _tokenizer.PaddingTokenId;
    public int VocabSize => _tokens.Length;
    public int? ModelMaxLength { get; }

    WordPieceMaskedLmTokenizer(BertTokenizer tokenizer, string[] tokens, int? modelMaxLength)
    {
        _tokenizer = tokenizer;
        _tokens = tokens;
        ModelMaxLength = modelMaxLength;
        _special = [tokenizer.ClassificationTokenId, tokenizer.SeparatorTokenId, tokenizer.PaddingTokenId, tokenizer.MaskingTokenId];
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
            splitCjk: Bool(tokenizerConfig, "tokenize_chinese_chars") ?? true);
    }

    /// <summary>As Hugging Face: accents are stripped when lower-casing unless strip_accents says otherwise.</summary>
    public static WordPieceMaskedLmTokenizer FromVocabulary(string[] tokens, bool lowerCase, int? modelMaxLength, bool? stripAccents = null, bool splitCjk = true)
    {
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = stripAccents ?? lowerCase,
            IndividuallyTokenizeCjk = splitCjk,
            SplitOnSpecialTokens = true,
        };
        using var vocab = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', tokens) + "\n"));
        return new WordPieceMaskedLmTokenizer(BertTokenizer.Create(vocab, options), tokens, modelMaxLength);
    }

    public int[] Encode(string text)
    {
        var ids = new List<int> { _tokenizer.ClassificationTokenId };
        var segments = MaskMarkers.Split(text, MaskToken);
        for (int s = 0; s < segments.Length; s++)
        {
            if (s > 0) ids.Add(MaskId);
            ids.AddRange(EncodeWord(segments[s]));
        }
        ids.Add(_tokenizer.SeparatorTokenId);
        return [.. ids];
    }

    public int[] EncodeWord(string word) => [.. _tokenizer.EncodeToIds(word, addSpecialTokens: false)];

    public string TokenString(int id) => _tokens[id];

    public bool IsSpecial(int id) => _special.Contains(id);

    public string Decode(IReadOnlyList<int> ids)
    {
        var kept = ids.Where(id => id == MaskId || !IsSpecial(id)).Select(id => _tokens[id]);
        return MaskMarkers.CleanUpSpaces(string.Join(' ', kept).Replace(" ##", "")).Trim();
    }

    internal static bool? Bool(JsonElement? config, string name) =>
        config is { } c && c.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>model_max_length, ignoring the "infinite" sentinel (1e30) that tokenizer configs use for unset.</summary>
    internal static int? MaxLength(JsonElement? config) =>
        config is { } c && c.TryGetProperty("model_max_length", out var v) && v.ValueKind == JsonValueKind.Number
            && v.GetDouble() is var d && d >= 1 && d < int.MaxValue ? (int)d : null;
}
