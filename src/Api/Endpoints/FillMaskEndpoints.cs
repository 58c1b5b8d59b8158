using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.FillMask;
using Service.Inference.Projection;

namespace Service.Api.Endpoints;

/// <summary>`POST /v1/fill-mask`: DTO to <see cref="FillMaskInput"/>, <see cref="FillMaskService"/>, result to DTO.</summary>
public static class FillMaskEndpoints
{
    public static RouteGroupBuilder MapFillMaskEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/fill-mask", FillMask)
            .WithName("FillMask")
            .WithTags("Fill-mask")
            .WithSummary("Predict the tokens at [MASK] positions")
            .WithDescription("Hugging Face fill-mask pipeline semantics: for each mask, the top_k tokens by softmax probability over the vocabulary, or the given targets ranked.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return v1;
    }

    static async Task<Ok<FillMaskResponse>> FillMask(FillMaskRequest request, FillMaskService service, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        var input = new FillMaskInput(request.Text, request.TopK, request.Targets, request.Language, Projection(request.Projection));
        var (model, result) = await service.FillAsync(input, cancellation);
        ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.FillMask, started, result.PromptTokens);
        return TypedResults.Ok(new FillMaskResponse(
            model,
            [.. result.Masks.Select(m => new MaskResult(m.Position,
                [.. m.Predictions.Select(p => new FillMaskPrediction(p.Score, p.Token, p.TokenStr, p.Sequence)
                { Tokens = p.Tokens, MeanLogProbability = p.MeanLogProbability })]))],
            new FillMaskUsage(result.PromptTokens),
            Echo(result.Projection)));
    }

    internal static ProjectionRequest? Projection(ProjectionOptionsRequest? p) =>
        p is null ? null : new ProjectionRequest(p.Enabled, p.LirpLayer, p.LsrpLayer);

    static ProjectionApplied Echo(ProjectionOutcome o) =>
        new(o.Applied, o.Language, o.Layers?.Lirp, o.Layers?.Lsrp, o.Layers?.Source.ToString().ToLowerInvariant(), o.Reason);
}
