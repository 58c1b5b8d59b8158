using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Api.Endpoints;

/// <summary>LRP2 language vectors of the loaded fill-mask model as a resource: list, compute, inspect, remove.</summary>
public static class LanguageVectorEndpoints
{
    public const int MaxSentences = 10_000;

    public static IEndpointRouteBuilder MapLanguageVectorEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/language-vectors").WithTags("LRP2 language vectors")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/", List).WithName("ListLanguageVectors").WithSummary("Languages with stored vectors for the loaded model");
        group.MapGet("/{language}", Get).WithName("GetLanguageVectors").WithSummary("Metadata of one language's vectors")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{language}", Put).WithName("PutLanguageVectors")
            .WithSummary("Compute and store a language's vectors from sentences (replaces earlier ones)")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);
        group.MapDelete("/{language}", Delete).WithName("DeleteLanguageVectors").WithSummary("Remove a language's vectors")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);
        return app;
    }

    static Results<Ok<LanguageVectorsList>, ProblemHttpResult> List(ModelHost host, HttpContext context) => Handle(context, () =>
    {
        var models = host.Models;
        return new LanguageVectorsList(models.Probed.Name, [.. models.Projection.List().Select(Info)]);
    });

    static Results<Ok<LanguageVectorsInfo>, ProblemHttpResult> Get(string language, ModelHost host, HttpContext context) => Handle(context, () =>
    {
        var code = LanguageCodes.Normalize(language);
        var vectors = host.Models.Projection.Get(code) ?? throw NotFound(code);
        return Info(vectors);
    });

    static async Task<Results<Ok<LanguageVectorsInfo>, ProblemHttpResult>> Put(
        string language, LanguageVectorsRequest request, ModelHost host, HttpContext context, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var code = LanguageCodes.Normalize(language);
            var sentences = Sentences(request);
            var vectors = await LanguageVectorJobs.ComputeAsync(host, code, sentences, cancellation);
            ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.LanguageVectors, started);
            return TypedResults.Ok(Info(vectors));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    static Results<NoContent, ProblemHttpResult> Delete(string language, ModelHost host, HttpContext context)
    {
        try
        {
            var code = LanguageCodes.Normalize(language);
            return host.Models.Projection.Delete(code) ? TypedResults.NoContent() : ApiErrors.Problem(context, NotFound(code));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    static IReadOnlyList<string> Sentences(LanguageVectorsRequest request)
    {
        var sentences = request.Sentences;
        if (sentences is null || sentences.Count == 0)
            throw InferenceException.Invalid("sentences must hold at least one sentence of the language.", "sentences");
        if (sentences.Count > MaxSentences)
            throw InferenceException.Invalid($"sentences holds {sentences.Count} items; at most {MaxSentences} per request.", "sentences");
        int blank = sentences.ToList().FindIndex(string.IsNullOrWhiteSpace);
        if (blank >= 0)
            throw InferenceException.Invalid($"sentences[{blank}] is empty; send non-empty sentences only.", "sentences");
        return sentences;
    }

    static InferenceException NotFound(string language) => new(InferenceErrorKind.NotFound,
        $"There are no language vectors for '{language}' on the loaded model; compute them with PUT /v1/language-vectors/{language}.");

    static Results<Ok<T>, ProblemHttpResult> Handle<T>(HttpContext context, Func<T> work)
    {
        try
        {
            return TypedResults.Ok(work());
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    static LanguageVectorsInfo Info(LanguageVectors v) =>
        new(v.Language, v.Model, v.ModelFingerprint, v.LayerCount + 1, v.HiddenSize, v.SentenceCount, v.CorpusDigest, v.Created);
}
