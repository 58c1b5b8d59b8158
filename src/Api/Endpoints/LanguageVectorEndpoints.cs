using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Projection;

namespace Service.Api.Endpoints;

/// <summary>LRP2 language vectors of the loaded probe model as a resource, through <see cref="LanguageVectorService"/>.</summary>
public static class LanguageVectorEndpoints
{
    public static RouteGroupBuilder MapLanguageVectorEndpoints(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/language-vectors").WithTags("LRP2 language vectors")
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
        return v1;
    }

    static Ok<LanguageVectorsList> List(LanguageVectorService service)
    {
        var (model, vectors) = service.List();
        return TypedResults.Ok(new LanguageVectorsList(model, [.. vectors.Select(Info)]));
    }

    static Ok<LanguageVectorsInfo> Get(string language, LanguageVectorService service) => TypedResults.Ok(Info(service.Get(language)));

    static async Task<Ok<LanguageVectorsInfo>> Put(string language, LanguageVectorsRequest request, LanguageVectorService service, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        var vectors = await service.ComputeAsync(language, request.Sentences, cancellation);
        ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.LanguageVectors, started);
        return TypedResults.Ok(Info(vectors));
    }

    static NoContent Delete(string language, LanguageVectorService service)
    {
        service.Delete(language);
        return TypedResults.NoContent();
    }

    static LanguageVectorsInfo Info(LanguageVectors v) =>
        new(v.Language, v.Model, v.ModelFingerprint, v.LayerCount + 1, v.HiddenSize, v.SentenceCount, v.CorpusDigest, v.Created);
}
