using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.FillMask;
using Service.Inference.Hosting;

namespace Service.Api.Endpoints;

public static partial class FillMaskEndpoints
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
        FillMaskRequest request, ModelHost host, HttpContext context, CancellationToken cancellation)
    {
        try
        {
            var language = Language(request.Language);
            var engine = host.Models.FillMask;
            var prepared = engine.Prepare(new FillMaskQuery(request.Text ?? "", request.TopK ?? 5, request.Targets, language));
            var result = await host.RunAsync(models => models.FillMask.Run([prepared])[0], cancellation);
            return TypedResults.Ok(new FillMaskResponse(
                engine.Bundle.Name,
                [.. result.Masks.Select(m => new MaskResult(m.Position,
                    [.. m.Predictions.Select(p => new FillMaskPrediction(p.Score, p.Token, p.TokenStr, p.Sequence))]))],
                new FillMaskUsage(result.PromptTokens)));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    /// <summary>An ISO 639 code such as "fr" or "zh", optionally with a region ("pt-BR"); lower-cased.</summary>
    static string Language(string? language)
    {
        if (language is null) return "en";
        if (!LanguageTag().IsMatch(language))
            throw InferenceException.Invalid("language must be an ISO 639-1 or 639-3 code such as \"en\", \"fr\" or \"zh\".", "language");
        return language.ToLowerInvariant();
    }

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
    private static partial Regex LanguageTag();
}
