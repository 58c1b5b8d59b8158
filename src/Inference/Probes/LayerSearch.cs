using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>Acc and Trans of one language for one (i, j).</summary>
public sealed record PairScore(int Lirp, int Lsrp, LanguageScores Scores);

/// <summary>
/// Evaluates every pair 1 &lt;= i &lt; j &lt;= L for a language on a probe set (English facts are needed
/// for Trans) and picks the pair with the best Trans (ties: better Acc, then smaller i, j), as the
/// paper tunes (i, j) per language.
/// </summary>
public static class LayerSearch
{
    /// <summary>Every (i, j) with 1 &lt;= i &lt; j &lt;= L, i first: the order shards split.</summary>
    public static IReadOnlyList<(int Lirp, int Lsrp)> Pairs(int layerCount) =>
        [.. from i in Enumerable.Range(1, layerCount) from j in Enumerable.Range(i + 1, layerCount - i) select (i, j)];

    /// <summary>
    /// One shard's part of a search over every non-English language of <paramref name="facts"/>: the
    /// shard's (i, j) pairs (pair p belongs to shard p mod N), each scored on all facts.
    /// </summary>
    public static async Task<LayerSearchPart> SearchShardAsync(ProbeEvaluator evaluator, string model, IReadOnlyList<ProbeFact> facts,
        int layerCount, Shard shard, Func<Func<bool[]>, Task<bool[]>> execute,
        Func<string, IProgress<(int Done, int Total)>?>? progress = null, CancellationToken cancellation = default)
    {
        var languages = facts.Select(f => f.Language).Distinct().Where(l => l != LanguageCodes.English).Order(StringComparer.Ordinal).ToArray();
        var input = Shard.Digest(facts.Select(f => $"{f.Language} {f.Id}"));
        var parts = new List<LanguagePairs>();
        foreach (var language in languages)
            parts.Add(new LanguagePairs(language, await RunAsync(evaluator, facts, language, layerCount, execute, progress?.Invoke(language), cancellation, shard)));
        return new LayerSearchPart(model, shard, input, layerCount, parts);
    }

    public static async Task<IReadOnlyList<PairScore>> RunAsync(ProbeEvaluator evaluator, IReadOnlyList<ProbeFact> facts, string language,
        int layerCount, Func<Func<bool[]>, Task<bool[]>> execute, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default,
        Shard? shard = null)
    {
        var english = await ProbeRun.CorrectAsync(evaluator, [.. facts.Where(f => f.Language == LanguageCodes.English)], false, null, execute, cancellation: cancellation);
        var englishOutcome = new LanguageOutcome(LanguageCodes.English, facts.Count(f => f.Language == LanguageCodes.English), english);
        var target = facts.Where(f => f.Language == language).ToArray();
        var pairs = Pairs(layerCount).Where((_, p) => (shard ?? Shard.Whole).Owns(p)).ToArray();
        var results = new List<PairScore>();
        foreach (var (i, j) in pairs)
        {
            var correct = await ProbeRun.CorrectAsync(evaluator, target, true, new ProjectionRequest(true, i, j), execute, cancellation: cancellation);
            results.Add(new PairScore(i, j, ProbeMetrics.Score(new LanguageOutcome(language, target.Length, correct), englishOutcome)));
            progress?.Report((results.Count, pairs.Length));
        }
        return results;
    }

    public static PairScore Best(IReadOnlyList<PairScore> scores) =>
        scores.OrderByDescending(s => s.Scores.Transferability ?? -1).ThenByDescending(s => s.Scores.Accuracy)
            .ThenBy(s => s.Lirp).ThenBy(s => s.Lsrp).First();

    /// <summary>Trans over (i, j) as a [L, L] grid, row i - 1, column j - 1; null where i &gt;= j.</summary>
    public static double?[,] TransGrid(IReadOnlyList<PairScore> scores, int layerCount)
    {
        var grid = new double?[layerCount, layerCount];
        foreach (var s in scores) grid[s.Lirp - 1, s.Lsrp - 1] = s.Scores.Transferability ?? 0;
        return grid;
    }
}
