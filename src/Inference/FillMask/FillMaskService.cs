using Microsoft.Extensions.Options;
using Service.Inference.Models;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using Service.Inference.Tokenization;

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

    /// <summary>Whether <paramref name="model"/> is the fill-mask model's id (as GET /v1/models lists it).</summary>
    public bool Serves(string model) => host.Models.FillMaskModel?.Name == model;

    /// <summary>
    /// `/tokenize` for the fill-mask model: the ids the fill-mask route reads (`[MASK]` as the mask token);
    /// without <paramref name="addSpecialTokens"/>, the tokenizer's leading and trailing special token
    /// (BERT's [CLS] [SEP], XLM-R's &lt;s&gt; &lt;/s&gt;) left out.
    /// </summary>
    public TokenizedText Tokenize(string? prompt, bool hasMessages, bool addSpecialTokens)
    {
        var bundle = Bundle();
        TokenRequests.CheckPromptOrMessages(prompt, hasMessages, chats: false);
        var ids = bundle.Tokenizer.Encode(prompt!);
        return new TokenizedText(addSpecialTokens ? ids : ids[1..^1], bundle.MaxSequenceLength);
    }

    /// <summary>`/detokenize` for the fill-mask model: Hugging Face's `decode(ids)` with its default, special tokens kept (as vLLM's /detokenize).</summary>
    public string Detokenize(IReadOnlyList<int>? tokens)
    {
        var bundle = Bundle();
        TokenRequests.CheckIds(tokens, bundle.Tokenizer.VocabSize);
        return bundle.Tokenizer.Decode(tokens!, skipSpecialTokens: false);
    }

    MaskedLmBundle Bundle() => host.Models.FillMaskModel
        ?? throw InferenceException.NotFound("This service has no fill-mask model loaded.", "model");
}
