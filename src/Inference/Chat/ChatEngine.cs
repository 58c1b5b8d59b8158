using Service.Inference.Generation;
using Service.Inference.Hosting;

namespace Service.Inference.Chat;

/// <summary>A chat request in the service's own terms; null fields take the configured defaults.</summary>
public sealed record ChatQuery(
    IReadOnlyList<ChatMessage> Messages,
    double? Temperature = null,
    double? TopP = null,
    int? MaxTokens = null,
    IReadOnlyList<string>? Stop = null,
    long? Seed = null,
    int? TopK = null,
    double? RepetitionPenalty = null);

/// <summary>A validated, encoded chat request, ready for the model's thread.</summary>
public sealed record PreparedChat(GenerationRequest Generation, int DroppedTurns, SafetyNotices Notices);

/// <summary>
/// Chat completions. <see cref="Prepare"/> validates, formats, truncates and encodes (any thread, no
/// tensors); <see cref="ChatScheduler"/> generates on the host's thread.
/// </summary>
public sealed class ChatEngine(ChatBundle bundle, ChatOptions options)
{
    public const int MaxStopStrings = 4;

    readonly SafetyScreen _safety = new(options.Safety);

    public ChatBundle Bundle => bundle;
    public ChatOptions Options => options;

    public PreparedChat Prepare(ChatQuery query)
    {
        var sampling = Sampling(query);
        var stops = Stops(query.Stop);
        var conversation = Conversation.From(query.Messages);
        if (conversation.System is null && !string.IsNullOrEmpty(bundle.DefaultSystem)) conversation = conversation with { System = bundle.DefaultSystem };
        int context = bundle.Model.MaxSequenceLength;
        var prompt = ChatPromptBuilder.Build(conversation, bundle.Format, bundle.Tokenizer, Math.Min(options.MaxInputTokens, context - 1));
        int maxTokens = query.MaxTokens ?? options.MaxTokens;
        if (maxTokens < 1)
            throw InferenceException.Invalid($"max_tokens must be at least 1; it was {maxTokens}.", "max_tokens");
        // The reply may not run past the model's context: a longer request ends with finish_reason "length".
        maxTokens = Math.Min(maxTokens, context - prompt.Ids.Length);
        var generation = new GenerationRequest(prompt.Ids, maxTokens, sampling, bundle.EndOfSequenceIds, [.. bundle.Format.StopStrings, .. stops]);
        return new PreparedChat(generation, prompt.DroppedTurns, _safety.Assess(conversation));
    }

    SamplingParameters Sampling(ChatQuery q)
    {
        double temperature = q.Temperature ?? options.Temperature, topP = q.TopP ?? options.TopP;
        if (temperature is < 0 or > 2 || double.IsNaN(temperature))
            throw InferenceException.Invalid($"temperature must be between 0 and 2; it was {temperature}.", "temperature");
        if (topP is <= 0 or > 1 || double.IsNaN(topP))
            throw InferenceException.Invalid($"top_p must be greater than 0 and at most 1; it was {topP}.", "top_p");
        if (q.TopK is < 0)
            throw InferenceException.Invalid($"top_k must be 0 (off) or positive; it was {q.TopK}.", "top_k");
        if (q.RepetitionPenalty is { } r && (r <= 0 || double.IsNaN(r)))
            throw InferenceException.Invalid($"repetition_penalty must be positive (1 = off); it was {r}.", "repetition_penalty");
        return new SamplingParameters(temperature, topP, q.TopK is 0 ? null : q.TopK, q.RepetitionPenalty ?? 1.0, q.Seed);
    }

    static IReadOnlyList<string> Stops(IReadOnlyList<string>? stops)
    {
        if (stops is null) return [];
        if (stops.Count > MaxStopStrings)
            throw InferenceException.Invalid($"stop holds {stops.Count} strings; at most {MaxStopStrings} are allowed.", "stop");
        if (stops.Any(string.IsNullOrEmpty))
            throw InferenceException.Invalid("stop strings must not be empty.", "stop");
        return stops;
    }
}
