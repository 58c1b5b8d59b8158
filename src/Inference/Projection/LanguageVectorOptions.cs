using System.ComponentModel.DataAnnotations;

namespace Service.Inference.Projection;

/// <summary>`LanguageVectors:*` configuration: limits of `PUT /v1/language-vectors/{language}`.</summary>
public sealed class LanguageVectorOptions
{
    /// <summary>Sentences one request may send.</summary>
    [Range(1, int.MaxValue)]
    public int MaxSentences { get; set; } = 10_000;
}
