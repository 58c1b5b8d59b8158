using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("A probe set to evaluate as in mLAMA / LRP2: typed candidate ranking, with and without projection.")]
public sealed record ProbeEvaluationRequest
{
    [JsonPropertyName("facts"), Required]
    [Description("Facts in one or more languages; the same fact in different languages shares its id (needed for Trans). Include English facts for Trans.")]
    public IReadOnlyList<ProbeFactRequest>? Facts { get; init; }

    [JsonPropertyName("projection")]
    [Description("Layers for the projected run (omitted: configured or paper defaults); enabled=false skips the projected run.")]
    public ProjectionOptionsRequest? Projection { get; init; }
}

[Description("One fact in one language.")]
public sealed record ProbeFactRequest
{
    [JsonPropertyName("id"), Required, Description("Identity of the fact across languages (e.g. mLAMA relation#lineid).")] public string? Id { get; init; }
    [JsonPropertyName("language"), Required, Description("ISO 639 code of this version of the fact.")] public string? Language { get; init; }
    [JsonPropertyName("relation"), Description("Relation id (e.g. P36), informational.")] public string? Relation { get; init; }
    [JsonPropertyName("template"), Required, Description("Template with [X] for the subject and [Y] for the object, e.g. \"[X] is the capital of [Y].\"")] public string? Template { get; init; }
    [JsonPropertyName("subject"), Required, Description("Subject filled into [X].")] public string? Subject { get; init; }
    [JsonPropertyName("object"), Required, Description("Gold object; the fact is correct when it ranks first.")] public string? Object { get; init; }
    [JsonPropertyName("candidates"), Required, Description("Typed candidate objects of the relation (the gold is added if absent).")] public IReadOnlyList<string>? Candidates { get; init; }
}

[Description("Acc and Trans per language.")]
public sealed record ProbeEvaluationResponse(
    [property: JsonPropertyName("model"), Description("The probe model that was evaluated.")] string Model,
    [property: JsonPropertyName("languages"), Description("One row per language of the facts, English first.")] IReadOnlyList<ProbeLanguageResult> Languages,
    [property: JsonPropertyName("markdown"), Description("The same as a markdown table.")] string Markdown);

[Description("Scores of one language; projected is null for English (never projected) or when projection was disabled.")]
public sealed record ProbeLanguageResult(
    [property: JsonPropertyName("language"), Description("ISO 639 code.")] string Language,
    [property: JsonPropertyName("facts"), Description("Facts in this language (|D_l|).")] int Facts,
    [property: JsonPropertyName("plain"), Description("Scores without projection.")] ProbeScores Plain,
    [property: JsonPropertyName("projected"), Description("Scores with LRP2 projection; null for English or when projection was disabled.")] ProbeScores? Projected,
    [property: JsonPropertyName("lirp_layer"), Description("Layer i of the projected run.")] int? LirpLayer,
    [property: JsonPropertyName("lsrp_layer"), Description("Layer j of the projected run.")] int? LsrpLayer,
    [property: JsonPropertyName("layers_source"), Description("Where the layers came from: request, configuration, search, paper or default.")] string? LayersSource);

[Description("Acc = |R_l| / |D_l| x 100; Trans = |R_l ∩ R_en| / |R_l ∪ R_en| x 100 (null when both sets are empty or there is no English).")]
public sealed record ProbeScores(
    [property: JsonPropertyName("correct"), Description("Facts whose gold object ranked first (|R_l|).")] int Correct,
    [property: JsonPropertyName("accuracy"), Description("Acc, in percent.")] double Accuracy,
    [property: JsonPropertyName("transferability"), Description("Trans against English, in percent; null when undefined.")] double? Transferability);
