namespace Service.Inference.Projection;

/// <summary>Where a layer pair came from, echoed in responses.</summary>
public enum LayerSource { Request, Configuration, Search, Paper, Default }

public sealed record LayerPair(int Lirp, int Lsrp, LayerSource Source);

/// <summary>`Projection:*` configuration.</summary>
public sealed class ProjectionOptions
{
    /// <summary>Where language vectors persist.</summary>
    public string CacheDirectory { get; set; } = "language-vectors";
    /// <summary>Per-language [i, j] overrides, e.g. `Projection:Layers:fr = [6, 7]`.</summary>
    public Dictionary<string, int[]> Layers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>The pair for languages with neither a configured nor a paper pair; empty = the middle of the model.</summary>
    public int[] DefaultLayers { get; set; } = [];
    /// <summary>Compute missing vectors at start-up from the bundled corpora.</summary>
    public bool WarmUp { get; set; } = true;
    /// <summary>Languages the warm-up covers (English always); empty means every bundled corpus.</summary>
    public string[] Languages { get; set; } = [];
    /// <summary>Most languages the cache may hold for one model; a PUT of one more answers 409. 0 = no limit.</summary>
    public int MaxLanguages { get; set; } = 200;
    /// <summary>
    /// How often (seconds) the cache is re-scanned for files another replica changed or removed, besides
    /// the file watcher (which misses events on network volumes). 0 turns both off.
    /// </summary>
    public double RescanSeconds { get; set; } = 2;
    /// <summary>Also watch the cache directory for changes (faster than the re-scan where events arrive).</summary>
    public bool WatchCache { get; set; } = true;
}

/// <summary>
/// The best (i, j) per language found by Xu et al. (EMNLP 2023, LRP2) for the two models of the paper.
/// </summary>
public static class PaperLayers
{
    static readonly Dictionary<string, (int, int)> MultilingualBert = new()
    {
        ["zh"] = (4, 10), ["ja"] = (3, 11), ["ko"] = (1, 3), ["vi"] = (1, 2), ["de"] = (3, 4), ["ar"] = (3, 4),
        ["fr"] = (6, 7), ["es"] = (5, 6), ["ru"] = (7, 12), ["hi"] = (3, 7), ["sl"] = (11, 12),
    };

    static readonly Dictionary<string, (int, int)> Bloom560m = new()
    {
        ["zh"] = (17, 23), ["ja"] = (2, 22), ["ko"] = (16, 21), ["vi"] = (16, 21), ["de"] = (18, 23), ["fr"] = (18, 22),
        ["es"] = (4, 20), ["ru"] = (1, 22), ["ar"] = (21, 23), ["hi"] = (11, 21), ["sq"] = (1, 24),
    };

    /// <summary>The paper's table for a model, recognised by its shape (the checkpoints' configs are public).</summary>
    public static IReadOnlyDictionary<string, (int, int)>? For(PaperModel model) => model switch
    {
        PaperModel.MultilingualBertBaseCased => MultilingualBert,
        PaperModel.Bloom560m => Bloom560m,
        _ => null,
    };
}

public enum PaperModel { None, MultilingualBertBaseCased, Bloom560m }

public static class LayerPairs
{
    /// <summary>
    /// Request, else configuration for the language, else a saved layer search of this model, else the
    /// paper's pair when the model is the paper's, else the configured default, else the middle third
    /// of the model. Valid pairs: 1 &lt;= i &lt; j &lt;= L.
    /// </summary>
    public static LayerPair Resolve(string language, int? lirp, int? lsrp, int layerCount, PaperModel model, ProjectionOptions options,
        IReadOnlyDictionary<string, int[]>? searched = null)
    {
        LayerPair pair;
        if (lirp is not null || lsrp is not null)
        {
            if (lirp is null || lsrp is null)
                throw InferenceException.Invalid("give both projection.lirp_layer and projection.lsrp_layer, or neither.", "projection");
            pair = new LayerPair(lirp.Value, lsrp.Value, LayerSource.Request);
        }
        else if (options.Layers.TryGetValue(language, out var configured) && configured.Length == 2)
            pair = new LayerPair(configured[0], configured[1], LayerSource.Configuration);
        else if (searched is not null && searched.TryGetValue(language, out var found) && found.Length == 2)
            pair = new LayerPair(found[0], found[1], LayerSource.Search);
        else if (PaperLayers.For(model) is { } table && table.TryGetValue(language, out var paper))
            pair = new LayerPair(paper.Item1, paper.Item2, LayerSource.Paper);
        else if (options.DefaultLayers.Length == 2)
            pair = new LayerPair(options.DefaultLayers[0], options.DefaultLayers[1], LayerSource.Default);
        else
            pair = new LayerPair(Math.Max(1, layerCount / 3), Math.Max(2, 2 * layerCount / 3), LayerSource.Default);

        if (pair.Lirp < 1 || pair.Lirp >= pair.Lsrp || pair.Lsrp > layerCount)
            throw InferenceException.Invalid(
                $"projection layers ({pair.Lirp}, {pair.Lsrp}) from {pair.Source.ToString().ToLowerInvariant()} are invalid: they need 1 <= lirp_layer < lsrp_layer <= {layerCount}.",
                "projection");
        return pair;
    }
}
