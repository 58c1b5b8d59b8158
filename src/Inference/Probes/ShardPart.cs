using System.Text.Json.Serialization;
using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>
/// What one shard of `lrp2 evaluate` or `lrp2 layer-search` found, written as JSON and combined by
/// `lrp2 merge`. A single run is the one part of <see cref="Shard.Whole"/>, so a merged run and a
/// single run produce their reports through the same code.
/// </summary>
/// <param name="Input">The <see cref="Shard.Digest"/> of the run's input; all parts of one run share it.</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(EvaluationPart), "evaluate")]
[JsonDerivedType(typeof(LayerSearchPart), "layer-search")]
public abstract record ShardPart(string Model, Shard Shard, string Input)
{
    /// <summary>The parts of one run, each shard exactly once; throws with what is wrong otherwise.</summary>
    public static IReadOnlyList<T> Complete<T>(IReadOnlyList<ShardPart> parts) where T : ShardPart
    {
        if (parts.Count == 0) throw new ArgumentException("no partial results to merge.");
        var typed = parts.OfType<T>().ToList();
        if (typed.Count != parts.Count) throw new ArgumentException("the parts mix evaluate and layer-search results.");
        var first = typed[0];
        var stranger = typed.FirstOrDefault(p => p.Model != first.Model || p.Input != first.Input || p.Shard.Count != first.Shard.Count);
        if (stranger is not null)
            throw new ArgumentException($"shard {stranger.Shard} is from another run (model {stranger.Model}, input {stranger.Input}, {stranger.Shard.Count} shards) " +
                $"than shard {first.Shard} (model {first.Model}, input {first.Input}, {first.Shard.Count} shards).");
        var missing = Enumerable.Range(0, first.Shard.Count).Where(k => typed.Count(p => p.Shard.Index == k) != 1).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException($"shards {string.Join(", ", missing)} of {first.Shard.Count} are missing or given twice.");
        return [.. typed.OrderBy(p => p.Shard.Index)];
    }
}

/// <summary>One shard of an evaluation: per language, its facts in this shard and the ids answered correctly.</summary>
public sealed record EvaluationPart(string Model, Shard Shard, string Input, IReadOnlyList<LanguagePart> Languages)
    : ShardPart(Model, Shard, Input)
{
    public static EvaluationPart Merge(IReadOnlyList<ShardPart> parts)
    {
        var complete = Complete<EvaluationPart>(parts);
        var languages = complete[0].Languages.Select(l => l.Language).ToArray();
        var merged = languages.Select(language =>
        {
            var pieces = complete.Select(p => p.Languages.Single(l => l.Language == language)).ToArray();
            return new LanguagePart(language, pieces.Sum(p => p.Facts), Union(pieces.Select(p => p.Correct)),
                pieces[0].ProjectedCorrect is null ? null : Union(pieces.Select(p => p.ProjectedCorrect!)), pieces[0].Layers);
        });
        return new EvaluationPart(complete[0].Model, Shard.Whole, complete[0].Input, [.. merged]);
    }

    static string[] Union(IEnumerable<IReadOnlyList<string>> sets) => [.. sets.SelectMany(s => s).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>Acc and Trans per language; Trans against English's unprojected answers, as the paper measures.</summary>
    public ProbeReport ToReport()
    {
        var english = Languages.FirstOrDefault(l => l.Language == LanguageCodes.English) is { } en ? en.Outcome(en.Correct) : null;
        return new ProbeReport(Model, [.. Languages.Select(l => new ProbeReportRow(l.Language, ProbeMetrics.Score(l.Outcome(l.Correct), english),
            l.ProjectedCorrect is null ? null : ProbeMetrics.Score(l.Outcome(l.ProjectedCorrect), english), l.Layers))]);
    }
}

/// <param name="Correct">Ids answered correctly without projection (ordinal order).</param>
/// <param name="ProjectedCorrect">Ids answered correctly with LRP2, or null when the language was not projected.</param>
public sealed record LanguagePart(string Language, int Facts, IReadOnlyList<string> Correct, IReadOnlyList<string>? ProjectedCorrect, LayerPair? Layers)
{
    internal LanguageOutcome Outcome(IReadOnlyList<string> correct) => new(Language, Facts, correct.ToHashSet(StringComparer.Ordinal));
}

/// <summary>One shard of a layer search: per language, the scores of this shard's (i, j) pairs.</summary>
public sealed record LayerSearchPart(string Model, Shard Shard, string Input, int LayerCount, IReadOnlyList<LanguagePairs> Languages)
    : ShardPart(Model, Shard, Input)
{
    public static LayerSearchPart Merge(IReadOnlyList<ShardPart> parts)
    {
        var complete = Complete<LayerSearchPart>(parts);
        int layers = complete[0].LayerCount;
        var merged = complete[0].Languages.Select(l => l.Language).Select(language =>
        {
            var scores = complete.SelectMany(p => p.Languages.Single(l => l.Language == language).Scores).OrderBy(s => s.Lirp).ThenBy(s => s.Lsrp).ToArray();
            if (scores.Length != LayerSearch.Pairs(layers).Count)
                throw new ArgumentException($"{language}: the parts hold {scores.Length} pairs, a search over {layers} layers has {LayerSearch.Pairs(layers).Count}.");
            return new LanguagePairs(language, scores);
        });
        return new LayerSearchPart(complete[0].Model, Shard.Whole, complete[0].Input, layers, [.. merged]);
    }
}

public sealed record LanguagePairs(string Language, IReadOnlyList<PairScore> Scores);
