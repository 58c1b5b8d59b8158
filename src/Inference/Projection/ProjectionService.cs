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
/// Loads, stores and deletes take one lock, so that after each of them memory and disk agree (a
/// DELETE racing a GET can no longer leave vectors in memory whose file is gone). Replicas sharing
/// the cache directory see each other's writes: a file watcher, and a periodic re-scan for volumes
/// whose watchers miss events, drop memory entries whose file changed or vanished.
/// </summary>
public sealed class ProjectionService : IDisposable
{
    /// <summary>Temporary files older than this at start-up were left by a writer that died.</summary>
    static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromMinutes(10);

    readonly IProbedModel _bundle;
    readonly ProjectionOptions _options;
    readonly LanguageVectorStore _store;
    readonly ILogger _log;
    readonly Lock _gate = new();
    readonly ConcurrentDictionary<string, LanguageVectorStore.Stored> _loaded = new(StringComparer.Ordinal);
    readonly CacheFollower? _follower;

    public ProjectionService(IProbedModel bundle, ProjectionOptions options, ILogger log, LanguageVectorStore? store = null)
    {
        _bundle = bundle;
        _options = options;
        _log = log;
        _store = store ?? new LanguageVectorStore(options.CacheDirectory, bundle.Fingerprint, log);
        _store.RemoveStaleTemporaries(StaleTemporaryAge);
        _searched = _store.LoadSearchedLayers();
        PaperModel = PaperModels.Recognize(bundle);
        if (options.RescanSeconds > 0)
            _follower = new CacheFollower(_store.ModelDirectory, TimeSpan.FromSeconds(options.RescanSeconds), options.WatchCache, Refresh,
                () => { foreach (var language in _loaded.Keys) Refresh(language); }, log);
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

    internal ILogger Log => _log;

    /// <summary>Whether a language's vectors are held in memory now (for tests of memory/disk agreement).</summary>
    internal bool InMemory(string language) => _loaded.ContainsKey(language);

    public LanguageVectors? Get(string language)
    {
        if (_loaded.TryGetValue(language, out var held)) return held.Vectors;
        lock (_gate)
        {
            if (_loaded.TryGetValue(language, out held)) return held.Vectors;
            var stored = _store.LoadStamped(language);
            if (stored is null) return null;
            _loaded[language] = stored;
            return stored.Vectors;
        }
    }

    public IReadOnlyList<LanguageVectors> List() =>
        [.. _store.Languages().Union(_loaded.Keys).Distinct().Order(StringComparer.Ordinal).Select(Get).OfType<LanguageVectors>()];

    /// <summary>Removes a language's vectors from disk, then memory; on a disk error (Storage) neither changes.</summary>
    public bool Delete(string language)
    {
        lock (_gate)
        {
            bool removed = _store.Delete(language);
            return _loaded.TryRemove(language, out _) || removed;
        }
    }

    /// <summary>Computes, stores and returns a language's vectors in one go. Host thread only (the command line, tests).</summary>
    public LanguageVectors Compute(string language, IReadOnlyList<string> sentences)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EnsureRoomFor(language);
        var layers = LanguageVectorComputer.Compute(_bundle, sentences, progress: (done, total) =>
            _log.LogInformation("Language vectors {Language}: {Done}/{Total} sentences", language, done, total));
        var vectors = Store(language, sentences, layers);
        _log.LogInformation("Language vectors {Language} computed from {Sentences} sentences in {ElapsedMs} ms",
            language, sentences.Count, clock.ElapsedMilliseconds);
        return vectors;
    }

    /// <summary>
    /// Stores computed vectors, on disk then in memory. When <paramref name="cancellation"/> has fired
    /// (the caller left, or its deadline passed) nothing is stored: a PUT that was answered with an
    /// error never replaces vectors.
    /// </summary>
    public LanguageVectors Store(string language, IReadOnlyList<string> sentences, float[][] layers, CancellationToken cancellation = default)
    {
        var vectors = new LanguageVectors(language, _bundle.Name, _bundle.Fingerprint, sentences.Count,
            LanguageVectors.Digest(sentences), DateTimeOffset.UtcNow, layers);
        lock (_gate)
        {
            cancellation.ThrowIfCancellationRequested();
            EnsureRoomFor(language);
            var stamp = _store.Save(vectors);
            _loaded[language] = new LanguageVectorStore.Stored(vectors, stamp);
        }
        return vectors;
    }

    /// <summary>Throws Conflict when <paramref name="language"/> would be one more than Projection:MaxLanguages.</summary>
    public void EnsureRoomFor(string language)
    {
        if (_options.MaxLanguages <= 0) return;
        var stored = _store.Languages().Union(_loaded.Keys).ToHashSet(StringComparer.Ordinal);
        if (!stored.Contains(language) && stored.Count >= _options.MaxLanguages)
            throw new InferenceException(InferenceErrorKind.Conflict,
                $"The cache already holds vectors for {stored.Count} languages, the most Projection:MaxLanguages allows; " +
                "DELETE /v1/language-vectors/{language} of one you no longer need, or raise the option.", "language");
    }

    /// <summary>Drops a language from memory when its file changed or vanished; keeps it when the disk cannot say.</summary>
    void Refresh(string language)
    {
        lock (_gate)
        {
            if (!_loaded.TryGetValue(language, out var held)) return;
            string? onDisk;
            try
            {
                onDisk = _store.Stamp(language);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
            if (onDisk == held.Stamp) return;
            _loaded.TryRemove(language, out _);
            _log.LogInformation("Language vectors {Language} were {Change} by another writer of the cache; memory follows the disk",
                language, onDisk is null ? "removed" : "replaced");
        }
    }

    public void Dispose() => _follower?.Dispose();

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
