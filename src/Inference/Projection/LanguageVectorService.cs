using Microsoft.Extensions.Options;
using Service.Inference.Hosting;

namespace Service.Inference.Projection;

/// <summary>
/// LRP2 language vectors of the loaded probe model as a resource: list, inspect, compute (on the model
/// thread), remove. Validates language codes and sentences; <see cref="ProjectionService"/> does the
/// work. The only thing the language-vector endpoints call.
/// </summary>
public sealed class LanguageVectorService(ModelHost host, IOptions<LanguageVectorOptions> options)
{
    /// <summary>The model the vectors belong to and its languages' vectors.</summary>
    public (string Model, IReadOnlyList<LanguageVectors> Vectors) List()
    {
        var models = host.Models;
        return (models.Probed.Name, models.Projection.List());
    }

    public LanguageVectors Get(string? language)
    {
        var code = LanguageCodes.Normalize(language);
        return host.Models.Projection.Get(code) ?? throw NotFound(code);
    }

    public async Task<LanguageVectors> ComputeAsync(string? language, IReadOnlyList<string>? sentences, CancellationToken cancellation)
    {
        var code = LanguageCodes.Normalize(language);
        var checkedSentences = Sentences(sentences);
        // In turns of a few sentences, so that chat and fill-mask work interleaves with a long PUT.
        return await LanguageVectorJobs.ComputeAsync(host, code, checkedSentences, cancellation);
    }

    public void Delete(string? language)
    {
        var code = LanguageCodes.Normalize(language);
        if (!host.Models.Projection.Delete(code)) throw NotFound(code);
    }

    IReadOnlyList<string> Sentences(IReadOnlyList<string>? sentences)
    {
        int max = options.Value.MaxSentences;
        if (sentences is null || sentences.Count == 0)
            throw InferenceException.Invalid("sentences must hold at least one sentence of the language.", "sentences");
        if (sentences.Count > max)
            throw InferenceException.Invalid($"sentences holds {sentences.Count} items; at most {max} per request (LanguageVectors:MaxSentences).", "sentences");
        int blank = sentences.ToList().FindIndex(string.IsNullOrWhiteSpace);
        if (blank >= 0)
            throw InferenceException.Invalid($"sentences[{blank}] is empty; send non-empty sentences only.", "sentences");
        return sentences;
    }

    static InferenceException NotFound(string language) => InferenceException.NotFound(
        $"There are no language vectors for '{language}' on the loaded model; compute them with PUT /v1/language-vectors/{language}.");
}
