using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("A fill-mask query: text with [MASK] where a token is to be predicted.")]
public sealed record FillMaskRequest
{
    [JsonPropertyName("text"), Required]
    [Description("Text with one or more [MASK] markers. [MASK] means the model's mask token for every model (XLM-R's own <mask> works too).")]
    public string? Text { get; init; }

    [JsonPropertyName("top_k")]
    [Description("How many predictions to return per mask, best first: 1 to FillMask:MaxTopK (100 unless configured), default FillMask:DefaultTopK (5).")]
    public int? TopK { get; init; }

    [JsonPropertyName("targets")]
    [Description("Optional candidates: only these are ranked. As in Hugging Face's pipeline, a target spelled exactly as a vocabulary entry is that token (\"##s\"; XLM-R writes a word start with ▁, \"▁Paris\"), any other target is tokenized as a word. Extension: where the pipeline keeps only the first token of a target of several tokens, this service ranks it whole: the mask widens to the candidate's token count and the candidate scores the mean log-probability of its tokens (mLAMA / LRP2 evaluation); text must then have one [MASK]. An empty target or one that tokenizes to the unknown token gets 400 (the pipeline would ignore or score it).")]
    public IReadOnlyList<string>? Targets { get; init; }

    [JsonPropertyName("language")]
    [Description("Language of the text as an ISO 639-1 code (default \"en\"); non-English queries are projected with LRP2 when vectors exist.")]
    public string? Language { get; init; }

    [JsonPropertyName("projection")]
    [Description("LRP2 options. Omitted: projection is on for non-English languages whose vectors (and English's) exist, with the configured or paper layers.")]
    public ProjectionOptionsRequest? Projection { get; init; }
}

[Description("LRP2 (Xu et al., EMNLP 2023): LIRP after layer i (h - v_l + v_en), LSRP after layer j (h - v_en + v_l).")]
public sealed record ProjectionOptionsRequest
{
    [JsonPropertyName("enabled")]
    [Description("true: project (400 if vectors are missing); false: never; omitted: project when vectors exist.")]
    public bool? Enabled { get; init; }

    [JsonPropertyName("lirp_layer")]
    [Description("Layer i after which hidden states move into the English-like space (1 <= i < j).")]
    public int? LirpLayer { get; init; }

    [JsonPropertyName("lsrp_layer")]
    [Description("Layer j after which they move back (i < j <= number of layers).")]
    public int? LsrpLayer { get; init; }
}

[Description("What LRP2 did for this request.")]
public sealed record ProjectionApplied(
    [property: JsonPropertyName("applied"), Description("Whether the hidden states were projected.")] bool Applied,
    [property: JsonPropertyName("language"), Description("The query's language (ISO 639 code).")] string Language,
    [property: JsonPropertyName("lirp_layer"), Description("Layer i after which LIRP was applied, when applied.")] int? LirpLayer,
    [property: JsonPropertyName("lsrp_layer"), Description("Layer j after which LSRP was applied, when applied.")] int? LsrpLayer,
    [property: JsonPropertyName("layers_source"), Description("request, configuration, paper or default.")] string? LayersSource,
    [property: JsonPropertyName("reason"), Description("Why projection was not applied.")] string? Reason);

[Description("Predictions for every mask of the query, in order.")]
public sealed record FillMaskResponse(
    [property: JsonPropertyName("model"), Description("The model that answered; demo models are named demo-*.")] string Model,
    [property: JsonPropertyName("masks"), Description("One entry per [MASK], in the order they appear.")] IReadOnlyList<MaskResult> Masks,
    [property: JsonPropertyName("usage"), Description("Token counts of the request.")] FillMaskUsage Usage,
    [property: JsonPropertyName("projection"), Description("What LRP2 did.")] ProjectionApplied Projection);

[Description("The predictions for one mask.")]
public sealed record MaskResult(
    [property: JsonPropertyName("position"), Description("Index of the mask in the token sequence, special tokens included ([CLS] is 0).")] int Position,
    [property: JsonPropertyName("predictions"), Description("Best predictions first.")] IReadOnlyList<FillMaskPrediction> Predictions);

[Description("One predicted token, with the meanings of Hugging Face's fill-mask pipeline.")]
public sealed record FillMaskPrediction(
    [property: JsonPropertyName("score"), Description("Softmax probability of the token over the whole vocabulary at this position.")] double Score,
    [property: JsonPropertyName("token"), Description("Token id.")] int Token,
    [property: JsonPropertyName("token_str"), Description("The token as Hugging Face's tokenizer.decode([token]) writes it: WordPiece continuations keep their ## prefix, XLM-R's word-start ▁ is dropped, special tokens by name.")] string TokenStr,
    [property: JsonPropertyName("sequence"), Description("The input with this token in place of the mask, as the pipeline decodes it: padding removed; with one mask, special tokens skipped ([CLS], [SEP] and [UNK] / <s>, </s>, <unk> vanish); with several masks, special tokens kept so the other masks stay visible (\"[CLS] la is the capital of [MASK]. [SEP]\"); spaces before punctuation cleaned when the tokenizer's clean_up_tokenization_spaces is set.")] string Sequence)
{
    [JsonPropertyName("tokens"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [Description("Only for targets ranked as whole words: the candidate's token ids, filled into as many masks.")]
    public IReadOnlyList<int>? Tokens { get; init; }

    [JsonPropertyName("mean_log_probability"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [Description("Only for targets ranked as whole words: the average log-probability of the candidate's tokens; score is its exponential.")]
    public double? MeanLogProbability { get; init; }
}

[Description("Token counts of a fill-mask request.")]
public sealed record FillMaskUsage(
    [property: JsonPropertyName("prompt_tokens"), Description("Tokens in the input, special tokens included.")] int PromptTokens);
