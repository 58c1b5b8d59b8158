using System.Diagnostics.Metrics;

namespace Service.Inference.Generation;

/// <summary>
/// Counters of finished generations and generated tokens, tagged with the finish reason, on the meter
/// "Service.Inference.Generation" (any System.Diagnostics.Metrics exporter can read them). Cancelled
/// generations show how much work a departed client cost.
/// </summary>
public static class GenerationMetrics
{
    public const string MeterName = "Service.Inference.Generation";

    static readonly Meter Meter = new(MeterName);
    static readonly Counter<long> Generations = Meter.CreateCounter<long>("service.generation.requests", description: "Finished generations");
    static readonly Counter<long> Tokens = Meter.CreateCounter<long>("service.generation.tokens", unit: "{token}", description: "Generated tokens");

    // vLLM's prefix_cache_queries / prefix_cache_hits: prompt tokens looked up, and those found cached.
    static readonly Counter<long> PrefixQueries = Meter.CreateCounter<long>(PrefixCacheQueries, unit: "{token}", description: "Prompt tokens looked up in the prefix cache");
    static readonly Counter<long> PrefixHits = Meter.CreateCounter<long>(PrefixCacheHits, unit: "{token}", description: "Prompt tokens found in the prefix cache");
    public const string PrefixCacheQueries = "service.generation.prefix_cache_queries";
    public const string PrefixCacheHits = "service.generation.prefix_cache_hits";

    /// <summary>One prompt of <paramref name="promptTokens"/> looked up; its first <paramref name="hitTokens"/> came from the cache.</summary>
    public static void RecordPrefixLookup(int promptTokens, int hitTokens)
    {
        PrefixQueries.Add(promptTokens);
        PrefixHits.Add(hitTokens);
    }

    public static void Record(GenerationResult result)
    {
        var reason = new KeyValuePair<string, object?>("finish_reason", result.FinishReason.ToString().ToLowerInvariant());
        Generations.Add(1, reason);
        Tokens.Add(result.CompletionTokens, reason);
    }
}
