using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Hosting;
using Service.Inference.Probes;
using Service.Inference.Projection;

namespace Service.Api.Endpoints;

public static class ProbeEndpoints
{
    public const int MaxFacts = 5_000;

    public static IEndpointRouteBuilder MapProbeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/probes/evaluate", Evaluate)
            .WithName("EvaluateProbes")
            .WithTags("LRP2 evaluation")
            .WithSummary("Acc and Trans of a small probe set, with and without LRP2 (for full mLAMA use the command line)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    static async Task<Results<Ok<ProbeEvaluationResponse>, ProblemHttpResult>> Evaluate(
        ProbeEvaluationRequest request, ModelHost host, HttpContext context, CancellationToken cancellation)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var facts = Facts(request);
            var models = host.Models;
            var evaluator = new ProbeEvaluator(models.Probed, models.Projection);
            var layers = request.Projection is { } p ? new ProjectionRequest(p.Enabled, p.LirpLayer, p.LsrpLayer) : null;
            var report = await ProbeRun.EvaluateAsync(evaluator, models.Projection, models.Probed.Name, facts,
                work => host.RunAsync(_ => work(), cancellation), layers, cancellation: cancellation);
            ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.Probes, started);
            return TypedResults.Ok(new ProbeEvaluationResponse(report.Model, [.. report.Languages.Select(Row)], report.ToMarkdown()));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }

    static ProbeLanguageResult Row(ProbeReportRow row) => new(row.Language, row.Plain.Facts, Scores(row.Plain),
        row.Projected is null ? null : Scores(row.Projected), row.Layers?.Lirp, row.Layers?.Lsrp, row.Layers?.Source.ToString().ToLowerInvariant());

    static ProbeScores Scores(LanguageScores s) => new(s.Correct, s.Accuracy, s.Transferability);

    static List<ProbeFact> Facts(ProbeEvaluationRequest request)
    {
        if (request.Facts is not { Count: > 0 } facts)
            throw InferenceException.Invalid("facts must hold at least one fact.", "facts");
        if (facts.Count > MaxFacts)
            throw InferenceException.Invalid($"facts holds {facts.Count} items; at most {MaxFacts} per request (use the lrp2 evaluate command for full mLAMA).", "facts");
        var result = new List<ProbeFact>(facts.Count);
        for (int i = 0; i < facts.Count; i++)
        {
            var f = facts[i] ?? throw InferenceException.Invalid($"facts[{i}] is null; each fact is an object with id, language, template, subject, object and candidates.", "facts");
            var missing = new (string Name, object? Value)[] { ("id", f.Id), ("language", f.Language), ("template", f.Template), ("subject", f.Subject), ("object", f.Object), ("candidates", f.Candidates) }
                .FirstOrDefault(field => field.Value is null || field.Value is string { Length: 0 });
            if (missing.Name is not null)
                throw InferenceException.Invalid($"facts[{i}].{missing.Name} is missing.", "facts");
            if (f.Candidates!.Any(string.IsNullOrWhiteSpace))
                throw InferenceException.Invalid($"facts[{i}].candidates holds an empty candidate.", "facts");
            result.Add(new ProbeFact(f.Id!, f.Relation ?? "", LanguageCodes.Normalize(f.Language, $"facts[{i}].language"), f.Template!, f.Subject!, f.Object!, f.Candidates!));
        }
        return result;
    }
}
