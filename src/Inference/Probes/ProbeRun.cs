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
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default) =>
        (await EvaluateShardAsync(evaluator, projection, model, facts, Shard.Whole, execute, layers, progress, cancellation)).ToReport();

    /// <summary>
    /// One shard's part of the evaluation: every language of <paramref name="facts"/> is listed, with
    /// this shard's facts (<see cref="Shard.Facts"/>) and which of them it answered correctly.
    /// </summary>
    public static async Task<EvaluationPart> EvaluateShardAsync(
        ProbeEvaluator evaluator, ProjectionService projection, string model, IReadOnlyList<ProbeFact> facts, Shard shard,
        Func<Func<bool[]>, Task<bool[]>> execute, ProjectionRequest? layers = null,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default)
    {
        var languages = facts.Select(f => f.Language).Distinct().OrderBy(l => l == LanguageCodes.English ? "" : l, StringComparer.Ordinal).ToArray();
        bool projectable(string l) => l != LanguageCodes.English && layers?.Enabled != false;
        var pairs = languages.Where(projectable).ToDictionary(l => l, // fails now, not after the unprojected run, when vectors are missing
            l => projection.Plan(l, (layers ?? new ProjectionRequest()) with { Enabled = true }).Outcome.Layers!);
        var input = Shard.Digest([.. facts.Select(f => $"{f.Language} {f.Id}"), .. pairs.Select(p => $"layers {p.Key} {p.Value.Lirp} {p.Value.Lsrp}")]);

        var mine = shard.Facts(facts);
        int total = mine.Count + mine.Count(f => projectable(f.Language)), done = 0;
        async Task<string[]> Correct(string language, bool project)
        {
            var correct = await CorrectAsync(evaluator, [.. mine.Where(f => f.Language == language)], project, layers, execute,
                answered => progress?.Report((done += answered, total)), cancellation);
            return [.. correct.Order(StringComparer.Ordinal)];
        }

        var plain = new Dictionary<string, string[]>();
        foreach (var language in languages) plain[language] = await Correct(language, project: false);
        var rows = new List<LanguagePart>();
        foreach (var language in languages)
        {
            var pair = pairs.GetValueOrDefault(language);
            var projected = pair is null ? null : await Correct(language, project: true);
            rows.Add(new LanguagePart(language, mine.Count(f => f.Language == language), plain[language], projected, pair));
        }
        return new EvaluationPart(model, shard, input, rows);
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
