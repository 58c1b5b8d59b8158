using Microsoft.Extensions.Options;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>One fact as the API hands it over: any field may be missing, which validation reports.</summary>
public sealed record ProbeFactInput(string? Id, string? Language, string? Relation, string? Template, string? Subject, string? Object,
    IReadOnlyList<string>? Candidates);

/// <summary>
/// LRP2 evaluation of a small probe set (Acc and Trans, with and without projection): validates the
/// facts, then scores them in chunks that run as model-host jobs, so other requests interleave. The only
/// thing the probe endpoint calls.
/// </summary>
public sealed class ProbeService(ModelHost host, IOptions<ProbeOptions> options)
{
    public async Task<ProbeReport> EvaluateAsync(IReadOnlyList<ProbeFactInput?>? facts, ProjectionRequest? layers, CancellationToken cancellation)
    {
        var checkedFacts = Facts(facts);
        var models = host.Models;
        var evaluator = new ProbeEvaluator(models.Probed, models.Projection);
        return await ProbeRun.EvaluateAsync(evaluator, models.Projection, models.Probed.Name, checkedFacts,
            work => host.RunAsync(_ => work(), cancellation), layers, cancellation: cancellation);
    }

    List<ProbeFact> Facts(IReadOnlyList<ProbeFactInput?>? facts)
    {
        int max = options.Value.MaxFacts;
        if (facts is not { Count: > 0 })
            throw InferenceException.Invalid("facts must hold at least one fact.", "facts");
        if (facts.Count > max)
            throw InferenceException.Invalid($"facts holds {facts.Count} items; at most {max} per request (Probes:MaxFacts; use the lrp2 evaluate command for full mLAMA).", "facts");
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
