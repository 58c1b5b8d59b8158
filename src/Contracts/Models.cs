using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("OpenAI-style list of the models this service serves.")]
public sealed record ModelList(
    [property: JsonPropertyName("object"), Description("Always list.")] string Object,
    [property: JsonPropertyName("data"), Description("The probe (fill-mask) model, then the chat model when one is loaded.")] IReadOnlyList<ModelCard> Data);

[Description("One served model.")]
public sealed record ModelCard(
    [property: JsonPropertyName("id"), Description("Model name, as responses report it.")] string Id,
    [property: JsonPropertyName("object"), Description("Always model.")] string Object,
    [property: JsonPropertyName("created"), Description("Unix time the model was loaded.")] long Created,
    [property: JsonPropertyName("owned_by"), Description("Always local: the model runs in this process.")] string OwnedBy,
    [property: JsonPropertyName("task"), Description("fill-mask, probe (a decoder such as BLOOM, for LRP2 evaluation) or chat.")] string Task,
    [property: JsonPropertyName("demo"), Description("True for the embedded demo model (random weights, meaningless output).")] bool Demo,
    [property: JsonPropertyName("layers"), Description("Number of transformer layers.")] int Layers,
    [property: JsonPropertyName("max_sequence_length"), Description("Longest input in tokens, special tokens included.")] int MaxSequenceLength);

[Description("Readiness of the service.")]
public sealed record HealthStatus(
    [property: JsonPropertyName("status"), Description("starting, ready, failed or stopped.")] string Status,
    [property: JsonPropertyName("detail"), Description("Why the service is not ready, or 'ready'.")] string Detail);
