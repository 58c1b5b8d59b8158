using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Service.Inference.Hosting;
using Service.Inference.Models;

namespace Service.Inference.Projection;

/// <summary>What a request asked of LRP2 (all optional).</summary>
public sealed record ProjectionRequest(bool? Enabled = null, int? LirpLayer = null, int? LsrpLayer = null);

/// <summary>What was applied, echoed to the caller: the layers and where they came from, or why not.</summary>
public sealed record ProjectionOutcome(bool Applied, string Language, LayerPair? Layers, string? Reason);

/// <summary>
/// The language vectors of the loaded masked LM: memory first, then the disk cache. Planning
/// (which vectors and layers a query gets) runs on request threads; computing runs on the host's.
/// </summary>
public sealed class ProjectionService
{
    readonly IProbedModel _bundle;
    readonly ProjectionOptions _options;
    readonly LanguageVectorStore _store;
    readonly ILogger _log;
    readonly ConcurrentDictionary<string, LanguageVectors> _loaded = new(StringComparer.Ordinal);

    public ProjectionService(IProbedModel bundle, ProjectionOptions options, ILogger log)
    {
        _bundle = bundle;
        _options = options;
        _log = log;
        _store = new LanguageVectorStore(options.CacheDirectory, bundle.Fingerprint, log);
        _searched = _store.LoadSearchedLayers();
        PaperModel = PaperModels.Recognize(bundle);
    }

    Dictionary<string, int[]> _searched;

    /// <summary>Saves layer-search winners for this model; they become the defaults (below configuration).</summary>
    public void SaveSearchedLayers(IReadOnlyDictionary<string, int[]> best)
    {
        var merged = new Dictionary<string, int[]>(_searched);
        foreach (var (language, pair) in best) merged[language] = pair;
        _store.SaveSearchedLayers(merged);
        _searched = merged;
    }

    public PaperModel PaperModel { get; }

    public LanguageVectors? Get(string language)
    {
        if (_loaded.TryGetValue(language, out var vectors)) return vectors;
        vectors = _store.Load(language);
        return vectors is null ? null : _loaded.GetOrAdd(language, vectors);
    }

    public IReadOnlyList<LanguageVectors> List() =>
        [.. _store.Languages().Union(_loaded.Keys).Distinct().Order(StringComparer.Ordinal).Select(Get).OfType<LanguageVectors>()];

    public bool Delete(string language)
    {
        bool removed = _loaded.TryRemove(language, out _);
        return _store.Delete(language) || removed;
    }

    /// <summary>Computes, stores and returns a language's vectors. Host thread only.</summary>
    public LanguageVectors Compute(string language, IReadOnlyList<string> sentences)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var layers = LanguageVectorComputer.Compute(_bundle, sentences, progress: (done, total) =>
            _log.LogInformation("Language vectors {Language}: {Done}/{Total} sentences", language, done, total));
        var vectors = Store(language, sentences, layers);
        _log.LogInformation("Language vectors {Language} computed from {Sentences} sentences in {ElapsedMs} ms",
            language, sentences.Count, clock.ElapsedMilliseconds);
        return vectors;
    }

    /// <summary>Stores vectors computed elsewhere (the command line's progress-reporting run).</summary>
    public LanguageVectors Store(string language, IReadOnlyList<string> sentences, float[][] layers)
    {
        var vectors = new LanguageVectors(language, _bundle.Name, _bundle.Fingerprint, sentences.Count,
            LanguageVectors.Digest(sentences), DateTimeOffset.UtcNow, layers);
        _store.Save(vectors);
        _loaded[language] = vectors;
        return vectors;
    }

    /// <summary>Decides the projection of one query; throws a validation error only when the caller asked for projection explicitly.</summary>
    public (RowProjection? Row, ProjectionOutcome Outcome) Plan(string language, ProjectionRequest? request)
    {
        bool explicitlyAsked = request is { Enabled: true } || request?.LirpLayer is not null || request?.LsrpLayer is not null;
        if (request is { Enabled: false })
            return (null, new ProjectionOutcome(false, language, null, "projection disabled by the request"));
        if (language == LanguageCodes.English)
            return (null, new ProjectionOutcome(false, language, null, "English queries are never projected"));
        var layers = LayerPairs.Resolve(language, request?.LirpLayer, request?.LsrpLayer, _bundle.Model.LayerCount, PaperModel, _options, _searched);
        var missing = new[] { language, LanguageCodes.English }.Where(l => Get(l) is null).ToArray();
        if (missing.Length > 0)
        {
            var what = string.Join(" and ", missing.Select(l => $"PUT /v1/language-vectors/{l}"));
            var reason = $"no language vectors for {string.Join(" and ", missing)} on {_bundle.Name}; compute them with {what}";
            if (explicitlyAsked) throw InferenceException.Invalid($"projection was requested but there are {reason}.", "projection");
            return (null, new ProjectionOutcome(false, language, null, reason));
        }
        return (new RowProjection(Get(language)!, Get(LanguageCodes.English)!, layers), new ProjectionOutcome(true, language, layers, null));
    }
}

public static class PaperModels
{
    /// <summary>bert-base-multilingual-cased and bloom-560m have unique published shapes.</summary>
    public static PaperModel Recognize(IProbedModel bundle) =>
        (bundle.Model.LayerCount, bundle.Model.HiddenSize, bundle.Model.VocabSize) switch
        {
            (12, 768, 119547) => PaperModel.MultilingualBertBaseCased,
            (24, 1024, 250880) => PaperModel.Bloom560m,
            _ => PaperModel.None,
        };
}
