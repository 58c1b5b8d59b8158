using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Probes;

namespace Service.Api.Endpoints;

/// <summary>`POST /v1/probes/evaluate`: DTO to <see cref="ProbeFactInput"/>s, <see cref="ProbeService"/>, report to DTO.</summary>
public static class ProbeEndpoints
{
    public static RouteGroupBuilder MapProbeEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/probes/evaluate", Evaluate)
            .WithName("EvaluateProbes")
            .WithTags("LRP2 evaluation")
            .WithSummary("Acc and Trans of a small probe set, with and without LRP2 (for full mLAMA use the command line)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return v1;
    }

    static async Task<Ok<ProbeEvaluationResponse>> Evaluate(ProbeEvaluationRequest request, ProbeService service, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        var facts = request.Facts?.Select(f => f is null ? null
            : new ProbeFactInput(f.Id, f.Language, f.Relation, f.Template, f.Subject, f.Object, f.Candidates)).ToList();
        var report = await service.EvaluateAsync(facts, FillMaskEndpoints.Projection(request.Projection), cancellation);
        ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.Probes, started);
        return TypedResults.Ok(new ProbeEvaluationResponse(report.Model, [.. report.Languages.Select(Row)], report.ToMarkdown()));
    }

    static ProbeLanguageResult Row(ProbeReportRow row) => new(row.Language, row.Plain.Facts, Scores(row.Plain),
        row.Projected is null ? null : Scores(row.Projected), row.Layers?.Lirp, row.Layers?.Lsrp, row.Layers?.Source.ToString().ToLowerInvariant());

    static ProbeScores Scores(LanguageScores s) => new(s.Correct, s.Accuracy, s.Transferability);
}
