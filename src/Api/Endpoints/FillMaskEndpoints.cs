using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Api.Endpoints;

public static class FillMaskEndpoints
{
    public static IEndpointRouteBuilder MapFillMaskEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/fill-mask", FillMask)
            .WithName("FillMask")
            .WithTags("Fill-mask")
            .WithSummary("Predict the tokens at [MASK] positions")
            .WithDescription("Hugging Face fill-mask pipeline semantics: for each mask, the top_k tokens by softmax probability over the vocabulary, or the given targets ranked.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    static async Task<Results<Ok<FillMaskResponse>, ProblemHttpResult>> FillMask(
        FillMaskRequest request, ModelHost host, FillMaskBatcher batcher, HttpContext context, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var language = LanguageCodes.Normalize(request.Language);
            var engine = host.Models.FillMask ?? throw InferenceException.Invalid(
                $"{host.Models.Probed.Name} is a decoder: fill-mask needs a masked LM (BERT, XLM-R). Rank candidates with POST /v1/probes/evaluate.");
            var projection = request.Projection is { } p ? new ProjectionRequest(p.Enabled, p.LirpLayer, p.LsrpLayer) : null;
            var prepared = engine.Prepare(new FillMaskQuery(request.Text ?? "", request.TopK ?? 5, request.Targets, language, projection));
            var result = await batcher.SubmitAsync(prepared, cancellation);
            ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.FillMask, started, result.PromptTokens);
            return TypedResults.Ok(new FillMaskResponse(
                engine.Bundle.Name,
                [.. result.Masks.Select(m => new MaskResult(m.Position,
                    [.. m.Predictions.Select(p => new FillMaskPrediction(p.Score, p.Token, p.TokenStr, p.Sequence)
                    { Tokens = p.Tokens, MeanLogProbability = p.MeanLogProbability })]))],
                new FillMaskUsage(result.PromptTokens),
                Echo(result.Projection)));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    static ProjectionApplied Echo(ProjectionOutcome o) =>
        new(o.Applied, o.Language, o.Layers?.Lirp, o.Layers?.Lsrp, o.Layers?.Source.ToString().ToLowerInvariant(), o.Reason);
}
