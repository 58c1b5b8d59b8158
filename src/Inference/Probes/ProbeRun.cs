using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>
/// Evaluates a probe set in every language it holds, without projection and (for non-English
/// languages) with LRP2, and reports Acc and Trans against English. Scoring goes through
/// <c>execute</c> in chunks: the service runs each chunk as a host job (so other requests interleave
/// and cancellation is prompt), the command line runs them in place.
/// </summary>
public static class ProbeRun
{
    public const int FactsPerChunk = 32;

    public static async Task<ProbeReport> EvaluateAsync(
        ProbeEvaluator evaluator, ProjectionService projection, string model, IReadOnlyList<ProbeFact> facts,
        Func<Func<bool[]>, Task<bool[]>> execute, ProjectionRequest? layers = null,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default)
    {
        var languages = facts.Select(f => f.Language).Distinct().OrderBy(l => l == LanguageCodes.English ? "" : l, StringComparer.Ordinal).ToArray();
        bool projectable(string l) => l != LanguageCodes.English && layers?.Enabled != false;
        int total = facts.Count + facts.Count(f => projectable(f.Language)), done = 0;
        var pairs = languages.Where(projectable).ToDictionary(l => l, // fails now, not after the unprojected run, when vectors are missing
            l => projection.Plan(l, (layers ?? new ProjectionRequest()) with { Enabled = true }).Outcome.Layers!);

        async Task<LanguageOutcome> Outcome(string language, bool project)
        {
            var inLanguage = facts.Where(f => f.Language == language).ToArray();
            var correct = await CorrectAsync(evaluator, inLanguage, project, layers, execute,
                answered => progress?.Report((done += answered, total)), cancellation);
            return new LanguageOutcome(language, inLanguage.Length, correct);
        }

        var plain = new Dictionary<string, LanguageOutcome>();
        foreach (var language in languages) plain[language] = await Outcome(language, project: false);
        plain.TryGetValue(LanguageCodes.English, out var english);

        var rows = new List<ProbeReportRow>();
        foreach (var language in languages)
        {
            LanguageScores? projected = null;
            var pair = pairs.GetValueOrDefault(language);
            if (pair is not null)
            {
                projected = ProbeMetrics.Score(await Outcome(language, project: true), english);
            }
            rows.Add(new ProbeReportRow(language, ProbeMetrics.Score(plain[language], english), projected, pair));
        }
        return new ProbeReport(model, rows);
    }

    /// <summary>Ids of the facts whose gold object ranks first, scored in chunks through <c>execute</c>.</summary>
    public static async Task<HashSet<string>> CorrectAsync(ProbeEvaluator evaluator, IReadOnlyList<ProbeFact> facts, bool project,
        ProjectionRequest? layers, Func<Func<bool[]>, Task<bool[]>> execute, Action<int>? answered = null, CancellationToken cancellation = default)
    {
        var prepared = facts.Select(f => evaluator.Prepare(f, project, layers)).ToArray();
        var correct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in prepared.Chunk(FactsPerChunk))
        {
            cancellation.ThrowIfCancellationRequested();
            var answers = await execute(() => evaluator.Answer(chunk));
            correct.UnionWith(chunk.Where((_, i) => answers[i]).Select(f => f.Fact.Id));
            answered?.Invoke(chunk.Length);
        }
        return correct;
    }
}
