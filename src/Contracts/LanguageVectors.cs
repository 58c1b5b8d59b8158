using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("Sentences of one language from which its LRP2 language vectors are computed.")]
public sealed record LanguageVectorsRequest
{
    [JsonPropertyName("sentences"), Required]
    [Description("Sentences in the language (one per item, e.g. lines of OPUS-100). The vector of layer k is the mean over sentences of the mean over each sentence's tokens of the layer-k hidden state.")]
    public IReadOnlyList<string>? Sentences { get; init; }
}

[Description("Metadata of a language's stored vectors.")]
public sealed record LanguageVectorsInfo(
    [property: JsonPropertyName("language"), Description("ISO 639 code.")] string Language,
    [property: JsonPropertyName("model"), Description("The model they were computed on.")] string Model,
    [property: JsonPropertyName("model_fingerprint"), Description("Identity of the model's weights; vectors are used only with the same weights.")] string ModelFingerprint,
    [property: JsonPropertyName("layers"), Description("Number of vectors: one per hidden_states index, 0 (embeddings) to L.")] int Layers,
    [property: JsonPropertyName("hidden_size"), Description("Length of each vector.")] int HiddenSize,
    [property: JsonPropertyName("sentence_count"), Description("Sentences averaged.")] int SentenceCount,
    [property: JsonPropertyName("corpus_digest"), Description("SHA-256 of the sentences, each UTF-8 and newline-terminated.")] string CorpusDigest,
    [property: JsonPropertyName("created"), Description("When they were computed (UTC).")] DateTimeOffset Created);

[Description("The languages with stored vectors for the loaded fill-mask model.")]
public sealed record LanguageVectorsList(
    [property: JsonPropertyName("model"), Description("The loaded probe model the vectors belong to.")] string Model,
    [property: JsonPropertyName("data"), Description("One entry per language with stored vectors, by code.")] IReadOnlyList<LanguageVectorsInfo> Data);
