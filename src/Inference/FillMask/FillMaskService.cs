using Microsoft.Extensions.Options;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Inference.FillMask;

/// <summary>A fill-mask request as the API hands it over: fields the caller may have left out are null.</summary>
public sealed record FillMaskInput(string? Text, int? TopK, IReadOnlyList<string>? Targets, string? Language, ProjectionRequest? Projection);

/// <summary>The answer and the model that gave it.</summary>
public sealed record FillMaskAnswer(string Model, FillMaskResult Result);

/// <summary>
/// Fill-mask from request to answer: defaults and validation (here and in <see cref="FillMaskEngine.Prepare"/>,
/// which needs the tokenizer), then the query joins <see cref="FillMaskBatcher"/>'s next padded batch on the
/// model thread. The only thing the fill-mask endpoint calls.
/// </summary>
public sealed class FillMaskService(ModelHost host, FillMaskBatcher batcher, IOptions<FillMaskOptions> options)
{
    public async Task<FillMaskAnswer> FillAsync(FillMaskInput input, CancellationToken cancellation)
    {
        var language = LanguageCodes.Normalize(input.Language);
        var models = host.Models;
        var engine = models.FillMask ?? throw InferenceException.Invalid(
            $"{models.Probed.Name} is a decoder: fill-mask needs a masked LM (BERT, XLM-R). Rank candidates with POST /v1/probes/evaluate.");
        var query = new FillMaskQuery(input.Text ?? "", input.TopK ?? options.Value.DefaultTopK, input.Targets, language, input.Projection);
        var result = await batcher.SubmitAsync(engine.Prepare(query), cancellation);
        return new FillMaskAnswer(engine.Bundle.Name, result);
    }
}
