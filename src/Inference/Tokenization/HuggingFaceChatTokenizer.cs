using System.Text.Json;
using Service.Inference.Checkpoints;
using Service.Inference.Tokenization.HuggingFace;

namespace Service.Inference.Tokenization;

/// <summary>
/// A chat (or BLOOM) model's `tokenizer.json` through <see cref="HuggingFaceTokenizer"/>, with the BOS and
/// EOS that `tokenizer_config.json` names. Plain <see cref="Encode"/> never produces a special token from
/// text (a user typing `&lt;|im_end|&gt;` gets its characters); non-special added tokens (`&lt;think&gt;`,
/// `&lt;tool_call&gt;`) are single tokens wherever they appear, as in Hugging Face.
/// </summary>
public sealed class HuggingFaceChatTokenizer : IChatTokenizer
{
    readonly HuggingFaceTokenizer _tokenizer;
    readonly IReadOnlySet<int>? _keptAsText;

    public int? BeginningOfSequenceId { get; }
    public int? EndOfSequenceId { get; }
    public IReadOnlyCollection<string> SpecialTokens { get; }
    /// <summary>tokenizer.json's added tokens and those tokenizer_config.json declares (InternLM2 has only the latter).</summary>
    public IReadOnlyCollection<string> AddedTokenTexts { get; }
    public HuggingFaceTokenizer Pipeline => _tokenizer;

    HuggingFaceChatTokenizer(HuggingFaceTokenizer tokenizer, JsonElement? config, string source)
    {
        _tokenizer = tokenizer;
        SpecialTokens = tokenizer.AddedTokens.All.Where(t => t.Special).Select(t => t.Content).ToHashSet();
        AddedTokenTexts = tokenizer.AddedTokens.All.Select(t => t.Content).ToHashSet();
        int Id(string token) => tokenizer.TokenToId(token)
            ?? throw new CheckpointException($"{source}: the tokenizer config names '{token}', which tokenizer.json does not define.");
        // tokenizer_config's add_bos_token decides when present; otherwise the post-processor's template does.
        BeginningOfSequenceId = config is { } c && HasAddBos(c)
            ? AddsBos(config) is { } bos ? Id(bos) : null
            : tokenizer.PostProcessor.Prefix.Count > 0 ? tokenizer.PostProcessor.Prefix[0] : null;
        EndOfSequenceId = TokenContent(config, "eos_token") is { } eos ? Id(eos) : null;
    }

    public static HuggingFaceChatTokenizer Load(string tokenizerJson, string? tokenizerConfigJson)
    {
        using var config = tokenizerConfigJson is null ? null : CheckpointDirectory.ReadJson(tokenizerConfigJson);
        var tokenizer = HuggingFaceTokenizer.Load(tokenizerJson, config is null ? [] : ConfigAddedTokens(config.RootElement));
        return new HuggingFaceChatTokenizer(tokenizer, config?.RootElement, tokenizerJson);
    }

    HuggingFaceChatTokenizer(HuggingFaceChatTokenizer source, IReadOnlySet<int> keptAsText)
    {
        _tokenizer = source._tokenizer;
        _keptAsText = keptAsText;
        BeginningOfSequenceId = source.BeginningOfSequenceId;
        EndOfSequenceId = source.EndOfSequenceId;
        SpecialTokens = source.SpecialTokens;
        AddedTokenTexts = source.AddedTokenTexts;
    }

    /// <summary>
    /// This tokenizer with more added tokens that plain text never becomes: the non-special ones a chat template
    /// writes as role markers (DeepSeek-V3's `&lt;｜User｜&gt;`, `&lt;｜Assistant｜&gt;`), which Hugging Face would
    /// also make of a user's characters. Template text still gets them through <see cref="SpecialTokenId"/>.
    /// </summary>
    public HuggingFaceChatTokenizer KeepingAsText(IEnumerable<string> tokens)
    {
        var ids = tokens.Select(t => _tokenizer.Added(t)).OfType<AddedToken>().Where(t => !t.Special).Select(t => t.Id).ToList();
        return ids.Count == 0 ? this : new HuggingFaceChatTokenizer(this, _tokenizer.SpecialIdsWith(ids));
    }

    /// <summary>The added tokens kept as text beyond the special ones (<see cref="KeepingAsText"/>).</summary>
    public IReadOnlyCollection<string> KeptAsText => _keptAsText is null ? []
        : [.. _tokenizer.AddedTokens.All.Where(t => !t.Special && _keptAsText.Contains(t.Id)).Select(t => t.Content).Distinct()];

    public int[] Encode(string text) => _tokenizer.Encode(text, keptAsText: _keptAsText);

    public int[] EncodeWithSpecialTokens(string text) => _tokenizer.Encode(text, recognizeSpecialTokens: true);

    public string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids);

    public int? SpecialTokenId(string token) => _tokenizer.Added(token)?.Id;

    /// <summary>
    /// tokenizer_config.json's added_tokens_decoder, which transformers adds to the tokenizer at load: InternLM2's
    /// tokenizer.json has no added_tokens, its `&lt;|im_start|&gt;` and `&lt;|im_end|&gt;` are declared only there.
    /// </summary>
    static List<AddedToken> ConfigAddedTokens(JsonElement config)
    {
        if (!config.TryGetProperty("added_tokens_decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object) return [];
        return [.. decoder.EnumerateObject().Where(e => int.TryParse(e.Name, out _) && e.Value.TryGetProperty("content", out _)).Select(e => new AddedToken(
            int.Parse(e.Name), e.Value.GetProperty("content").GetString()!,
            TokenizerJson.Flag(e.Value, "special", false), TokenizerJson.Flag(e.Value, "single_word", false),
            TokenizerJson.Flag(e.Value, "lstrip", false), TokenizerJson.Flag(e.Value, "rstrip", false), TokenizerJson.Flag(e.Value, "normalized", true)))];
    }

    static bool HasAddBos(JsonElement config) =>
        config.TryGetProperty("add_bos_token", out var add) && add.ValueKind is JsonValueKind.True or JsonValueKind.False;

    /// <summary>tokenizer_config's bos_token when its add_bos_token is true.</summary>
    static string? AddsBos(JsonElement? config) =>
        config is { } c && HasAddBos(c) && c.GetProperty("add_bos_token").GetBoolean() ? TokenContent(config, "bos_token") : null;

    /// <summary>A token named in tokenizer_config.json, as a string or as {"content": ...}.</summary>
    static string? TokenContent(JsonElement? config, string key) =>
        config is { } c && c.TryGetProperty(key, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object when v.TryGetProperty("content", out var content) => content.GetString(),
                _ => null,
            }
            : null;
}
