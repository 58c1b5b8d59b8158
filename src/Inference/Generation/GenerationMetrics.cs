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

    public static void Record(GenerationResult result)
    {
        var reason = new KeyValuePair<string, object?>("finish_reason", result.FinishReason.ToString().ToLowerInvariant());
        Generations.Add(1, reason);
        Tokens.Add(result.CompletionTokens, reason);
    }
}
